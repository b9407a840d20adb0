"""The contact card: counters, change since yesterday, buttons, and the shared copy."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activity.models import ContactCard
from blocks import ListingsCursor, card_message, decode_contact_id, decode_cursor
from spark.models import ActivitySummary
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    NOW,
    all_texts,
    assert_no_formatting_from,
    assert_valid_message,
    block_types,
    buttons,
    make_card,
    make_contact,
    make_summary,
    mrkdwn_texts,
)

CONTACT_ID = "20090816141725963238000000"
DELTA = ActivitySummary(
    manual_emails_sent=2,
    manual_emails_opened=1,
    listings_viewed=6,
    listings_shared=1,
)


def fields(message) -> list[str]:
    (section,) = [b for b in message.blocks if b["type"] == "section"]
    return [f["text"] for f in section["fields"]]


def contexts(message) -> list[str]:
    return [
        " ".join(e["text"] for e in b["elements"]) for b in message.blocks if b["type"] == "context"
    ]


def test_typical_card() -> None:
    message = card_message(make_card(delta=DELTA))
    assert_valid_message(message)
    assert block_types(message) == ["header", "section", "context", "context", "context", "actions"]
    assert message.blocks[0]["text"]["text"] == "Jane Doe"
    assert fields(message) == [
        "*Listings viewed*\n143 (+6)",
        "*Listings shared*\n12 (+1)",
        "*E-mails sent*\n10 (+2)",
        "*E-mails opened*\n8 (+1) · 80%",
        "*Subscription e-mails sent*\n30",
        "*Subscription e-mails opened*\n9 (30%)",
    ]
    notes = contexts(message)
    assert "Open rates can be inflated by mail privacy features." in notes
    assert "Since yesterday: +6 viewed, +1 shared, +2 e-mails sent, +1 e-mails opened" in notes
    assert "jane@example.org · 303-555-0142" in notes
    assert message.text == (
        "Jane Doe: 143 listings viewed (+6), 12 shared (+1), 8 of 10 e-mails opened"
    )


def test_open_rates_without_a_delta() -> None:
    message = card_message(make_card())
    assert "*E-mails opened*\n8 (80%)" in fields(message)
    assert "First lookup: changes since yesterday show from tomorrow." in contexts(message)


def test_card_buttons_carry_cursors_and_contact_ids() -> None:
    message = card_message(make_card())
    found = {b["action_id"]: b for b in buttons(message)}
    assert [b["text"]["text"] for b in found.values()] == [
        "Viewed (143)",
        "Shared (12)",
        "Share in channel",
        "Refresh",
    ]
    assert decode_cursor(found["listings_page:viewed"]["value"]) == ListingsCursor(
        "viewed", CONTACT_ID, 1
    )
    assert decode_cursor(found["listings_page:shared"]["value"]) == ListingsCursor(
        "shared", CONTACT_ID, 1
    )
    assert decode_contact_id(found["share_card"]["value"]) == CONTACT_ID
    assert decode_contact_id(found["refresh_card"]["value"]) == CONTACT_ID


def test_zero_activity() -> None:
    message = card_message(make_card(summary=ActivitySummary()))
    assert_valid_message(message)
    assert "*E-mails opened*\n0" in fields(message)
    assert not any("mail privacy" in n for n in contexts(message))
    assert message.text == "Jane Doe: 0 listings viewed, 0 shared, no e-mails sent"


def test_no_change_since_yesterday() -> None:
    message = card_message(make_card(delta=ActivitySummary()))
    assert "No change since yesterday" in contexts(message)
    assert "(+" not in " ".join(fields(message))


def test_negative_delta_uses_a_minus_sign() -> None:
    message = card_message(make_card(delta=ActivitySummary(listings_viewed=-2)))
    assert "*Listings viewed*\n143 (−2)" in fields(message)
    assert "Since yesterday: −2 viewed" in contexts(message)


@pytest.mark.parametrize(
    ("baseline", "phrase"),
    [
        (dt.date(2026, 11, 23), "Since yesterday"),
        (dt.date(2026, 11, 24), "Since earlier today"),
        (dt.date(2026, 11, 20), "Since Fri 20 Nov"),
        (dt.date(2025, 12, 29), "Since Mon 29 Dec 2025"),
        (None, "Since the last lookup"),
    ],
)
def test_baseline_day_wording(baseline: dt.date | None, phrase: str) -> None:
    card = ContactCard(
        contact=make_contact(),
        summary=make_summary(),
        looked_up_at=NOW,
        baseline_day=baseline,
        delta=DELTA,
    )
    assert any(n.startswith(phrase + ":") for n in contexts(card_message(card)))


def test_huge_counts() -> None:
    huge = make_summary(
        viewed=10**12, shared=10**12, sent=10**12, opened=10**12, sub_sent=10**12, sub_opened=1
    )
    message = card_message(make_card(summary=huge, delta=huge))
    assert_valid_message(message)
    assert "*Listings viewed*\n1,000,000,000,000 (+1,000,000,000,000)" in fields(message)
    assert "Viewed (1,000,000,000,000)" in [b["text"]["text"] for b in buttons(message)]


@pytest.mark.parametrize(
    ("email", "phone", "expected"),
    [
        (None, "303-555-0142", "303-555-0142"),
        ("jane@example.org", None, "jane@example.org"),
        (None, None, None),
    ],
)
def test_missing_email_or_phone(email: str | None, phone: str | None, expected: str | None) -> None:
    message = card_message(make_card(make_contact(email=email, phone=phone)))
    assert_valid_message(message)
    reach = [b for b in message.blocks if b["block_id"].startswith("card_reach.")]
    assert [b["elements"][0]["text"] for b in reach] == ([expected] if expected else [])


def test_shared_card_has_no_buttons_and_names_the_sharer() -> None:
    message = card_message(make_card(delta=DELTA), shared_by="U0123ABC")
    assert_valid_message(message)
    assert "actions" not in block_types(message)
    assert buttons(message) == []
    (shared,) = [n for n in contexts(message) if n.startswith("Shared by")]
    unix = int(NOW.timestamp())
    assert shared == (
        "Shared by <@U0123ABC> · data as of "
        f"<!date^{unix}^{{date_short_pretty}} {{time}}|2026-11-24 09:30 UTC>"
    )


def test_naive_lookup_times_are_read_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    message = card_message(make_card(looked_up_at=naive), shared_by="U0123ABC")
    assert f"<!date^{int(NOW.timestamp())}^" in " ".join(contexts(message))


@pytest.mark.parametrize(
    "forged",
    ["U123>", "<!channel>", "u0123abc", "U0123ABC|x", "C0123ABC", "U1", "", "U" + "A" * 30],
)
def test_forged_sharer_is_not_rendered_as_a_mention(forged: str) -> None:
    message = card_message(make_card(), shared_by=forged)
    assert_valid_message(message)
    assert buttons(message) == []
    assert not any("<@" in t for t in mrkdwn_texts(message))
    assert any(n.startswith("Shared by a teammate") for n in contexts(message))


def test_ids_change_with_content_and_stay_put_without_change() -> None:
    first = card_message(make_card())
    again = card_message(make_card())
    refreshed = card_message(make_card(summary=make_summary(viewed=144)))
    ids = [b["block_id"] for b in first.blocks]
    assert ids == [b["block_id"] for b in again.blocks]
    assert ids[1] != refreshed.blocks[1]["block_id"]


def test_contact_id_unfit_for_a_button_gives_no_buttons() -> None:
    message = card_message(make_card(make_contact(contact_id="not an id")))
    assert_valid_message(message)
    assert buttons(message) == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names(name: str) -> None:
    contact = make_contact(name, email=name, phone=name)
    for shared_by in (None, "U0123ABC"):
        message = card_message(make_card(contact, delta=DELTA), shared_by=shared_by)
        assert_valid_message(message)
        assert_no_formatting_from(name, message)
        assert len(message.blocks[0]["text"]["text"]) <= 150


def test_hostile_name_is_shown_literally_in_the_header() -> None:
    message = card_message(make_card(make_contact("<!channel> *Jane*")))
    assert message.blocks[0]["text"] == {
        "type": "plain_text",
        "text": "<!channel> *Jane*",
        "emoji": True,
    }
    assert message.text.startswith("&lt;!channel&gt; *\u200bJane*\u200b:")


def test_five_thousand_character_name_is_truncated_everywhere() -> None:
    message = card_message(make_card(make_contact("J" * 5000)))
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "J" * 149 + "…"
    assert all(len(t) <= 3000 for t in all_texts(message))


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(max_size=300),
    email=st.none() | st.text(max_size=100),
    shared_by=st.none() | st.text(max_size=30),
)
def test_any_name_gives_a_valid_card(name: str, email: str | None, shared_by: str | None) -> None:
    contact = make_contact(name, email=email)
    message = card_message(make_card(contact, delta=DELTA), shared_by=shared_by)
    assert_valid_message(message)
