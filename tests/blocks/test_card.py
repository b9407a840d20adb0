"""The contact card: counters, change since yesterday, buttons, and the shared copy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activity.models import ContactCard, EarlierLook
from activity.scoring import Trend, provisional_engagement
from blocks import ListingsCursor, card_message, decode_contact_id, decode_cursor
from blocks.card import FIRST_LOOKUP, changes, mailto, tel, totals_line
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
    make_engagement,
    make_summary,
    make_trend,
    mrkdwn_texts,
)

DENVER = zoneinfo.ZoneInfo("America/Denver")

CONTACT_ID = "20090816141725963238000000"
DELTA = ActivitySummary(
    manual_emails_sent=2,
    manual_emails_opened=1,
    listings_viewed=6,
    listings_shared=1,
)


def contexts(message) -> list[str]:
    return [
        " ".join(e["text"] for e in b["elements"]) for b in message.blocks if b["type"] == "context"
    ]


def by_role(message) -> dict[str, dict]:
    return {b["block_id"].split(".")[0]: b for b in message.blocks}


def text_of(message, role: str) -> str:
    block = by_role(message)[role]
    if "text" in block:
        return block["text"]["text"]
    return " ".join(e["text"] for e in block["elements"])


def at_home(card: ContactCard, **changes) -> ContactCard:
    """The card as a viewer in Denver sees it (NOW is 02:30 there, 24 Nov)."""
    return dataclasses.replace(card, local_now=NOW.astimezone(DENVER), **changes)


def test_typical_card_leads_with_band_last_active_and_the_week() -> None:
    trend = make_trend(recent=ActivitySummary(listings_viewed=13, manual_emails_opened=2))
    card = at_home(make_card(delta=DELTA, trend=trend), last_active=NOW.date())
    message = card_message(card)
    assert_valid_message(message)
    roles = [b["block_id"].split(".")[0] for b in message.blocks]
    assert roles == [
        "card_header",
        "card_glance",
        "card_change",
        "card_trend",
        "card_sparkline",
        "card_totals",
        "card_reach",
        "card_actions",
        "card_read",
    ]
    assert message.blocks[0]["text"]["text"] == "Jane Doe"
    assert text_of(message, "card_glance") == (
        "*🔥 Hot* · 42 points · last active today\n7 days: 13 listings viewed · 2 e-mails opened"
    )
    assert text_of(message, "card_change") == (
        "Since yesterday: +6 viewed, +1 shared, +2 e-mails sent, +1 e-mail opened"
    )
    assert text_of(message, "card_totals") == (
        "All time: 143 listings viewed · 12 shared with them · 8 of 10 e-mails opened (80%) · "
        "9 of 30 subscription e-mails opened (30%) "
        "Open rates can be inflated by mail privacy features."
    )
    assert message.text == "Jane Doe · 🔥 Hot · last active today"


def test_the_notification_names_band_and_last_active_day() -> None:
    card = at_home(make_card(trend=make_trend()), last_active=dt.date(2026, 11, 17))
    assert card_message(card).text == "Jane Doe · 🔥 Hot · last active 17 Nov"
    warm = make_trend(engagement=make_engagement("warm", 12.0))
    assert card_message(at_home(make_card(trend=warm))).text == "Jane Doe · 🌤 Warm"
    assert card_message(make_card()).text == "Jane Doe · 143 listings viewed"


@pytest.mark.parametrize(
    ("day", "phrase"),
    [
        (dt.date(2026, 11, 24), "today"),
        (dt.date(2026, 11, 23), "yesterday"),
        (dt.date(2026, 11, 20), "Fri"),
        (dt.date(2026, 11, 12), "12 Nov"),
        (dt.date(2025, 12, 29), "29 Dec 2025"),
    ],
)
def test_last_active_wording_is_the_viewers_day(day: dt.date, phrase: str) -> None:
    # NOW is 09:30 UTC on 24 Nov: in Denver that is still 24 Nov (02:30), in Tokyo too.
    card = at_home(make_card(trend=make_trend()), last_active=day)
    assert f"last active {phrase}" in text_of(card_message(card), "card_glance")


def test_a_quiet_contact_with_history_says_no_activity_was_seen() -> None:
    trend = make_trend(recent=ActivitySummary(listings_shared=3))
    message = card_message(at_home(make_card(trend=trend)))
    assert text_of(message, "card_glance") == (
        "*🔥 Hot* · 42 points · no views or opens seen yet\n7 days: nothing viewed or opened"
    )


def test_a_short_history_says_since_when() -> None:
    trend = make_trend(
        recent=ActivitySummary(listings_viewed=1), recent_since=dt.date(2026, 11, 21)
    )
    glance = text_of(card_message(make_card(trend=trend)), "card_glance")
    assert glance.endswith("\nSince Sat 21 Nov: 1 listing viewed")


def test_a_new_install_says_the_band_comes_from_todays_totals() -> None:
    first = provisional_engagement(make_summary())
    trend = Trend(week=None, month=None, sparkline=None, engagement=first)
    message = card_message(at_home(make_card(trend=trend)))
    assert_valid_message(message)
    assert text_of(message, "card_glance") == (
        "*🔥 Hot* · from today's totals\n"
        "Band from today's totals: 143 listings viewed · 17 e-mails opened so far. "
        "The 7-day score starts tomorrow."
    )
    assert "second day" not in json.dumps(message.blocks)
    assert message.text == "Jane Doe · 🔥 Hot, from today's totals"
    assert text_of(message, "card_change") == FIRST_LOOKUP


def test_a_second_lookup_today_says_what_changed_since_the_first() -> None:
    first_at = dt.datetime(2026, 11, 23, 9, 14, tzinfo=DENVER)  # 16:14 UTC
    earlier = EarlierLook(first_at, ActivitySummary(listings_viewed=2))
    card = dataclasses.replace(make_card(), local_now=first_at + dt.timedelta(hours=14))
    message = card_message(dataclasses.replace(card, earlier_today=earlier))
    assert_valid_message(message)
    unix = int(first_at.timestamp())
    assert text_of(message, "card_change") == f"+2 viewed since <!date^{unix}^{{time}}|9:14>"
    none = dataclasses.replace(earlier, delta=ActivitySummary())
    message = card_message(dataclasses.replace(card, earlier_today=none, delta=DELTA))
    assert text_of(message, "card_change").endswith(
        f"· No change since <!date^{unix}^{{time}}|9:14>"
    )


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (ActivitySummary(manual_emails_opened=1), "+1 e-mail opened"),
        (ActivitySummary(manual_emails_opened=2), "+2 e-mails opened"),
        (ActivitySummary(manual_emails_sent=1), "+1 e-mail sent"),
        (ActivitySummary(subscription_emails_opened=1), "+1 subscription e-mail opened"),
        (ActivitySummary(subscription_emails_sent=1), "+1 subscription e-mail sent"),
        (ActivitySummary(manual_emails_opened=-1), "\u22121 e-mail opened"),
        (ActivitySummary(listings_viewed=1, listings_shared=1), "+1 viewed, +1 shared"),
    ],
)
def test_every_counted_change_agrees_in_number(delta: ActivitySummary, words: str) -> None:
    assert changes(delta) == words
    earlier = EarlierLook(NOW, delta)
    assert text_of(card_message(make_card(earlier_today=earlier)), "card_change").startswith(
        words + " since"
    )


def test_singular_totals() -> None:
    one = make_summary(viewed=1, shared=1, sent=1, opened=1, sub_sent=1, sub_opened=1)
    assert totals_line(one) == (
        "All time: 1 listing viewed · 1 shared with them · 1 of 1 e-mails opened (100%) · "
        "1 of 1 subscription e-mails opened (100%)"
    )


def test_the_read_line_uses_slacks_date_in_the_readers_zone() -> None:
    message = card_message(at_home(make_card()))
    unix = int(NOW.timestamp())
    assert text_of(message, "card_read") == (
        f"Read <!date^{unix}^{{date_short_pretty}} at {{time}}|Tue 24 Nov 2:30 MST>"
    )


def test_open_rates_without_a_delta() -> None:
    message = card_message(make_card())
    assert "8 of 10 e-mails opened (80%)" in text_of(message, "card_totals")
    assert FIRST_LOOKUP in contexts(message)


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
    assert not any("url" in b for b in found.values())


def test_open_in_flexmls_is_a_url_button_when_configured() -> None:
    url = "https://crm.flexmls.com/contacts/20090816141725963238000000"
    message = card_message(make_card(flexmls_url=url))
    assert_valid_message(message)
    (link,) = [b for b in buttons(message) if b["action_id"] == "open_flexmls"]
    assert link["url"] == url and link["text"]["text"] == "Open in Flexmls"
    assert "value" not in link
    labels = [b["text"]["text"] for b in buttons(message)]
    assert labels.index("Open in Flexmls") == 2  # after Viewed / Shared
    for bad in ("http://crm.flexmls.com/c/1", "javascript:alert(1)", "https://x/" + "a" * 3000):
        assert "open_flexmls" not in [
            b["action_id"] for b in buttons(card_message(make_card(flexmls_url=bad)))
        ]
    shared = card_message(make_card(flexmls_url=url), shared_by="U0SHARER")
    assert buttons(shared) == []


def test_zero_activity() -> None:
    message = card_message(make_card(summary=ActivitySummary()))
    assert_valid_message(message)
    assert text_of(message, "card_totals") == (
        "All time: 0 listings viewed · 0 shared with them · no e-mails sent"
    )
    assert not any("mail privacy" in n for n in contexts(message))
    assert message.text == "Jane Doe · 0 listings viewed"


def test_no_change_since_yesterday() -> None:
    message = card_message(make_card(delta=ActivitySummary()))
    assert "No change since yesterday" in contexts(message)


def test_negative_delta_uses_a_minus_sign() -> None:
    message = card_message(make_card(delta=ActivitySummary(listings_viewed=-2)))
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


def test_yesterday_is_the_viewers_yesterday() -> None:
    # 06:30 UTC on 25 Nov is still 24 Nov in Denver: a baseline from 23 Nov is "yesterday".
    late = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
    card = make_card(delta=DELTA, baseline_day=dt.date(2026, 11, 23), looked_up_at=late)
    assert text_of(card_message(card), "card_change").startswith("Since Mon 23 Nov:")
    local = dataclasses.replace(card, local_now=late.astimezone(DENVER))
    assert text_of(card_message(local), "card_change").startswith("Since yesterday:")


def test_huge_counts() -> None:
    huge = make_summary(
        viewed=10**12, shared=10**12, sent=10**12, opened=10**12, sub_sent=10**12, sub_opened=1
    )
    message = card_message(make_card(summary=huge, delta=huge))
    assert_valid_message(message)
    assert "Since yesterday: +1,000,000,000,000 viewed" in text_of(message, "card_change")
    assert "1,000,000,000,000 listings viewed" in text_of(message, "card_totals")
    assert "Viewed (1,000,000,000,000)" in [b["text"]["text"] for b in buttons(message)]


@pytest.mark.parametrize(
    ("email", "phone", "expected"),
    [
        (None, "303-555-0142", "<tel:3035550142|303-555-0142>"),
        ("jane@example.org", None, "<mailto:jane@example.org|jane@example.org>"),
        (
            "jane@example.org",
            "+1 (303) 555-0142",
            "<mailto:jane@example.org|jane@example.org> · <tel:+13035550142|+1 (303) 555-0142>",
        ),
        (None, None, None),
    ],
)
def test_email_and_phone_are_links(
    email: str | None, phone: str | None, expected: str | None
) -> None:
    message = card_message(make_card(make_contact(email=email, phone=phone)))
    assert_valid_message(message)
    reach = [b for b in message.blocks if b["block_id"].startswith("card_reach.")]
    assert [b["text"]["text"] for b in reach] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("email", "shown"),
    [
        ("jane@example.org", "<mailto:jane@example.org|jane@example.org>"),
        ("Jane.O'Neil@example.org", "Jane.O'Neil@example.org"),  # not a plain address: text only
        ("a@b.c|<!channel>", "a@b.c|&lt;!channel&gt;"),
        ("jane@example.org>x", "jane@example.org&gt;x"),
        ("x@evil.example?subject=hi", "x@evil.example?subject=hi"),
        ("no-at-sign", "no-at-sign"),
        ("*bold*@example.org", "*\u200bbold*\u200b@example.org"),
        ("", None),
    ],
)
def test_only_plain_addresses_become_mailto_links(email: str, shown: str | None) -> None:
    assert mailto(email) == shown


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("303-555-0142", "<tel:3035550142|303-555-0142>"),
        ("+44 20 7946 0958", "<tel:+442079460958|+44 20 7946 0958>"),
        ("555-0142", "<tel:5550142|555-0142>"),
        ("0142", "0142"),  # too short to dial
        ("1" * 16, "1" * 16),  # longer than E.164 allows
        ("303-555-0142 ext. 7", "303-555-0142 ext. 7"),
        ("<tel:911|call me>", "&lt;tel:911|call me&gt;"),
        ("303-555-0142|<!here>", "303-555-0142|&lt;!here&gt;"),
        ("٣٠٣٥٥٥٠١٤٢", "٣٠٣٥٥٥٠١٤٢"),  # non-ASCII digits: shown, not dialled
        (None, None),
    ],
)
def test_only_dialable_numbers_become_tel_links(phone: str | None, shown: str | None) -> None:
    assert tel(phone) == shown


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
    assert (
        by_role(first)["card_totals"]["block_id"] != by_role(refreshed)["card_totals"]["block_id"]
    )


def test_contact_id_unfit_for_a_button_gives_no_buttons() -> None:
    message = card_message(make_card(make_contact(contact_id="not an id")))
    assert_valid_message(message)
    assert buttons(message) == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names(name: str) -> None:
    contact = make_contact(name, email=name, phone=name)
    earlier = EarlierLook(NOW, DELTA)
    for shared_by in (None, "U0123ABC"):
        card = at_home(make_card(contact, delta=DELTA, trend=make_trend()), earlier_today=earlier)
        message = card_message(card, shared_by=shared_by)
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
    assert message.text == "&lt;!channel&gt; *\u200bJane*\u200b · 143 listings viewed"


def test_five_thousand_character_name_is_truncated_everywhere() -> None:
    message = card_message(make_card(make_contact("J" * 5000)))
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "J" * 149 + "…"
    assert all(len(t) <= 3000 for t in all_texts(message))


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(max_size=300),
    email=st.none() | st.text(max_size=100) | st.emails(),
    phone=st.none() | st.text(alphabet="0123456789+-() .x<>|&", max_size=30),
    shared_by=st.none() | st.text(max_size=30),
)
def test_any_name_gives_a_valid_card(
    name: str, email: str | None, phone: str | None, shared_by: str | None
) -> None:
    contact = make_contact(name, email=email, phone=phone)
    message = card_message(make_card(contact, delta=DELTA), shared_by=shared_by)
    assert_valid_message(message)
