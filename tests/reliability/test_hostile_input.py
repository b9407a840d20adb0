"""Hostile input, property-based: whatever someone types after `/activity` or puts in a button
value, the reply is valid Block Kit within Slack's limits, carries no live mention or markup
that came from the input, and every filter sent to Flexmls keeps the input inside quoted
literals (so the sandbox never rejects one).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import blocks.actions
from blocks import Message
from devtools.slack_standin.messages import texts
from tests.helpers.blocks import (
    assert_valid_message,
    assert_valid_view,
    check_block,
    walk_text_objects,
)

SENDER = "U0AGENT1"
STALE = "out of date or damaged"
FIELDS = {"DisplayName", "GivenName", "FamilyName", "PrimaryEmail", "PrimaryPhoneNumber"}
TEN_KB = 10 * 1024

SLACK_MARKUP = [
    "<!channel>", "<!here>", "<!everyone>", "<!subteam^S0TEAM>", "<@U123>", "<@W0OTHER|boss>",
    "<#C123|general>", "*bold*", "_it_", "~s~", "`c`", "```pre```", "<https://x|y>",
    "<mailto:a@b.co|a@b.co>", "&amp;", "&lt;!channel&gt;", "&lt;@U123&gt;", "> quoted", "<", ">",
]  # fmt: skip
SPARKQL = [
    "' Or '1' Eq '1", "\\'", "\\", "*", ")", "(", "'", "x' Or DisplayName Eq '*", "') Or (Id Eq '1",
    "Eq", "And", "Or", "Not", "Ne", "Bt", "%27", "%00", ",", "''", "\\\\'",
]  # fmt: skip
NAMES = [
    "jane", "doe", "janet doe", "Doe, Jane", "O'Brien", "Seán", "Zoë Müller",
    "priya.patel@example.org", "303-555-0142", "20130629233939827000004000", "prince",
]  # fmt: skip
VERBS = ["", "viewed ", "shared ", "help ", "status ", "digest ", "digest add ", "digest remove "]

control = st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1, max_size=4)
piece = st.one_of(
    st.sampled_from(SLACK_MARKUP),
    st.sampled_from(SPARKQL),
    st.sampled_from(NAMES),
    control,
    st.text(max_size=12),  # any Unicode (Hypothesis leaves out lone surrogates: not UTF-8)
)
joined = st.lists(piece, max_size=8).flatmap(
    lambda parts: st.sampled_from([" ", ""]).map(lambda sep: sep.join(parts))
)
ten_kb = st.tuples(piece.filter(bool), st.sampled_from(SLACK_MARKUP + SPARKQL)).map(
    lambda pair: ((pair[0] + pair[1]) * TEN_KB)[:TEN_KB]
)
hostile_text = st.one_of(
    st.text(),
    joined,
    st.tuples(st.sampled_from(VERBS), joined).map("".join),
    ten_kb,
)

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- what every reply and every Spark request must satisfy -----------------------------------------


def input_mentions(raw: str) -> set[str]:
    """Slack ids the input mentions or could pass off as mentions, in any spelling."""
    spelled = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return {m for m in re.findall(r"<@([A-Z0-9]+)", spelled) if m != SENDER}


# Channel links the bot writes itself (a digest's channel, picked from Slack's suggestions).
OWN_CHANNEL_LINK = re.compile(r"<#([CGD][A-Z0-9]{2,20})>")


def assert_safe_reply(reply: dict[str, Any], raw: str) -> None:
    """Valid Block Kit within limits; no live mention, markup or traceback from the input."""
    message = Message(text=reply["text"], blocks=tuple(reply.get("blocks") or ()))  # ≤ 50, ≤ 3000
    for block in message.blocks:
        check_block(block)  # Slack's per-block limits, on the message exactly as sent
    # The shared check (round trip, limits, no live <…>, no @channel/@here/@everyone), with the
    # bot's own channel links spelled out, since that helper knows only user mentions as ours.
    neutral = copy.deepcopy(reply)
    for node in walk_text_objects(neutral.get("blocks") or []):
        if node["type"] == "mrkdwn":
            node["text"] = OWN_CHANNEL_LINK.sub(r"#\1", node["text"])
    neutral["text"] = OWN_CHANNEL_LINK.sub(r"#\1", neutral["text"])
    assert_valid_message(Message(text=neutral["text"], blocks=tuple(neutral.get("blocks") or ())))
    every = [message.text] + [t["text"] for b in message.blocks for t in walk_text_objects(b)]
    for text in every:
        for mention in input_mentions(raw):
            assert f"<@{mention}" not in text, f"the input's <@{mention}> is live in {text!r}"
        for broadcast in ("<!channel", "<!here", "<!everyone", "<!subteam"):
            assert broadcast not in text, text
    body = texts(reply)
    assert "Traceback" not in body and 'File "' not in body


# The tokenizer of tests/spark/test_sparkql.py: single-quoted literals, bare words and the commas
# of a value list (`Field Eq 'a','b'`), nothing else.
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
_TOKEN = re.compile(
    r"\s*(?:(?P<lit>'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z]+)|(?P<comma>,))", re.DOTALL
)


def tokens(filter_text: str) -> list[tuple[str, str]]:
    """Split a filter into ('lit', value) and ('word', keyword) tokens; fail on anything else."""
    out, pos = [], 0
    while pos < len(filter_text):
        match = _TOKEN.match(filter_text, pos)
        assert match and match.end() > pos, f"stray text at {pos}: {filter_text[pos : pos + 20]!r}"
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "lit":
            text = re.sub(r"\\(.)", r"\1", _LITERAL.fullmatch(text).group(1), flags=re.DOTALL)
        out.append((kind, text))
        pos = match.end()
    return out


LITERAL_ONLY = re.compile(
    r"^/v1/contacts(/[A-Za-z0-9_-]{1,64}(/activity(/listings/(viewed|shared))?)?)?$"
)


def assert_well_formed_spark_requests(requests: list[Any]) -> None:
    """Every filter is `Field Eq '<literal>'` clauses joined by And/Or; Flexmls refused nothing."""
    for request in requests:
        assert LITERAL_ONLY.match(request.path), f"unexpected Spark path {request.path!r}"
        assert request.status is not None and (
            request.status < 400 or (request.status == 404 and request.path != "/v1/contacts")
        ), (request.path, request.query, request.status)
        spark_filter = request.query.get("_filter")
        if spark_filter is None:
            continue
        toks = tokens(spark_filter)
        i = 0
        while True:  # Field Eq 'lit'[,'lit']… (And|Or Field Eq …)…
            field, op, literal = toks[i : i + 3]
            assert field[0] == "word" and field[1] in FIELDS, toks
            assert op == ("word", "Eq") and literal[0] == "lit", toks
            i += 3
            while i < len(toks) and toks[i][0] == "comma":
                assert toks[i + 1][0] == "lit", toks
                i += 2
            if i == len(toks):
                break
            assert toks[i] in {("word", "And"), ("word", "Or")}, toks
            i += 1


# -- (a) the slash-command text ---------------------------------------------------------------------


@HYPOTHESIS
@given(raw=hostile_text)
@example(raw="<!channel> jane")
@example(raw="&lt;!channel&gt; *bold* <@U123>")
@example(raw="x' Or '1' Eq '1")
@example(raw="Doe, Jane' Or GivenName Eq '*")
@example(raw="viewed \\' Or \\'")
@example(raw="\x00\u202e\u200b")
@example(raw="<@U123>")
@example(raw="j" * TEN_KB)
@example(raw="<https://x|y> _it_ ~s~ `c` &amp;")
async def test_any_command_text_gets_one_safe_reply_and_a_well_formed_filter(stack, raw):
    spark_before = len(stack.sandbox.requests)
    sent = await stack.sender.command(raw)
    assert sent.response.status_code == 200 and sent.elapsed < 3
    await stack.reply_to(sent.response_url)
    await stack.settle(grace=0)
    replies = stack.responses(sent.response_url)
    assert len(replies) == 1, [texts(r)[:80] for r in replies]
    assert_safe_reply(replies[0], raw)
    assert_well_formed_spark_requests(stack.sandbox.requests[spark_before:])


# -- (b) button values, for every action id prefix ----------------------------------------------------

PREFIXES = sorted(
    re.match(r"\^([a-z_]+)", pattern.pattern).group(1)
    for name, pattern in vars(blocks.actions).items()
    if name.endswith("_RE") and isinstance(pattern, re.Pattern)
)
CONTACT_ID = r"[A-Za-z0-9_-]{1,64}"
REAL_ID = "20130629233939827000004000"  # Janet Doe


def test_every_action_prefix_is_covered():
    assert set(PREFIXES) == {
        "contact_pick",
        "listings_page",
        "share_card",
        "refresh_card",
        "open_card",
        "connect_oauth",
        "connect_paste",
        "disconnect",
        "digest_open",
        "digest_more",
        "listing_link",
        "open_flexmls",
        "alert_card",
        "alert_viewed",
        "alert_snooze",
        "alert_stop",
        "alert_setting",
    }


def well_formed(prefix: str, value: str) -> bool:
    """Whether `value` has the documented shape for `prefix` (an independent reading)."""
    if prefix == "contact_pick":  # the card (bare id) or a list: p1|viewed|<id>
        return re.fullmatch(rf"(p1\|(viewed|shared)\|)?{CONTACT_ID}", value) is not None
    if prefix in (
        "share_card",
        "refresh_card",
        "open_card",
        "digest_open",
        "alert_card",
        "alert_viewed",
    ):
        return re.fullmatch(CONTACT_ID, value) is not None
    if prefix in ("alert_snooze", "alert_stop"):  # a1|<the watcher, who must be the clicker>|<id>
        return re.fullmatch(rf"a1\|U0AGENT1\|{CONTACT_ID}", value) is not None
    if prefix == "alert_setting":  # s1|<the clicker>|<a setting App Home shows>|<on|off>
        return re.fullmatch(r"s1\|U0AGENT1\|(alerts|quiet|email|auto)\|(on|off)", value) is not None
    if prefix == "listings_page":
        match = re.fullmatch(rf"v1\|(viewed|shared)\|{CONTACT_ID}\|([1-9][0-9]{{0,5}})", value)
        return match is not None and int(match.group(2)) <= 100_000
    # No digest was ever posted in this workspace, so every digest_more cursor is stale;
    # connect_oauth, connect_paste and disconnect ignore their value.
    return prefix != "digest_more"


valid_values = st.one_of(
    st.sampled_from([REAL_ID, "20150726201640439000015000", "0", "x", "d1|1|2026-03-02|1"]),
    st.builds(
        "v1|{}|{}|{}".format,
        st.sampled_from(["viewed", "shared"]),
        st.sampled_from([REAL_ID, "20150726201640439000015000", "nobody"]),
        st.integers(1, 100_000),
    ),
)
mutated = st.tuples(valid_values, piece, st.integers(0, 40)).map(
    lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
)
hostile_value = st.one_of(hostile_text, valid_values, mutated)


@pytest.mark.parametrize("prefix", PREFIXES)
@HYPOTHESIS
@given(value=hostile_value, suffix=st.sampled_from([None, "1", "next", "prev", "x"]))
@example(value="x" * TEN_KB, suffix=None)
@example(value="v1|viewed|" + REAL_ID + "' Or '1' Eq '1|2", suffix="next")
@example(value="<!channel>", suffix=None)
@example(value=REAL_ID + "\n", suffix="1")
async def test_any_button_value_gets_one_safe_answer_and_nothing_broken_reaches_spark(
    stack, prefix, value, suffix
):
    action_id = prefix if suffix is None else f"{prefix}:{suffix}"
    spark_before = len(stack.sandbox.requests)
    received_before = len(stack.slack.received)
    clicked = await stack.sender.action(action_id, value, message_ts="1700000000.000400")
    assert clicked.response.status_code == 200 and clicked.elapsed < 3
    await stack.settle(grace=0)
    replies = stack.responses(clicked.response_url)
    spark = stack.sandbox.requests[spark_before:]
    assert_well_formed_spark_requests(spark)
    if prefix in (
        "connect_oauth",
        "listing_link",
        "open_flexmls",
    ):  # URL buttons: the browser does the work
        assert replies == [] and stack.slack.received[received_before:] == [] and spark == []
        return
    if prefix == "connect_paste":  # opens the paste-token modal, whatever the value says
        calls = stack.slack.received[received_before:]
        # Who is clicking is asked of Slack first (users.info, cached): then the modal opens.
        (opened,) = [r for r in calls if r.kind == "api" and r.method != "users.info"]
        assert opened.method == "views.open" and replies == [] and spark == []
        assert_valid_view(opened.body["view"], kind="modal")
        return
    assert len(replies) == 1, [texts(r)[:80] for r in replies]
    assert_safe_reply(replies[0], value)
    if not well_formed(prefix, value):
        assert STALE in texts(replies[0]), (action_id, value[:80], texts(replies[0])[:200])
        assert spark == [], [r.path for r in spark]
