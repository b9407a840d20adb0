"""One page of the listings a contact viewed or was shared: a carousel of cards, or sections.

The carousel (`layout="carousel"`) is Slack's native horizontally scrolling row of cards; the
`"sections"` layout is the portable fallback for clients that do not show carousels. Each
listing shows price, address, beds/baths, status (closed, expired… marked ⛔), when and how
often the contact viewed it (when Spark says), and a "View listing" link when configured.

Both end with the same three buttons in the same places on every page: Back, the contact card,
Next. Block Kit has no disabled button (slack-bolt-python#421, bolt-js#1891: `disabled` is
refused), so at either end the missing move is a placeholder with a hollow arrow ("◁ Back",
"Next ▷") whose click shows the same page again: Back never lands where Next was.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CardBlock,
    CarouselBlock,
    ContextBlock,
    HeaderBlock,
    ImageElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from activity.models import ListingPage
from blocks.actions import (
    LISTING_LINK,
    LISTINGS_PAGE,
    OPEN_CARD,
    ListingsCursor,
    action_id,
    button,
    encode_cursor,
    is_contact_id,
)
from blocks.actions import MAX_PAGE as MAX_CURSOR_PAGE
from blocks.message import (
    ALT_TEXT,
    BUTTON_TEXT,
    CARD_BODY,
    CARD_SUBTITLE,
    CARD_TITLE,
    CAROUSEL_CARDS,
    HEADER_TEXT,
    IMAGE_URL,
    MAX_BLOCKS,
    MAX_TEXT,
    SECTION_TEXT,
    Message,
    finish,
    identified,
)
from blocks.text import (
    clean,
    escape_mrkdwn,
    money,
    number,
    plain_str,
    truncate,
    truncate_mrkdwn,
    user_mrkdwn,
)
from spark.models import Listing

Layout = Literal["carousel", "sections"]
# Blocks left for listings after the header, page context, overflow note and buttons.
MAX_LISTINGS = 40
# In sections with links each listing takes two blocks (its section, its link).
MAX_LINKED_SECTIONS = (MAX_BLOCKS - 4) // 2
LINK_URL = 3000  # a button's url
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
OFF_MARKET_MARK = "⛔"


def page_title(view: ListingPage) -> str:
    """ "Listings Jane Doe viewed" / "Listings shared with Jane Doe", within a header."""
    name_room = HEADER_TEXT - len("Listings shared with ")
    name = plain_str(view.contact_name, name_room, fallback="this contact")
    if view.kind == "viewed":
        return f"Listings {name} viewed"
    return f"Listings shared with {name}"


def empty_line(view: ListingPage) -> str:
    name = plain_str(view.contact_name, 200, fallback="This contact")
    if view.kind == "viewed":
        return f"{name} hasn't viewed any listings yet."
    return f"No listings have been shared with {name} yet."


def _facts(listing: Listing) -> str:
    """ "3 bd · 2.5 ba · 1,850 sq ft", missing parts omitted."""
    parts = []
    if listing.beds is not None:
        parts.append(f"{number(listing.beds)} bd")
    if listing.baths is not None:
        parts.append(f"{number(listing.baths)} ba")
    if listing.area is not None:
        parts.append(f"{number(listing.area)} sq ft")
    return " · ".join(parts)


def _status(listing: Listing) -> str:
    """ "Active · MLS #24-1187" (escaped), missing parts omitted; "⛔ Closed" when off the market."""
    parts = []
    if listing.status and clean(listing.status):
        status = user_mrkdwn(listing.status, 60)
        parts.append(f"{OFF_MARKET_MARK} {status}" if listing.market == "off_market" else status)
    if listing.mls_number and clean(listing.mls_number):
        parts.append("MLS #" + user_mrkdwn(listing.mls_number, 60))
    return " · ".join(parts)


def short_date(moment: dt.datetime, today: dt.date | None) -> str:
    """ "12 Nov", with the year when it is not `today`'s year ("12 Nov 2025"). The date is the
    one Spark's timestamp carries (its own offset, the MLS's local time)."""
    day = moment.date()
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if today is None or day.year == today.year else f"{text} {day.year}"


def activity_line(listing: Listing, kind: str, today: dt.date | None) -> str:
    """ "viewed 3× · 12 Nov", "viewed once · 12 Nov", "shared 2×", "viewed 12 Nov"; "" when
    Spark said nothing (no `ContactActivity`)."""
    activity = listing.activity
    if activity is None:
        return ""
    verb = "viewed" if kind == "viewed" else "shared"
    count = activity.count or 0
    times = f"{verb} once" if count == 1 else f"{verb} {count:,}×" if count > 1 else ""
    day = short_date(activity.last, today) if activity.last is not None else ""
    if times and day:
        return f"{times} · {day}"
    return times or (f"{verb} {day}" if day else "")


def _photo(listing: Listing) -> ImageElement | None:
    """The listing photo, only when there is a usable URL (no broken images)."""
    url = listing.photo_url
    if not url or len(url) > IMAGE_URL or not url.startswith(("https://", "http://")):
        return None
    alt = truncate(f"Photo of {clean(listing.address) or 'the listing'}", ALT_TEXT)
    return ImageElement(image_url=url, alt_text=alt)


def _link(view: ListingPage, listing: Listing, n: int) -> ButtonElement | None:
    """ "View listing": a URL button, for an https link (built from the operator's template)."""
    url = view.links.get(listing.id)
    if not url or len(url) > LINK_URL or not url.startswith("https://"):
        return None
    where = clean(listing.address) or "the listing"
    return ButtonElement(
        text=PlainTextObject(text="View listing", emoji=True),
        action_id=action_id(LISTING_LINK, n),
        url=url,
        accessibility_label=truncate(f"View {where} in Flexmls", BUTTON_TEXT),
    )


def _body(view: ListingPage, listing: Listing, limit: int) -> str:
    """Facts and status on one line, the contact's activity on the next (kept whole)."""
    seen = activity_line(listing, view.kind, view.today)
    facts = " · ".join(p for p in (escape_mrkdwn(_facts(listing)), _status(listing)) if p)
    if not seen:
        return truncate_mrkdwn(facts, limit) if facts else ""
    if not facts:
        return seen
    return truncate_mrkdwn(facts, max(1, limit - len(seen) - 1)) + "\n" + seen


def _card(view: ListingPage, listing: Listing, n: int) -> CardBlock:
    body = _body(view, listing, CARD_BODY)
    link = _link(view, listing, n)
    return CardBlock(
        hero_image=_photo(listing),
        title=MarkdownTextObject(text=truncate(money(listing.price), CARD_TITLE), verbatim=True),
        subtitle=MarkdownTextObject(
            text=user_mrkdwn(listing.address, CARD_SUBTITLE, fallback="Address not available"),
            verbatim=True,
        ),
        body=MarkdownTextObject(text=body, verbatim=True) if body else None,
        actions=[link] if link is not None else None,
    )


def _section(view: ListingPage, listing: Listing) -> SectionBlock:
    lines = [
        f"*{escape_mrkdwn(money(listing.price))}*",
        user_mrkdwn(listing.address, 500, fallback="Address not available"),
        escape_mrkdwn(_facts(listing)),
        _status(listing),
        activity_line(listing, view.kind, view.today),
    ]
    return SectionBlock(
        text=MarkdownTextObject(
            text=truncate_mrkdwn("\n".join(line for line in lines if line), SECTION_TEXT),
            verbatim=True,
        ),
        accessory=_photo(listing),
    )


def _listing_blocks(
    view: ListingPage, listings: tuple[Listing, ...], layout: Layout
) -> list[tuple[str, Block]]:
    page = view.page.current_page
    tag = f"{view.kind}.p{page}"
    if layout == "sections":
        blocks: list[tuple[str, Block]] = []
        for i, listing in enumerate(listings, start=1):
            blocks.append((f"listing_{i}.{tag}", _section(view, listing)))
            link = _link(view, listing, i)
            if link is not None:
                blocks.append((f"listing_link_{i}.{tag}", ActionsBlock(elements=[link])))
        return blocks

    carousels: list[tuple[str, Block]] = []
    for start in range(0, len(listings), CAROUSEL_CARDS):
        chunk = listings[start : start + CAROUSEL_CARDS]
        cards = [
            identified(f"card_{start + i}.{tag}", _card(view, x, start + i))
            for i, x in enumerate(chunk, start=1)
        ]
        suffix = "" if start == 0 else f"_{start // CAROUSEL_CARDS + 1}"
        carousels.append((f"carousel{suffix}.{tag}", CarouselBlock(elements=cards)))
    return carousels


def _placeholder(label: str, slot: str, value: str, accessible: str) -> ButtonElement:
    """Where a move is missing: a hollow arrow that shows the same page again."""
    return button(
        label, action_id(LISTINGS_PAGE, f"stay_{slot}"), value, accessibility_label=accessible
    )


def _nav(view: ListingPage, *, empty: bool) -> ActionsBlock:
    """[Back] [Contact card] [Next], the same three places on every page of a list with more
    than one page; only the card button when there is nothing to page through."""
    page = view.page
    if not is_contact_id(view.contact_id):
        return ActionsBlock(elements=[])

    def to(target: int) -> str:
        return encode_cursor(ListingsCursor(view.kind, view.contact_id, target))

    current = min(max(page.current_page, 1), MAX_CURSOR_PAGE)
    card = button("Contact card", action_id(OPEN_CARD, "back"), view.contact_id)
    if empty and current > 1:
        back = button("◀ First page", action_id(LISTINGS_PAGE, "first"), to(1))
    elif page.has_prev and current > 1:
        back = button("◀ Back", action_id(LISTINGS_PAGE, "prev"), to(current - 1))
    else:
        back = _placeholder("◁ Back", "prev", to(current), "No earlier page: this is the first")
    if not empty and page.has_next and current + 1 <= MAX_CURSOR_PAGE:
        forward = button("Next ▶", action_id(LISTINGS_PAGE, "next"), to(current + 1))
    else:
        forward = _placeholder("Next ▷", "next", to(current), "No later page: this is the last")
    if max(page.total_pages, current) <= 1 and not (empty and current > 1):
        return ActionsBlock(elements=[card])
    return ActionsBlock(elements=[back, card, forward])


def _listing_summary(listing: Listing) -> str:
    return f"{escape_mrkdwn(money(listing.price))} {user_mrkdwn(listing.address, 200)}"


def active_part(view: ListingPage) -> str:
    """ "7 of 10 on this page still active"; "" when no listing on the page has a status.

    Spark gives no count of active listings over the whole list (only a second, filtered
    request could), so the count is for this page and says so when there are other pages.
    """
    page = view.page
    if not any(listing.market != "unknown" for listing in page.items):
        return ""
    shown = len(page.items)
    where = "on this page " if max(page.total_rows, shown) > shown else ""
    return f"{view.active_count:,} of {shown:,} {where}still active"


def page_line(view: ListingPage) -> str:
    """ "Page 2 of 15 · 143 listings · 7 of 10 on this page still active"."""
    page = view.page
    total_pages = max(page.total_pages, page.current_page)
    total_rows = max(page.total_rows, len(page.items))
    noun = "listing" if total_rows == 1 else "listings"
    parts = [f"Page {page.current_page:,} of {total_pages:,}", f"{total_rows:,} {noun}"]
    return " · ".join(parts + [p for p in (active_part(view),) if p])


def listings_message(view: ListingPage, *, layout: Layout = "carousel") -> Message:
    """One page of a contact's viewed or shared listings, with Back/Next and the contact card."""
    if layout not in ("carousel", "sections"):
        raise ValueError(f"unknown layout {layout!r}")
    page = view.page
    tag = f"{view.kind}.p{page.current_page}"
    title = page_title(view)
    blocks: list[tuple[str, Block]] = [
        (f"listings_header.{tag}", HeaderBlock(text=PlainTextObject(text=title, emoji=True)))
    ]
    room = MAX_LINKED_SECTIONS if layout == "sections" and view.links else MAX_LISTINGS
    listings = page.items[:room]
    if listings:
        where = page_line(view)
        blocks.append(
            (f"listings_page.{tag}", ContextBlock(elements=[PlainTextObject(text=where)]))
        )
        blocks += _listing_blocks(view, listings, layout)
        if len(page.items) > len(listings):
            note = f"Showing the first {len(listings)} of {len(page.items)} on this page."
            blocks.append(
                (f"listings_more.{tag}", ContextBlock(elements=[PlainTextObject(text=note)]))
            )
        summary = "; ".join(_listing_summary(x) for x in listings)
        name = user_mrkdwn(title, HEADER_TEXT)
        total_pages = max(page.total_pages, page.current_page)
        active = active_part(view)
        text = f"{name}, page {page.current_page:,} of {total_pages:,}"
        text += (f", {active}: " if active else ": ") + summary
    else:
        if page.current_page > 1:
            line = f"Page {page.current_page:,} is empty: the list may have changed."
        else:
            line = empty_line(view)
        blocks.append((f"listings_empty.{tag}", SectionBlock(text=PlainTextObject(text=line))))
        text = user_mrkdwn(line, SECTION_TEXT)
    nav = _nav(view, empty=not listings)
    if nav.elements:
        blocks.append((f"listings_nav.{tag}", nav))
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)
