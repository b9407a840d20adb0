"""Friendly ephemeral messages for things that went wrong: what happened, and what to do next.

No stack traces, URLs, request ids or tokens ever reach these messages: `spark_problem` looks
at the error's type, Spark's code and `retry_after`; only for a 403 code we don't know does it
show Spark's own message (escaped and shortened), so the operator can look it up.
"""

from __future__ import annotations

import math

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from blocks.message import MAX_TEXT, SECTION_TEXT, Message, finish
from blocks.text import clean, escape_mrkdwn, truncate_mrkdwn
from spark.errors import (
    BadFilter,
    FlexmlsBusy,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefreshFailed,
    SearchTooBroad,
    SparkError,
    SparkUnavailable,
    TokenExpired,
)
from spark.search import SearchUnavailable

RECONNECT = "Reconnect with `/activity connect`."
ASK_ADMIN = "Ask your Slack admin to update the workspace Flexmls token."
ADMIN = "Ask your Slack admin (whoever set up this bot) to fix it."

# 403 codes (spark_api.md §2.2, §9): title, what it means, what to do (and who does it).
FORBIDDEN: dict[int, tuple[str, str, str]] = {
    1013: (
        "This Flexmls key doesn't allow this way of signing in",
        "The API key is not set up for the login method the bot uses.",
        "Ask your Slack admin to have FBS enable OAuth/OpenID sign-in for the key.",
    ),
    1015: (
        "Flexmls says this user has no active Flexmls access",
        "The Flexmls account behind this connection is inactive or has no Flexmls access.",
        "Check your Flexmls account with your MLS, then `/activity connect` again.",
    ),
    1019: (
        "This Flexmls key is locked to other servers",
        "The API key only accepts certain IP addresses or user agents.",
        "Ask your Slack admin to have FBS allow this server and its `SPARK_USER_AGENT`.",
    ),
    1021: (
        "This Flexmls key must use the replication server",
        "Flexmls wants this key to call replication.sparkapi.com.",
        "Ask your Slack admin to set `SPARK_API_URL` to https://replication.sparkapi.com.",
    ),
    1030: (
        "Flexmls only answers over HTTPS",
        "The bot is set up to call Flexmls without encryption.",
        "Ask your Slack admin to set `SPARK_API_URL` to an https:// address.",
    ),
    1100: (
        "This contact has no Flexmls portal",
        "Flexmls keeps activity only for contacts with a portal account.",
        "Invite the contact to a portal in Flexmls, then look them up again.",
    ),
    1505: (
        "Your MLS has turned this Flexmls feature off",
        "Contact activity is disabled for your MLS.",
        "Ask your MLS or FBS support whether it can be enabled.",
    ),
}


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
        # Ours: our own budget refused before sending; else Spark answered 429 / 1550.
        return busy(error.retry_after, ours=isinstance(error, FlexmlsBusy) and error.status is None)
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
        return forbidden(error)
    if isinstance(error, SearchTooBroad):
        return problem(
            "That search was too much for Flexmls",
            "Flexmls stopped it before it finished.",
            "Narrow it down: add the last name, or use the e-mail or phone number.",
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


def busy(retry_in: float | None, *, ours: bool = False) -> Message:
    """ "Flexmls is busy, try again in ~N s": the key's budget is used up or cooling down."""
    wait = (
        f"Try again in ~{_seconds(retry_in)} s."
        if retry_in is not None and math.isfinite(retry_in)
        else "Try again in a minute."
    )
    detail = (
        "Everyone in the brokerage shares one Flexmls request allowance, and it's used up for now."
        if ours
        else "Flexmls is rate-limiting requests from this brokerage's key."
    )
    return problem("Flexmls is busy", detail, wait)


def forbidden(error: PermissionDenied) -> Message:
    """403: what the code means and what to do; unknown codes show the code and Spark's words."""
    if error.code in FORBIDDEN:
        title, detail, hint = FORBIDDEN[error.code]
        return problem(title, detail, hint)
    if error.code in (None, 1500):
        return problem(
            "This Flexmls key can't read contact activity",
            "Contacts: Activity needs the Private role on the API key; "
            "ask your MLS or FBS support to enable it.",
        )
    said = clean(error.message)[:200] or "no reason given"
    return problem(
        f"Flexmls refused the request (code {error.code})", f"Flexmls said: {said}", ADMIN
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


_SEARCH_KINDS = {"phone": "phone number", "email": "e-mail", "name": "name", "id": "contact id"}
_SEARCH_INSTEAD = {
    "phone": "Try the contact's name or e-mail instead.",
    "email": "Try the contact's name instead.",
    "name": "Try the contact's e-mail instead.",
    "id": "Try the contact's name or e-mail instead.",
}


def search_unavailable(error: SearchUnavailable) -> Message:
    """A kind of search this agent's Flexmls does not allow (the fields can't be filtered)."""
    kind = error.kind.value
    return problem(
        f"Searching by {_SEARCH_KINDS.get(kind, kind)} isn't available on your Flexmls",
        "Your MLS doesn't let apps search contacts that way.",
        _SEARCH_INSTEAD.get(kind),
    )
