"""Typed plain data for what the bot reads from Spark, parsed once at the edge.

Spark records vary: numbers arrive as strings, fields are missing or `null`, restricted values
come back as the mask `"********"`, codes carry stray spaces. The `parse_*` functions accept all
of that and never raise on an odd field; they raise `SparkProtocolError` only when a record is
not an object at all or lacks its `Id`.
"""

from __future__ import annotations

import datetime as dt
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
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float: not a number we can use
            return None
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
class ListingActivity:
    """What the `ContactActivity` expansion says about one listing: how many times the contact
    viewed it (or had it shared) and when last, each None when Spark did not say."""

    count: int | None = None
    last: dt.datetime | None = None  # aware; in the offset Spark gave (else UTC)


# -- the ContactActivity expansion ------------------------------------------------------------
# Spark's docs only say `_expand=ContactActivity` "will show the activity for each listing
# record" (spark_api.md §4.4); the shape is unconfirmed. So it is read defensively: found at the
# top of the record or inside `StandardFields`; a list of events (each maybe typed, dated, or
# counted) or one summary object (counts and last dates, maybe per kind); anything else is
# ignored. Never raises; bounded work whatever arrives.

CONTACT_ACTIVITY = "ContactActivity"
MAX_ACTIVITY_ITEMS = 500  # events read per listing, at most
MAX_ACTIVITY_DEPTH = 3
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100

