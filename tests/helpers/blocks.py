"""Checks and builders for Block Kit messages and views.

`assert_valid_message` is the one place Slack's rules live: every blocks test passes every
message it builds through it. The `make_*` builders return the real dataclasses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from activity.models import ContactCard, Digest, DigestEntry, EarlierLook, ListingPage
from activity.scoring import Band, Engagement, Trend
from blocks import Message
from blocks import message as limits  # Slack's limits, one definition for product and checks
from spark.models import ActivitySummary, Contact, Listing, Page
from storage.digests import Subscription

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
YESTERDAY = dt.date(2026, 11, 23)

HOSTILE_NAMES = (
    "*bold*",
    "_italic_",
    "~strike~",
    "`code`",
    "```block```",
    "<!channel>",
    "<!here> <!everyone>",
    "<@U123>",
    "<#C123|general>",
    "<http://evil.example|click me>",
    "&amp; &lt;b&gt;",
    "> quoted\n>>> more",
    "Jane 🏡 Doe 👩‍👩‍👧‍👦",
    "שרה כהן",
    "سارة أحمد",
    "\u202eenaJ\u202c Doe",
    "Tab\tand\nnewline\x00null",
    "J" * 5000,
    "<" * 3000,
    "*" * 2000,
)

# Markup our renderers write themselves; anything else in `<…>` came from user input.
_OWN_MARKUP = re.compile(
    r"<@[UW][A-Z0-9]{2,20}>|<#[CG][A-Z0-9]{2,20}>|<!date\^\d+\^[^|<>]*\|[^<>]*>"
    # the card's e-mail and phone links (blocks.card.mailto / tel): only plain addresses and digits
    r"|<mailto:[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\|[^<>|]*>|<tel:\+?[0-9]{7,15}\|[^<>|]*>"
)
_ANY_MARKUP = re.compile(r"<[^<>]*>?")


def walk_text_objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every text object (plain_text or mrkdwn) anywhere under `value`."""
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and "text" in value:
            yield value
        for item in value.values():
            yield from walk_text_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_text_objects(item)


def mrkdwn_texts(message: Message) -> list[str]:
    """Everything Slack parses as mrkdwn: the fallback text and every mrkdwn object."""
    texts = [message.text]
    for block in message.blocks:
        texts += [t["text"] for t in walk_text_objects(block) if t["type"] == "mrkdwn"]
    return texts


def all_texts(message: Message) -> list[str]:
    texts = [message.text]
    for block in message.blocks:
        texts += [t["text"] for t in walk_text_objects(block)]
    return texts


def buttons(message: Message) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "button":
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for block in message.blocks:
        walk(block)
    return found


def block_types(message: Message) -> list[str]:
    return [b["type"] for b in message.blocks]


def _check_button(button: dict[str, Any]) -> None:
    label = button["text"]["text"]
    assert button["text"]["type"] == "plain_text"
    assert 1 <= len(label) <= limits.BUTTON_TEXT
    assert len(label) <= limits.MOBILE_LABEL, f"label too long for mobile: {label!r}"
    assert len(button.get("value", "")) <= limits.BUTTON_VALUE
    assert 1 <= len(button["action_id"]) <= limits.ACTION_ID
    assert len(button.get("accessibility_label", "")) <= limits.BUTTON_TEXT


def _check_image(image: dict[str, Any]) -> None:
    assert image["type"] == "image"
    assert 1 <= len(image["image_url"]) <= limits.IMAGE_URL
    assert image["image_url"].startswith(("https://", "http://"))
    assert 1 <= len(image["alt_text"]) <= limits.ALT_TEXT


def _check_actions(elements: list[dict[str, Any]]) -> None:
    ids = [e["action_id"] for e in elements]
    assert len(ids) == len(set(ids)), f"duplicate action ids in a block: {ids}"
    for element in elements:
        _check_button(element)


