"""`/activity digest add …`: what it accepts, and the words for every refusal."""

from __future__ import annotations

import pytest

from activity.digests import MAX_PER_USER, DigestRefused, Refusal
from handlers.digest_args import (
    TARGET_REFUSALS,
    DigestArgsError,
    DigestRequest,
    parse_add,
    refusal_words,
    unknown_tag,
)


@pytest.mark.parametrize(
    ("words", "channels", "expected"),
    [
        ("", (), DigestRequest(None, None, "recent")),
        ("#sales 07:30", ("C0SALES",), DigestRequest("C0SALES", "07:30", "recent")),
        ("all 9:05", (), DigestRequest(None, "9:05", "all")),
        ("ALL", (), DigestRequest(None, None, "all")),
        ("#sales tag:Hot Lead", ("C0SALES",), DigestRequest("C0SALES", None, "tag:Hot Lead")),
        ("tag: Buyer 08:00", (), DigestRequest(None, None, "tag:Buyer 08:00")),  # runs to the end
        ("08:00 TAG:x", (), DigestRequest(None, "08:00", "tag:x")),
        ("me", (), DigestRequest(None, None, "recent", to_me=True)),
        ("ME 07:15 all", (), DigestRequest(None, "07:15", "all", to_me=True)),
        ("me tag:Buyer", (), DigestRequest(None, None, "tag:Buyer", to_me=True)),
    ],
)
def test_parse_add(words, channels, expected):
    assert parse_add(words, channels) == expected


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ("tomorrow", "I don't understand “tomorrow”"),
        ("#sales", "Pick the channel from Slack's suggestions"),
        ("tag:", "Say which tag"),
        ("08:00 banana", "I don't understand “banana”"),
        ("tag:" + "x" * 101, "at most 100 characters"),
    ],
)
def test_parse_add_refuses_with_a_hint(words, says):
    with pytest.raises(DigestArgsError, match=says):
        parse_add(words, ())


@pytest.mark.parametrize(
    ("words", "channels", "mentions", "says"),
    [
        ("08:00", (), ("U0OTHER",), "not to people"),  # `<@U0OTHER> 08:00`
        ("#channel 08:00", ("D0AGENT1",), (), "not to people"),  # a DM linked as a channel
        ("me 08:00", (), ("U0OTHER",), "not to people"),  # `me <@U0OTHER>`: never theirs
        ("#sales me", ("C0SALES",), (), "A channel or `me`, not both"),
        ("#a #b", ("C0A", "C0B"), (), "One channel at a time"),
    ],
)
def test_parse_add_refuses_anything_but_one_channel(words, channels, mentions, says):
    with pytest.raises(DigestArgsError, match=says):
        parse_add(words, channels, mentions)


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        (Refusal.NOT_A_CHANNEL, "not to people"),
        (Refusal.INVITE_FIRST, "invite me first"),
        (Refusal.NOT_LISTED, "only in certain channels"),
        (Refusal.ARCHIVED, "archived"),
        (Refusal.SLACK_CONNECT, "Slack Connect"),
        (Refusal.NOT_MEMBER, "channel you're in"),
        (Refusal.NOT_YOUR_DM, "only to your own DM with me"),
        (Refusal.NEEDS_OWN_CONNECTION, "/activity connect"),
        (Refusal.TOO_MANY, f"already have {MAX_PER_USER} digests"),
    ],
)
def test_every_refusal_of_digest_add_has_its_words(reason, says):
    assert says in refusal_words(DigestRefused(reason))


def test_every_channel_refusal_is_worded():
    assert set(TARGET_REFUSALS) == {
        Refusal.NOT_A_CHANNEL,
        Refusal.INVITE_FIRST,
        Refusal.NOT_LISTED,
        Refusal.ARCHIVED,
        Refusal.SLACK_CONNECT,
        Refusal.NOT_MEMBER,
        Refusal.NOT_YOUR_DM,
    }


def test_a_bad_time_or_zone_is_said_in_storages_words():
    detail = "“25:00” is not a time of day: use 24-hour HH:MM, for example 08:30 or 17:00"
    assert refusal_words(DigestRefused(Refusal.BAD_SCHEDULE, detail)) == detail


def test_a_refused_dm_or_person_says_how_to_get_a_private_digest():
    with pytest.raises(DigestArgsError, match="digest add me 08:00"):
        parse_add("08:00", (), ("U0OTHER",))


def test_an_unknown_tag_lists_the_tags_that_exist():
    refused = DigestRefused(Refusal.UNKNOWN_TAG, "Nonexistent", choices=("Buyer", "Hot Lead"))
    words = refusal_words(refused)
    assert "No contact is tagged “Nonexistent”" in words
    assert "Your tags: Buyer, Hot Lead." in words
    assert "`/activity digest add tag:Buyer`" in words


def test_a_long_tag_list_is_cut_and_counted():
    tags = tuple(f"Tag {n:02d}" for n in range(40))
    words = refusal_words(DigestRefused(Refusal.UNKNOWN_TAG, "x", choices=tags))
    assert "Tag 24 and 15 more." in words and "Tag 25" not in words


def test_no_tags_at_all_suggests_another_scope():
    words = refusal_words(DigestRefused(Refusal.UNKNOWN_TAG, "Buyer", choices=()))
    assert "no contact tags yet" in words and "`recent`" in words


def test_an_unknown_tag_for_a_watch_suggests_the_watch_command():
    words = unknown_tag("Byuer", ("Buyer", "Seller"), "/activity watch")
    assert "Your tags: Buyer, Seller." in words and "`/activity watch tag:Buyer`" in words
    assert "digest" not in unknown_tag("Byuer", (), "/activity watch")
