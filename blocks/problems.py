"""Friendly ephemeral messages for things that went wrong: what happened, and what to do next.

No stack traces, URLs, request ids or tokens ever reach these messages: `spark_problem` looks
only at the error's type (and `retry_after`), never at its message.
"""

from __future__ import annotations

import math

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from blocks.message import MAX_TEXT, SECTION_TEXT, Message, finish
from blocks.text import clean, escape_mrkdwn, truncate_mrkdwn
from spark.errors import (
    BadFilter,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefreshFailed,
    SparkError,
    SparkUnavailable,
    TokenExpired,
)

RECONNECT = "Reconnect with `/activity connect`."
ASK_ADMIN = "Ask your Slack admin to update the workspace Flexmls token."


def _plain_fallback(mrkdwn: str) -> str:
    """Our own hint mrkdwn as fallback text: code spans lose their backticks."""
    return mrkdwn.replace("`", "")


def problem(title: str, detail: str, hint: str | None = None) -> Message:
    """A small message: "*title*" and the detail (both escaped), and an optional hint.

    `hint` is mrkdwn written by us (it may use `code` for commands); never put user text in it.
    """
    safe_title = escape_mrkdwn(clean(title) or "Something went wrong", 300)
    safe_detail = escape_mrkdwn(clean(detail, single_line=False), SECTION_TEXT - 310)
    body = f"*{safe_title}*" + (f"\n{safe_detail}" if safe_detail else "")
    blocks: list[tuple[str, Block]] = [
        ("problem", SectionBlock(text=MarkdownTextObject(text=body, verbatim=True)))
    ]
    separator = " " if safe_title.endswith((".", "!", "?", "…")) else ": "
    text = safe_title + (f"{separator}{safe_detail}" if safe_detail else "")
    if hint:
        blocks.append(("problem_hint", ContextBlock(elements=[MarkdownTextObject(text=hint)])))
        text = f"{text.rstrip('.')}. {_plain_fallback(hint)}"
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def spark_problem(error: SparkError, *, workspace_token: bool = False) -> Message:
    """Plain language for a `SparkError`, chosen by its type."""
    if isinstance(error, RateLimited):
        retry = error.retry_after
        wait = (
            f"Try again in {_seconds(retry)} s."
            if retry is not None and math.isfinite(retry)
            else "Try again in a minute."
        )
        return problem(
            "Flexmls is rate-limiting us", "Too many requests reached Flexmls at once.", wait
        )
    if isinstance(error, (TokenExpired, InvalidToken, RefreshFailed)):
        whose = (
            "The workspace's Flexmls connection" if workspace_token else "Your Flexmls connection"
        )
        state = "isn't valid" if isinstance(error, InvalidToken) else "has expired"
        return problem(
            f"{whose} {state}",
            "Flexmls no longer accepts the saved sign-in.",
            ASK_ADMIN if workspace_token else RECONNECT,
        )
    if isinstance(error, PermissionDenied):
        return problem(
            "This Flexmls key can't read contact activity",
            "Contacts: Activity needs the Private role on the API key; "
            "ask your MLS or FBS support to enable it.",
        )
    if isinstance(error, NotFound):
        return problem(
            "That contact isn't available",
            "It may have been deleted or belong to another agent.",
        )
    if isinstance(error, SparkUnavailable):
        return problem(
            "Flexmls isn't answering right now",
            "The request didn't get through.",
            "Try again in a minute.",
        )
    if isinstance(error, BadFilter):
        return problem(
            "Flexmls couldn't search for that",
            "The search was rejected.",
            "Try a simpler name or the e-mail.",
        )
    return problem(
        "Something went wrong talking to Flexmls",
        "Flexmls sent an answer we didn't understand.",
        "Try again; if it keeps happening, tell your admin.",
    )


def retrying_notice(seconds: float) -> Message:
    """ "Flexmls is rate-limiting us, retrying in 20 s…" (seconds rounded up)."""
    if math.isfinite(seconds):
        line = f"Flexmls is rate-limiting us, retrying in {_seconds(seconds)} s…"
    else:
        line = "Flexmls is rate-limiting us, retrying shortly…"
    return finish(line, ("retrying", ContextBlock(elements=[MarkdownTextObject(text=line)])))


def not_connected() -> Message:
    """How to connect a Flexmls account."""
    return problem(
        "Flexmls isn't connected",
        "Looking up contacts needs a Flexmls connection.",
        "Connect with `/activity connect`, or ask your Slack admin to set "
        "`SPARK_ACCESS_TOKEN` for the workspace.",
    )


def stranger_refused() -> Message:
    """For someone outside the installed workspace (e.g. in a Slack Connect channel)."""
    return problem(
        "Sorry, Activity only works for members of this workspace.",
        "It reads the brokerage's Flexmls data, so it can't answer people from other organisations.",
    )


def token_typed() -> Message:
    """Someone typed what looks like an access token as a lookup: it was neither used nor shown."""
    return problem(
        "That looks like an access token, so I didn't search for it.",
        "Tokens go in the private form, never in a lookup.",
        "Use `/activity connect` → *Paste a token*. If you also pasted it somewhere others can "
        "read, create a new one in Flexmls.",
    )


def asker_unknown() -> Message:
    """Slack didn't answer who is asking, so the workspace's shared access can't be used."""
    return problem(
        "I couldn't check your Slack account just now.",
        "The workspace's shared Flexmls access is only for confirmed members.",
        "Try again in a minute, or connect your own account with `/activity connect`.",
    )


def guest_refused() -> Message:
    """For a guest who has no Flexmls connection of their own."""
    return problem(
        "Guests need their own Flexmls connection",
        "The workspace's shared Flexmls access is for members only.",
        "Connect your own account with `/activity connect`.",
    )


HELP_HINT = "Type `/activity help` to see what I understand."


def invalid_input(message: str, *, hint: str | None = None) -> Message:
    """Echo why the input was refused (escaped: it may quote the user), and point to help.

    `hint` (our own mrkdwn, e.g. "Try `/activity viewed jane doe`.") replaces the help pointer.
    """
    return problem(
        "I couldn't read that",
        message or "That isn't something I understand.",
        hint or HELP_HINT,
    )


def stale_button() -> Message:
    """A button whose value is outdated, damaged or forged."""
    return problem(
        "That button is out of date or damaged.",
        "It may come from an old message.",
        "Run `/activity &lt;contact&gt;` again.",
    )


def internal_error() -> Message:
    """A plain apology for a failure of our own."""
    return problem(
        "Sorry, something went wrong on our side.",
        "It has been logged. Please try again in a moment.",
    )