def _check_card(card: dict[str, Any]) -> None:
    assert card["type"] == "card"
    assert any(card.get(k) for k in ("hero_image", "title", "actions", "body"))
    card_limits = (("title", limits.CARD_TITLE), ("subtitle", limits.CARD_SUBTITLE),
                   ("body", limits.CARD_BODY))  # fmt: skip
    for key, limit in card_limits:
        if key in card:
            assert 1 <= len(card[key]["text"]) <= limit, key
    if "hero_image" in card:
        _check_image(card["hero_image"])
    _check_actions(card.get("actions", []))


def check_block(block: dict[str, Any]) -> None:
    kind = block["type"]
    if kind == "header":
        assert block["text"]["type"] == "plain_text"
        assert 1 <= len(block["text"]["text"]) <= limits.HEADER_TEXT
    elif kind == "section":
        assert "text" in block or "fields" in block
        if "text" in block:
            assert 1 <= len(block["text"]["text"]) <= limits.SECTION_TEXT
        fields = block.get("fields", [])
        assert len(fields) <= limits.MAX_FIELDS
        assert all(1 <= len(f["text"]) <= limits.FIELD_TEXT for f in fields)
        accessory = block.get("accessory")
        if accessory and accessory["type"] == "image":
            _check_image(accessory)
        elif accessory:
            _check_actions([accessory])
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= limits.CONTEXT_ELEMENTS
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= limits.ACTIONS_ELEMENTS
        _check_actions(block["elements"])
    elif kind == "carousel":
        assert 1 <= len(block["elements"]) <= limits.CAROUSEL_CARDS
        for card in block["elements"]:
            _check_card(card)
    elif kind == "card":
        _check_card(block)


def assert_valid_message(message: Message, *, max_blocks: int = limits.MAX_BLOCKS) -> None:
    """Slack would accept `message`, and nothing from user input in it is live markup."""
    assert isinstance(message, Message)
    assert message.text.strip(), "fallback text must not be empty"
    assert len(message.text) <= limits.MAX_TEXT
    assert 1 <= len(message.blocks) <= max_blocks

    block_ids: list[str] = []
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"unknown block type {block.get('type')}"
        assert parsed.to_dict() == block, "slack_sdk does not round-trip this block"
        check_block(block)
        block_ids.append(block["block_id"])
        block_ids += [c["block_id"] for c in block.get("elements", []) if c.get("type") == "card"]
    assert all(1 <= len(i) <= limits.BLOCK_ID for i in block_ids)
    assert len(block_ids) == len(set(block_ids)), f"duplicate block ids: {block_ids}"

    for text_object in (t for b in message.blocks for t in walk_text_objects(b)):
        assert text_object["text"], "empty text object"

    for text in mrkdwn_texts(message):
        leftover = _OWN_MARKUP.sub("", text)
        assert _ANY_MARKUP.search(leftover) is None, f"live markup in {leftover[:200]!r}"
        for mention in ("<!channel>", "<!here>", "<!everyone>"):
            assert mention not in text


def assert_no_formatting_from(user_text: str, message: Message) -> None:
    """No formatting run of `user_text` (e.g. `*bold*`) appears unneutralised in mrkdwn."""
    runs = [m.group(0) for m in re.finditer(r"([*_~`])[^*_~`\s]+\1", user_text)]
    for text in mrkdwn_texts(message):
        for run in runs:
            assert run not in text, f"{run!r} would format in {text[:200]!r}"


def make_contact(
    name: str = "Jane Doe",
    *,
    contact_id: str = "20090816141725963238000000",
    email: str | None = "jane@example.org",
    phone: str | None = "303-555-0142",
) -> Contact:
    return Contact(id=contact_id, display_name=name, email=email, phone=phone)


def make_summary(
    viewed: int = 143,
    shared: int = 12,
    sent: int = 10,
    opened: int = 8,
    sub_sent: int = 30,
    sub_opened: int = 9,
) -> ActivitySummary:
    return ActivitySummary(
        manual_emails_sent=sent,
        manual_emails_opened=opened,
        subscription_emails_sent=sub_sent,
        subscription_emails_opened=sub_opened,
        listings_viewed=viewed,
        listings_shared=shared,
    )


