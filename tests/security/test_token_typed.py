"""A token typed as a lookup (`/activity <token>`) is neither sent to Flexmls nor echoed back.

Before, it was searched for as a contact name (so it travelled in a `_filter` to Spark) and the
"no contact matches" reply quoted it back in full.
"""

from __future__ import annotations

import json

import pytest

from activity.connections import looks_like_token
from devtools.slack_standin.messages import texts

TOKEN = "7k2mq9xw4hd8rt6vb3np5zc1"


@pytest.mark.parametrize(
    "typed", [TOKEN, f"viewed {TOKEN}", f"shared {TOKEN}", f"my token is {TOKEN} ok?"]
)
async def test_a_token_typed_as_a_lookup_is_not_searched_or_echoed(stack, typed):
    before = len(stack.sandbox.requests)
    sent = await stack.sender.command(typed)
    reply = await stack.reply_to(sent.response_url)
    assert "looks like an access token" in texts(reply)
    assert TOKEN not in json.dumps(reply)
    assert len(stack.sandbox.requests) == before


@pytest.mark.parametrize(
    ("text", "token"),
    [
        (TOKEN, True),
        ("sbx-at-AbCdEf0123456789xyz", True),
        ("20150726201640439000015000", False),  # a contact id
        ("janet.doe1234567890@example.net", False),
        ("Janet Doe", False),
        ("303-555-0133", False),
        ("Zoë O'Brien-Smithsonian", False),
        ("abcdefghijklmnopqrstuvwxyz", False),  # letters only: a (very long) surname, say
    ],
)
def test_what_counts_as_a_token(text, token):
    assert looks_like_token(text) is token
