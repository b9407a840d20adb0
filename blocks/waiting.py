"""What a person sees while Flexmls is slow: a short notice, then, past the deadline, a clear end.

"Still asking Flexmls…" is shown a few seconds into a request that has no answer yet (the answer
takes its place when it arrives); "Flexmls is taking too long" ends a request that passed the
interactive deadline. Neither names a contact or echoes what was typed.
"""

from __future__ import annotations

import math

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from blocks.message import Message, finish
from blocks.problems import problem

STILL_ASKING = "Still asking Flexmls…"


def still_asking() -> Message:
    """ "Still asking Flexmls…": the answer replaces it when it comes."""
    line = f":hourglass_flowing_sand: {STILL_ASKING}"
    return finish(
        STILL_ASKING, ("still_asking", ContextBlock(elements=[MarkdownTextObject(text=line)]))
    )


def taking_too_long(seconds: float) -> Message:
    """ "Flexmls is taking too long": the request was given up after `seconds`."""
    waited = max(1, math.ceil(seconds))
    return problem(
        "Flexmls is taking too long",
        f"No answer after {waited} seconds, so I stopped asking.",
        "Try again in a minute.",
    )