def make_card(
    contact: Contact | None = None,
    summary: ActivitySummary | None = None,
    *,
    delta: ActivitySummary | None = None,
    baseline_day: dt.date | None = YESTERDAY,
    looked_up_at: dt.datetime = NOW,
    trend: Trend | None = None,
    earlier_today: EarlierLook | None = None,
    flexmls_url: str | None = None,
) -> ContactCard:
    return ContactCard(
        contact=contact or make_contact(),
        summary=summary or make_summary(),
        looked_up_at=looked_up_at,
        baseline_day=baseline_day if delta is not None else None,
        delta=delta,
        trend=trend,
        earlier_today=earlier_today,
        flexmls_url=flexmls_url,
    )


def make_engagement(
    band: Band = "hot", score: float = 42.0, explanation: str | None = None
) -> Engagement:
    if explanation is None:
        explanation = (
            f"{band.capitalize()} ({score:.0f} points): "
            "12 listing views, 3 e-mail opens in the last 7 days."
        )
    return Engagement(score=score, band=band, explanation=explanation)


def make_trend(
    *,
    week: ActivitySummary | None = None,
    month: ActivitySummary | None = None,
    sparkline: str | None = "▁▂▁▅▇",
    engagement: Engagement | None = None,
    band: Band = "hot",
    recent: ActivitySummary | None = None,
    recent_since: dt.date | None = None,
) -> Trend:
    return Trend(
        week=week if week is not None else ActivitySummary(listings_viewed=14, listings_shared=2),
        month=month
        if month is not None
        else ActivitySummary(listings_viewed=40, listings_shared=5),
        sparkline=sparkline,
        engagement=engagement if engagement is not None else make_engagement(band),
        recent=recent,
        recent_since=recent_since,
    )


DIGEST_DAY = dt.date(2026, 11, 27)  # a Friday


def make_entry(
    n: int = 1,
    *,
    name: str | None = None,
    contact_id: str | None = None,
    band: Band = "warm",
    score: float = 20.0,
    previous: float | None = 10.0,
    viewed: int = 3,
    shared: int = 1,
    history: bool = True,
) -> DigestEntry:
    """Entry `n` ("Contact 1", id "C1"); `history=False` is a contact seen for the first time."""
    return DigestEntry(
        contact_id=contact_id if contact_id is not None else f"C{n}",
        name=name if name is not None else f"Contact {n}",
        summary=make_summary(viewed=100 + n, shared=10),
        day=ActivitySummary(listings_viewed=viewed, listings_shared=shared) if history else None,
        week=ActivitySummary(listings_viewed=viewed * 3, listings_shared=shared)
        if history
        else None,
        engagement=make_engagement(band, score) if history else None,
        previous_score=previous if history else None,
    )


def make_digest(
    entries: tuple[DigestEntry, ...] | None = None,
    *,
    heating: tuple[DigestEntry, ...] | None = None,
    cooling: tuple[DigestEntry, ...] | None = None,
    scope: str = "recent",
    subscriber_id: str = "U123",
    channel_id: str = "C123",
    subscription_id: int = 7,
    local_date: dt.date = DIGEST_DAY,
    failed: int = 0,
    late: bool = False,
) -> Digest:
    """A digest; `heating`/`cooling` default to the entries that moved by 5 points or more."""
    items = entries if entries is not None else tuple(make_entry(i) for i in range(1, 4))
    if heating is None:
        heating = tuple(sorted((e for e in items if e.movement >= 5), key=lambda e: -e.movement))
    if cooling is None:
        cooling = tuple(sorted((e for e in items if e.movement <= -5), key=lambda e: e.movement))
    return Digest(
        subscription_id=subscription_id,
        subscriber_id=subscriber_id,
        channel_id=channel_id,
        local_date=local_date,
        scope=scope,
        entries=items,
        heating=heating,
        cooling=cooling,
        failed=failed,
        late=late,
    )


def make_subscription(
    subscription_id: int = 7,
    *,
    user_id: str = "U0AGENT1",
    channel_id: str = "C123",
    local_time: str = "08:00",
    timezone: str = "America/Denver",
    scope: str = "recent",
) -> Subscription:
    return Subscription(
        id=subscription_id,
        team_id="T1",
        user_id=user_id,
        channel_id=channel_id,
        local_time=local_time,
        timezone=timezone,
        scope=scope,
        created_at=NOW,
    )


