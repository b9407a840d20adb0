"""Undoing Slack's escaping of what people type, and splitting off subcommands."""

import pytest

from handlers.slack_text import split_verb, strip_bot_mention, unescape


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("jane doe", "jane doe"),
        ("<mailto:jane@example.com|jane@example.com>", "jane@example.com"),
        ("<mailto:jane@example.com>", "jane@example.com"),
        ("<tel:3035550142|303-555-0142>", "303-555-0142"),
        ("viewed <mailto:a@b.co|a@b.co>", "viewed a@b.co"),
        ("Smith &amp; Sons", "Smith & Sons"),
        ("&lt;script&gt;", "<script>"),
        ("<!channel> jane", "jane"),
        ("<!subteam^S123|@team> jane", "jane"),
        ("<#C123|general> jane", "#general jane"),
        ("<https://evil.example|jane>", "jane"),
        ("  lots   of\tspace  ", "lots of space"),
        ("", ""),
    ],
)
def test_unescape(raw, text):
    assert unescape(raw).text == text


def test_user_mentions_are_noted_and_removed():
    typed = unescape("<@U123ABC|jane> <@W999>")
    assert typed.text == ""
    assert typed.user_mentions == ("U123ABC", "W999")


def test_a_forged_mention_is_just_removed():
    assert unescape("<@not-an-id> x").user_mentions == ()


@pytest.mark.parametrize(
    ("text", "verb", "rest"),
    [
        ("viewed jane doe", "viewed", "jane doe"),
        ("SHARED jane", "shared", "jane"),
        ("help", "help", ""),
        ("jane doe", None, "jane doe"),
        ("viewedjane", None, "viewedjane"),
    ],
)
def test_split_verb(text, verb, rest):
    assert split_verb(text, {"viewed", "shared", "help"}) == (verb, rest)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<@U0BOT> jane doe", "jane doe"),
        ("<@U0BOT|activity> activity jane", "jane"),
        ("<@U0BOT>: Activity: jane", "jane"),
        ("<@U0BOT>", ""),
        ("<@UOTHER> jane", "<@UOTHER> jane"),
        ("jane <@U0BOT>", "jane <@U0BOT>"),
    ],
)
def test_strip_bot_mention(raw, text):
    assert strip_bot_mention(raw, "U0BOT") == text


def test_linked_channels_keep_their_ids():
    typed = unescape("digest add <#C0SALES|sales> 07:30")
    assert typed.text == "digest add #sales 07:30"
    assert typed.channels == ("C0SALES",)
    assert unescape("<#bogus|x>").channels == ()
