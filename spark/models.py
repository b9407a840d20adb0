"""Typed plain data for what the bot reads from Spark, parsed once at the edge.

Spark records vary: numbers arrive as strings, fields are missing or `null`, restricted values
come back as the mask `"********"`, codes carry stray spaces. The `parse_*` functions accept all
of that and never raise on an odd field; they raise `SparkProtocolError` only when a record is
not an object at all or lacks its `Id`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from spark.errors import SparkProtocolError

MASK = "********"
T = TypeVar("T")

ListKind = Literal["viewed", "shared"]  # which listings of a contact: viewed or shared


def _text(value: Any) -> str | None:
    """A trimmed string, or None for missing, empty, masked or non-scalar values."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    if not text or text == MASK:
        return None
    return text


def _number(value: Any) -> float | None:
    """A finite float from a number or numeric string ("450000.0", "1,250"); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _text(value)
        if text is None:
            return None
        try:
            number = float(text.replace(",", "").replace("$", ""))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int:
    """A non-negative integer counter; anything unreadable counts as 0."""
    number = _number(value)
    return max(0, int(number)) if number is not None else 0


def _require_record(record: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise SparkProtocolError(f"Spark returned a {what} that is not an object")
    return record


@dataclass(frozen=True)
class Contact:
    id: str
    display_name: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: tuple[str, ...] = ()


def parse_contact(record: Any) -> Contact:
    record = _require_record(record, "contact")
    contact_id = _text(record.get("Id"))
    if contact_id is None:
        raise SparkProtocolError("Spark returned a contact without an Id")
    given = _text(record.get("GivenName"))
    family = _text(record.get("FamilyName"))
    display = _text(record.get("DisplayName")) or " ".join(p for p in (given, family) if p)
    email = _text(record.get("PrimaryEmail"))
    tags_raw = record.get("Tags")
    tags = tuple(t for t in (_text(x) for x in tags_raw) if t) if isinstance(tags_raw, list) else ()
    return Contact(
        id=contact_id,
        display_name=display or email or "(no name)",
        given_name=given,
        family_name=family,
        email=email,
        phone=_text(record.get("PrimaryPhoneNumber")),
        tags=tags,
    )


@dataclass(frozen=True)
class ActivitySummary:
    """The six running totals of Contacts: Activity."""

    manual_emails_sent: int = 0
    manual_emails_opened: int = 0
    subscription_emails_sent: int = 0
    subscription_emails_opened: int = 0
    listings_viewed: int = 0
    listings_shared: int = 0


SUMMARY_FIELDS = {
    "manual_emails_sent": "ManualEmailsSent",
    "manual_emails_opened": "ManualEmailsOpened",
    "subscription_emails_sent": "SubscriptionEmailsSent",
    "subscription_emails_opened": "SubscriptionEmailsOpened",
    "listings_viewed": "ListingsViewed",
    "listings_shared": "ListingsShared",
}


def parse_activity_summary(record: Any) -> ActivitySummary:
    record = _require_record(record, "activity summary")
    return ActivitySummary(
        **{attr: _count(record.get(key)) for attr, key in SUMMARY_FIELDS.items()}
    )


@dataclass(frozen=True)
class Listing:
    id: str
    mls_number: str | None = None
    status: str | None = None
    property_type: str | None = None
    price: float | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    beds: float | None = None
    baths: float | None = None
    area: float | None = None
    year_built: int | None = None
    photo_url: str | None = None
    thumb_url: str | None = None

    @property
    def address(self) -> str:
        """One line: street, then "City, ST 12345"; whatever parts are known."""
        locality = ", ".join(
            p for p in (self.city, " ".join(p for p in (self.state, self.postal_code) if p)) if p
        )
        line = ", ".join(p for p in (self.street, locality) if p)
        return line or (f"MLS #{self.mls_number}" if self.mls_number else "Address not available")


STREET_PARTS = (
    "StreetNumber",
    "StreetDirPrefix",
    "StreetName",
    "StreetSuffix",
    "StreetDirSuffix",
    "StreetAdditionalInfo",
)
LISTING_SELECT = (
    "ListingKey,ListingId,MlsStatus,PropertyType,ListPrice,UnparsedFirstLineAddress,"
    + ",".join(STREET_PARTS)
    + ",City,StateOrProvince,PostalCode,BedsTotal,BathsTotal,BuildingAreaTotal,YearBuilt"
)


def street_line(fields: Mapping[str, Any]) -> str | None:
    """The street line: `UnparsedFirstLineAddress`, else built from the address parts.

    Real records often carry only the parts (StreetNumber, StreetDirPrefix, StreetName,
    StreetSuffix, StreetDirSuffix, StreetAdditionalInfo; spark_api.md §5, FBS's Ruby fixtures),
    any of them null or masked. Without a street name the parts say nothing useful.
    """
    unparsed = _text(fields.get("UnparsedFirstLineAddress"))
    if unparsed:
        return unparsed
    parts = {name: _text(fields.get(name)) for name in STREET_PARTS}
    if not parts["StreetName"]:
        return None
    return " ".join(part for part in parts.values() if part)


def _primary_photo(photos: Any) -> Mapping[str, Any] | None:
    if not isinstance(photos, list):
        return None
    candidates = [p for p in photos if isinstance(p, Mapping)]
    for photo in candidates:
        if photo.get("Primary") is True:
            return photo
    return candidates[0] if candidates else None


def _url(value: Any) -> str | None:
    text = _text(value)
    return text if text and text.startswith(("https://", "http://")) else None


def parse_listing(record: Any) -> Listing:
    record = _require_record(record, "listing")
    fields = record.get("StandardFields")
    fields = fields if isinstance(fields, Mapping) else {}
    listing_id = _text(record.get("Id")) or _text(fields.get("ListingKey"))
    if listing_id is None:
        raise SparkProtocolError("Spark returned a listing without an Id")
    photo = _primary_photo(fields.get("Photos")) or {}
    year = _number(fields.get("YearBuilt"))
    return Listing(
        id=listing_id,
        mls_number=_text(fields.get("ListingId")),
        status=_text(fields.get("MlsStatus")),
        property_type=_text(fields.get("PropertyType")),
        price=_number(fields.get("ListPrice")),
        street=street_line(fields),
        city=_text(fields.get("City")),
        state=_text(fields.get("StateOrProvince")),
        postal_code=_text(fields.get("PostalCode")),
        beds=_number(fields.get("BedsTotal")),
        baths=_number(fields.get("BathsTotal")),
        area=_number(fields.get("BuildingAreaTotal")),
        year_built=int(year) if year else None,
        photo_url=_url(photo.get("Uri300"))
        or _url(photo.get("Uri640"))
        or _url(photo.get("UriThumb")),
        thumb_url=_url(photo.get("UriThumb")) or _url(photo.get("Uri300")),
    )


@dataclass(frozen=True)
class Account:
    """The Flexmls user a token belongs to (`/v1/my/account`)."""

    id: str
    name: str
    email: str | None = None  # the primary address (else the first one)
    office: str | None = None
    emails: tuple[str, ...] = ()  # every address on the account, the primary first


def _account_emails(value: Any) -> tuple[str, ...]:
    """`Emails` (a list of `{Address, Primary}`): the addresses, primary first, no repeats."""
    if not isinstance(value, list):
        return ()
    primary: list[str] = []
    others: list[str] = []
    for item in value:
        address = _text(item.get("Address")) if isinstance(item, Mapping) else None
        if address is None:
            continue
        (primary if item.get("Primary") is True else others).append(address)
    return tuple(dict.fromkeys(primary + others))


def parse_account(record: Any) -> Account:
    record = _require_record(record, "account")
    account_id = _text(record.get("Id"))
    if account_id is None:
        raise SparkProtocolError("Spark returned an account without an Id")
    emails = _account_emails(record.get("Emails"))
    email = emails[0] if emails else None
    return Account(
        id=account_id,
        name=_text(record.get("Name")) or email or account_id,
        email=email,
        # spark_api.md §9: /v1/my/account has `Office` (and `OfficeId`), not `OfficeName`.
        office=_text(record.get("Office")) or _text(record.get("OfficeName")),
        emails=emails,
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results plus Spark's `Pagination` fields (1-based pages)."""

    items: tuple[T, ...]
    current_page: int = 1
    page_size: int = 0
    total_rows: int = 0
    total_pages: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_next(self) -> bool:
        return self.current_page < self.total_pages

    @property
    def has_prev(self) -> bool:
        return self.current_page > 1


def parse_page(
    results: list[Any], pagination: Any, parse: Callable[[Any], T], *, page: int, limit: int
) -> Page[T]:
    """Build a `Page`; when Spark omits `Pagination`, infer what can be inferred."""
    items = tuple(parse(r) for r in results)
    if isinstance(pagination, Mapping):
        total_rows = _count(pagination.get("TotalRows"))
        page_size = _count(pagination.get("PageSize")) or limit
        total_pages = _count(pagination.get("TotalPages"))
        if not total_pages and total_rows:
            total_pages = -(-total_rows // page_size)
        current = _count(pagination.get("CurrentPage")) or page
    else:
        total_rows = (page - 1) * limit + len(items)
        page_size, current = limit, page
        total_pages = page if len(items) < limit else page + 1
    return Page(
        items=items,
        current_page=current,
        page_size=page_size,
        total_rows=total_rows,
        total_pages=total_pages,
    )