def make_listing(n: int = 1, **overrides: Any) -> Listing:
    values: dict[str, Any] = {
        "id": f"L{n}",
        "mls_number": f"24-{1186 + n}",
        "status": "Active",
        "price": 450_000 + 1000 * n,
        "street": f"{1233 + n} W Maple Ave",
        "city": "Denver",
        "state": "CO",
        "postal_code": "80202",
        "beds": 3,
        "baths": 2.5,
        "area": 1850,
        "photo_url": f"https://photos.example/{n}.jpg",
    }
    values.update(overrides)
    return Listing(**values)


def make_view(
    listings: tuple[Listing, ...] | None = None,
    *,
    kind: str = "viewed",
    page: int = 2,
    total_pages: int = 15,
    total_rows: int = 143,
    name: str = "Jane Doe",
    contact_id: str = "20090816141725963238000000",
) -> ListingPage:
    items = listings if listings is not None else tuple(make_listing(i) for i in range(1, 11))
    return ListingPage(
        contact_id=contact_id,
        contact_name=name,
        kind=kind,  # type: ignore[arg-type]
        page=Page(
            items=items,
            current_page=page,
            page_size=10,
            total_rows=total_rows,
            total_pages=total_pages,
        ),
    )


# In views (App Home) we also write channel mentions ourselves, for well-formed channel ids only.
_OWN_VIEW_MARKUP = re.compile(rf"{_OWN_MARKUP.pattern}|<#[CGD][A-Z0-9]{{2,20}}>")


def view_mrkdwn_texts(view: dict[str, Any]) -> list[str]:
    """Every mrkdwn text Slack parses in a view's blocks."""
    return [t["text"] for t in walk_text_objects(view["blocks"]) if t["type"] == "mrkdwn"]


def view_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button anywhere in a view's blocks."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "button":
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(view["blocks"])
    return found


def assert_valid_view(view: dict[str, Any], *, kind: str) -> None:
    """Slack would accept `view` (a modal or Home tab), and no user input in it is live markup."""
    assert view["type"] == kind
    assert View(**view).to_dict() == view, "slack_sdk does not round-trip this view"
    assert 1 <= len(view["blocks"]) <= 100
    if kind == "modal":
        assert 1 <= len(view["title"]["text"]) <= 24
        for key in ("submit", "close"):
            if key in view:
                assert 1 <= len(view[key]["text"]) <= 24
        if any(b["type"] == "input" for b in view["blocks"]):
            assert "submit" in view, "a modal with inputs needs a submit button"
    else:
        assert "submit" not in view and "close" not in view

    block_ids: list[str] = []
    for block in view["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, f"unknown block type {block.get('type')}"
        assert parsed.to_dict() == block, "slack_sdk does not round-trip this block"
        check_block(block)
        block_ids.append(block["block_id"])
    assert all(1 <= len(i) <= limits.BLOCK_ID for i in block_ids)
    assert len(block_ids) == len(set(block_ids)), f"duplicate block ids: {block_ids}"

    for text_object in walk_text_objects(view["blocks"]):
        assert text_object["text"], "empty text object"

    for text in view_mrkdwn_texts(view):
        leftover = _OWN_VIEW_MARKUP.sub("", text)
        assert _ANY_MARKUP.search(leftover) is None, f"live markup in {leftover[:200]!r}"
        for mention in ("<!channel>", "<!here>", "<!everyone>"):
            assert mention not in text


def assert_no_formatting_in_view(user_text: str, view: dict[str, Any]) -> None:
    """No formatting run of `user_text` (e.g. `*bold*`) appears unneutralised in a view."""
    runs = [m.group(0) for m in re.finditer(r"([*_~`])[^*_~`\s]+\1", user_text)]
    for text in view_mrkdwn_texts(view):
        for run in runs:
            assert run not in text, f"{run!r} would format in {text[:200]!r}"
