"""One page of the listings a contact viewed or was shared: a carousel of cards, or sections.

The carousel (`layout="carousel"`) is Slack's native horizontally scrolling row of cards; the
`"sections"` layout is the portable fallback for clients that do not show carousels. Both end
with Prev/Next buttons whose values carry the cursor, and a way back to the contact card.
"""

from __future__ import annotations

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
    CARD_BODY,
    CARD_SUBTITLE,
    CARD_TITLE,
    CAROUSEL_CARDS,
    HEADER_TEXT,
    IMAGE_URL,
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
    """ "Active · MLS #24-1187" (escaped), missing parts omitted."""
    parts = []
    if listing.status and clean(listing.status):
        parts.append(user_mrkdwn(listing.status, 60))
    if listing.mls_number and clean(listing.mls_number):
        parts.append("MLS #" + user_mrkdwn(listing.mls_number, 60))
    return " · ".join(parts)


def _photo(listing: Listing) -> ImageElement | None:
    """The listing photo, only when there is a usable URL (no broken images)."""
    url = listing.photo_url
    if not url or len(url) > IMAGE_URL or not url.startswith(("https://", "http://")):
        return None
    alt = truncate(f"Photo of {clean(listing.address) or 'the listing'}", ALT_TEXT)
    return ImageElement(image_url=url, alt_text=alt)


def _card(listing: Listing) -> CardBlock:
    body = " · ".join(p for p in (escape_mrkdwn(_facts(listing)), _status(listing)) if p)
    return CardBlock(
        hero_image=_photo(listing),
        title=MarkdownTextObject(text=truncate(money(listing.price), CARD_TITLE), verbatim=True),
        subtitle=MarkdownTextObject(
            text=user_mrkdwn(listing.address, CARD_SUBTITLE, fallback="Address not available"),
            verbatim=True,
        ),
        body=MarkdownTextObject(text=truncate_mrkdwn(body, CARD_BODY), verbatim=True)
        if body
        else None,
    )


def _section(listing: Listing) -> SectionBlock:
    lines = [
        f"*{escape_mrkdwn(money(listing.price))}*",
        user_mrkdwn(listing.address, 500, fallback="Address not available"),
    ]
    lines += [line for line in (escape_mrkdwn(_facts(listing)), _status(listing)) if line]
    return SectionBlock(
        text=MarkdownTextObject(
            text=truncate_mrkdwn("\n".join(lines), SECTION_TEXT), verbatim=True
        ),
        accessory=_photo(listing),
    )


def _listing_blocks(
    view: ListingPage, listings: tuple[Listing, ...], layout: Layout
) -> list[tuple[str, Block]]:
    page = view.page.current_page
    tag = f"{view.kind}.p{page}"
    if layout == "sections":
        return [(f"listing_{i}.{tag}", _section(x)) for i, x in enumerate(listings, start=1)]

    carousels: list[tuple[str, Block]] = []
    for start in range(0, len(listings), CAROUSEL_CARDS):
        chunk = listings[start : start + CAROUSEL_CARDS]
        cards = [
            identified(f"card_{start + i}.{tag}", _card(x)) for i, x in enumerate(chunk, start=1)
        ]
        suffix = "" if start == 0 else f"_{start // CAROUSEL_CARDS + 1}"
        carousels.append((f"carousel{suffix}.{tag}", CarouselBlock(elements=cards)))
    return carousels


def _nav(view: ListingPage, *, empty: bool) -> ActionsBlock:
    page = view.page
    elements: list[ButtonElement] = []
    if is_contact_id(view.contact_id):

        def to(target: int) -> str:
            return encode_cursor(ListingsCursor(view.kind, view.contact_id, target))

        current = page.current_page
        if empty and current > 1:
            elements.append(button("◀ First page", action_id(LISTINGS_PAGE, "first"), to(1)))
        else:
            if page.has_prev and 1 <= current - 1 <= MAX_CURSOR_PAGE:
                elements.append(button("◀ Prev", action_id(LISTINGS_PAGE, "prev"), to(current - 1)))
            if page.has_next and 1 <= current + 1 <= MAX_CURSOR_PAGE:
                elements.append(button("Next ▶", action_id(LISTINGS_PAGE, "next"), to(current + 1)))
        elements.append(button("Back to card", action_id(OPEN_CARD, "back"), view.contact_id))
    return ActionsBlock(elements=elements)


def _listing_summary(listing: Listing) -> str:
    return f"{escape_mrkdwn(money(listing.price))} {user_mrkdwn(listing.address, 200)}"


def listings_message(view: ListingPage, *, layout: Layout = "carousel") -> Message:
    """One page of a contact's viewed or shared listings, with Prev/Next and Back to card."""
    if layout not in ("carousel", "sections"):
        raise ValueError(f"unknown layout {layout!r}")
    page = view.page
    tag = f"{view.kind}.p{page.current_page}"
    title = page_title(view)
    blocks: list[tuple[str, Block]] = [
        (f"listings_header.{tag}", HeaderBlock(text=PlainTextObject(text=title, emoji=True)))
    ]
    listings = page.items[:MAX_LISTINGS]
    if listings:
        total_pages = max(page.total_pages, page.current_page)
        total_rows = max(page.total_rows, len(page.items))
        noun = "listing" if total_rows == 1 else "listings"
        where = f"Page {page.current_page:,} of {total_pages:,} · {total_rows:,} {noun}"
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
        text = f"{name}, page {page.current_page:,} of {total_pages:,}: {summary}"
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