_KIND_WORDS: Mapping[str, tuple[str, ...]] = {"viewed": ("view",), "shared": ("shar", "sent")}
_COUNT_KEYS: Mapping[str, tuple[str, ...]] = {
    "viewed": ("ViewCount", "ViewedCount", "TimesViewed", "ViewsCount", "Views"),
    "shared": ("ShareCount", "SharedCount", "TimesShared", "SharesCount", "Shares"),
}
_GENERIC_COUNT_KEYS = ("Count", "TotalCount", "Total")
_DATE_KEYS: Mapping[str, tuple[str, ...]] = {
    "viewed": ("LastViewed", "LastViewedTimestamp", "LastViewedDate", "ViewedTimestamp", "ViewedDate"),
    "shared": ("LastShared", "LastSharedTimestamp", "LastSharedDate", "SharedTimestamp", "SharedDate"),
}  # fmt: skip
_GENERIC_DATE_KEYS = (
    "LastActivity", "LastActivityTimestamp", "LastActivityDate", "ActivityTimestamp",
    "ActivityDate", "Timestamp", "CreatedTimestamp", "Date", "DateTime", "ModificationTimestamp",
)  # fmt: skip
_TYPE_KEYS = ("Type", "ActivityType", "EventType", "Event", "Action", "Activity")
_LIST_KEYS = ("Events", "Activities", "Activity", "History", "Results", "Items")
_NESTED_KIND_KEYS: Mapping[str, tuple[str, ...]] = {
    "viewed": ("Viewed", "Views"),
    "shared": ("Shared", "Shares"),
}


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO-8601 date or date-time as an aware datetime (naive ones are UTC); else None."""
    text = _text(value) if isinstance(value, str) else None  # numbers are not dates here
    if text is None or len(text) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _kind_matches(item: Mapping[str, Any], kind: ListKind | None) -> bool:
    """False only when the item names an activity type that is not `kind` ("Favorited")."""
    if kind is None:
        return True
    for key in _TYPE_KEYS:
        label = item.get(key)
        if isinstance(label, str) and label.strip():
            text = label.casefold()
            return any(word in text for word in _KIND_WORDS[kind])
    return True


def _first_count(item: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        number = _number(item.get(key))
        if number is not None and number >= 0:
            return int(number)
    return None


def _newest(item: Mapping[str, Any], keys: tuple[str, ...]) -> dt.datetime | None:
    newest: dt.datetime | None = None
    for key in keys:
        newest = _later(newest, parse_timestamp(item.get(key)))
    return newest


Tally = tuple[int | None, dt.datetime | None]


def _tally_list(items: list[Any], kind: ListKind | None, depth: int) -> Tally:
    """Events: each counts once (or its own count), the newest date wins."""
    count, last = 0, None
    for item in items[:MAX_ACTIVITY_ITEMS]:
        if isinstance(item, Mapping):
            if not _kind_matches(item, kind):
                continue
            sub_count, sub_last = _tally(item, kind, depth + 1)
            count += 1 if sub_count is None else sub_count
            last = _later(last, sub_last)
        elif (moment := parse_timestamp(item)) is not None:
            count, last = count + 1, _later(last, moment)
    return count, last


def _tally_object(item: Mapping[str, Any], kind: ListKind | None, depth: int) -> Tally:
    """One summary object: counts and dates for `kind` first, then generic ones, then nested."""
    kinds: tuple[str, ...] = (kind,) if kind else ("viewed", "shared")
    count = _first_count(item, tuple(k for name in kinds for k in _COUNT_KEYS[name]))
    last = _newest(item, tuple(k for name in kinds for k in _DATE_KEYS[name]))
    if count is None:
        count = _first_count(item, _GENERIC_COUNT_KEYS)
    if last is None:
        last = _newest(item, _GENERIC_DATE_KEYS)
    nested_keys = [k for name in kinds for k in _NESTED_KIND_KEYS[name]] + list(_LIST_KEYS)
    for key in nested_keys:
        value = item.get(key)
        if count is not None and last is not None:
            break
        if isinstance(value, (list, Mapping)):
            sub_count, sub_last = _tally(value, kind, depth + 1)
            count = count if count is not None else sub_count
            last = last or sub_last
    return count, last


def _tally(value: Any, kind: ListKind | None, depth: int = 0) -> Tally:
    if depth > MAX_ACTIVITY_DEPTH:
        return None, None
    if isinstance(value, list):
        return _tally_list(value, kind, depth)
    if isinstance(value, Mapping):
        if not _kind_matches(value, kind):
            return None, None
        return _tally_object(value, kind, depth)
    return None, None


def parse_contact_activity(
    record: Mapping[str, Any], kind: ListKind | None
) -> ListingActivity | None:
    """The `ContactActivity` of a listing record (top level or in `StandardFields`), or None
    when it is absent, masked or says nothing we can read."""
    value = record.get(CONTACT_ACTIVITY)
    fields = record.get("StandardFields")
    if value is None and isinstance(fields, Mapping):
        value = fields.get(CONTACT_ACTIVITY)
    count, last = _tally(value, kind)
    if not count and last is None:
        return None
    return ListingActivity(count=count or None, last=last)


MarketState = Literal["active", "pending", "off_market", "unknown"]

# MlsStatus is an MLS-specific list (spark_api.md §5); these words decide the state, first match
# wins: "Inactive" is off the market although it contains "active".
OFF_MARKET_WORDS = (
    "inactive", "closed", "sold", "expired", "withdrawn", "cancel", "terminated", "leased",
    "off market", "off-market", "rented", "deleted",
)  # fmt: skip
PENDING_WORDS = ("pending", "under contract")
ACTIVE_WORDS = ("coming soon", "contingent", "new", "price change", "back on market")


def market_state(status: str | None) -> MarketState:
    """Whether an `MlsStatus` means the listing is still for sale, pending, or off the market.

    "Active Under Contract" counts as active (the MLS still lists it as active); "Pending" and
    "Under Contract" are pending; closed, sold, expired, withdrawn, cancelled… are off the market.
    """
    text = " ".join((status or "").casefold().split())
    if not text:
        return "unknown"
    if any(word in text for word in OFF_MARKET_WORDS):
        return "off_market"
    if "active" in text:
        return "active"
    if any(word in text for word in PENDING_WORDS):
        return "pending"
    if any(word in text for word in ACTIVE_WORDS):
        return "active"
    return "unknown"


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
    activity: ListingActivity | None = None  # from `_expand=ContactActivity`, when Spark sent it

    @property
    def market(self) -> MarketState:
        return market_state(self.status)

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


def parse_listing(record: Any, kind: ListKind | None = None) -> Listing:
    """A listing record; `kind` says which list it came from, for its `ContactActivity`."""
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
        activity=parse_contact_activity(record, kind),
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
