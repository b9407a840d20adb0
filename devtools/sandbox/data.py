"""The generated demo brokerage the sandbox serves.

`build_brokerage(seed)` deterministically builds two agents' accounts, their contacts
(namesakes, apostrophes, accents, missing e-mail/phone...), ~3,000 listings with the messy
value types Spark really returns, and per-contact activity that grows day by day:

* Each contact has an `ActivityProfile`: six base counters and daily increment rates.
  The counters for a date are `base + sum(daily increments from ACTIVITY_EPOCH to date)`,
  where each day's increments come from a seeded integer hash of (seed, contact, day). They
  never decrease, and opened <= sent holds for both e-mail kinds.
* The listings a contact viewed (or was shared) on a date are the first N entries of a seeded
  per-contact ordering of all listings, N being that day's counter; they are returned most
  recent first.

`cached_brokerage(seed)` memoises builds so many sandboxes in one process share one brokerage.
"""

from __future__ import annotations

import array
import datetime as dt
import functools
import hashlib
import random
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_SEED = 2026
DEMO_ACCOUNT_ID = "20190311152147663820000000"
SECOND_ACCOUNT_ID = "20170508184520217510000000"
ACTIVITY_EPOCH = dt.date(2026, 1, 1)
PHOTO_SIZES: Mapping[str, str] = {
    "UriThumb": "thumb",
    "Uri300": "300",
    "Uri640": "640",
    "Uri800": "800",
    "Uri1024": "1024",
    "Uri1280": "1280",
    "UriLarge": "large",
}
ACTIVITY_COUNTERS = (
    "manual_emails_sent",
    "manual_emails_opened",
    "subscription_emails_sent",
    "subscription_emails_opened",
    "listings_viewed",
    "listings_shared",
)
ACTIVITY_FIELDS = (
    "ManualEmailsSent",
    "ManualEmailsOpened",
    "SubscriptionEmailsSent",
    "SubscriptionEmailsOpened",
    "ListingsViewed",
    "ListingsShared",
)
CONTACT_TAGS = ("Buyer", "Seller", "IDX Lead", "Past Client", "Hot Lead", "Sphere", "Investor")

_DENVER = ZoneInfo("America/Denver")
_CHECKPOINT_DAYS = 64
_MASK = (1 << 64) - 1

_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "Michael", "Linda", "William", "Elizabeth", "David",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Margaret", "Mark",
    "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna",
    "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George",
    "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Laura", "Edward", "Sharon",
    "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy", "Gary", "Angela", "Nicholas",
    "Helen", "Eric", "Anna", "Jonathan", "Brenda", "Stephen", "Pamela", "Justin", "Nicole",
    "Scott", "Samantha", "Brandon", "Katherine", "Benjamin", "Christine", "Samuel", "Rachel",
    "Wei", "Aisha", "Mohammed", "Hiroshi", "Mei", "Carlos", "Sofia", "Diego", "Fatima", "Olga",
    "Dmitri", "Kwame", "Ngozi", "Luis", "Mateo", "Camila", "Raj", "Ananya", "Yuki", "Kenji",
    "Leila", "Omar", "Ingrid", "Lars", "Siobhan", "Declan", "Tariq", "Hana", "Andre", "Tyrone",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Wang", "Kim", "Shah",
    "Okafor", "Mensah", "Yamamoto", "Tanaka", "Kowalski", "Novak", "Petrov", "Ivanova", "Larsen",
    "Johansson", "Murphy", "Kelly", "Sullivan", "Fitzgerald", "Romero", "Castillo", "Alvarez",
    "Morales", "Reyes", "Cruz", "Gutierrez", "Bennett", "Hughes", "Foster", "Bryant", "Russell",
    "Griffin", "Hayes", "Myers", "Ford", "Hamilton", "Graham", "Wallace", "Cole", "West",
    "Jordan", "Reynolds", "Marshall", "Owens", "Harrison", "Gibson", "Stone", "Weaver", "Lynch",
)  # fmt: skip
_LOCALITIES = (
    "Denver", "Boulder", "Aurora", "Lakewood", "Littleton", "Golden", "Arvada", "Westminster",
    "Englewood", "Centennial", "Castle Rock", "Parker", "Longmont", "Broomfield", "Thornton",
    "Louisville", "Lafayette", "Fort Collins", "Highlands Ranch", "Evergreen",
)  # fmt: skip
_CITY_ZIPS: Mapping[str, tuple[str, ...]] = {
    "Denver": ("80202", "80203", "80205", "80206", "80209", "80210", "80211", "80218", "80220"),
    "Boulder": ("80301", "80302", "80303", "80304", "80305"),
    "Aurora": ("80010", "80011", "80012", "80013", "80014", "80015", "80016"),
    "Lakewood": ("80214", "80215", "80226", "80227", "80228", "80232"),
    "Littleton": ("80120", "80121", "80122", "80123", "80128"),
    "Golden": ("80401", "80403"),
    "Arvada": ("80002", "80003", "80004", "80005"),
    "Westminster": ("80030", "80031", "80234"),
    "Englewood": ("80110", "80111", "80112", "80113"),
    "Centennial": ("80015", "80016", "80112", "80121", "80122"),
    "Castle Rock": ("80104", "80108", "80109"),
    "Parker": ("80134", "80138"),
    "Longmont": ("80501", "80503", "80504"),
    "Broomfield": ("80020", "80023"),
    "Fort Collins": ("80521", "80524", "80525", "80526", "80528"),
}
_STREETS = (
    "Maple", "Oak", "Pine", "Cedar", "Elm", "Aspen", "Spruce", "Willow", "Birch", "Cherry",
    "Colfax", "Broadway", "Alameda", "Evans", "Yale", "Jewell", "Mississippi", "Louisiana",
    "Florida", "Kentucky", "Tennyson", "Lowell", "Federal", "Sheridan", "Wadsworth", "Kipling",
    "Quebec", "Holly", "Monaco", "Downing", "Marion", "Pearl", "Clarkson", "Washington",
    "Emerson", "Ogden", "Gilpin", "High", "Race", "Vine", "Columbine", "Larimer", "Blake",
)  # fmt: skip
_SUFFIXES = ("St", "Ave", "Blvd", "Dr", "Ct", "Way", "Ln", "Pl", "Cir", "Rd")
_CAPTIONS = (
    "Front exterior", "Kitchen", "Living room", "Primary bedroom", "Backyard", "Bathroom",
    "Dining room", "Mountain view", "Garage", "Basement",
)  # fmt: skip
_OFFICES = ("Front Range Realty", "Mile High Homes", "Summit Peak Properties", "Cherry Creek Group")
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
_AREA_CODES = ("303", "720", "970", "719", "983")


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Account:
    """An agent's Spark account (`/v1/my/account`)."""

    id: str
    name: str
    email: str
    office_name: str
    user_type: str = "Member"

    def to_json(self) -> dict[str, Any]:
        return {
            "ResourceUri": f"/v1/accounts/{self.id}",
            "Id": self.id,
            "Name": self.name,
            "UserType": self.user_type,
            "Emails": [
                {"Type": "Office", "Name": "Office", "Address": self.email, "Primary": True}
            ],
            # spark_api.md §9: the account carries `Office` and `OfficeId`, not `OfficeName`.
            "Office": self.office_name,
            "OfficeId": "2003" + self.id[4:],
        }


@dataclass(frozen=True)
class Contact:
    """A Flexmls contact; absent values are omitted from the JSON, as Spark does."""

    id: str
    owner_id: str
    display_name: str
    given_name: str | None
    family_name: str | None
    primary_email: str | None
    primary_phone: str | None
    home_locality: str
    home_region: str
    tags: tuple[str, ...]
    modification_timestamp: str

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "ResourceUri": f"/v1/contacts/{self.id}",
            "Id": self.id,
            "DisplayName": self.display_name,
            "GivenName": self.given_name,
            "FamilyName": self.family_name,
            "PrimaryEmail": self.primary_email,
            "PrimaryPhoneNumber": self.primary_phone,
            "HomeLocality": self.home_locality,
            "HomeRegion": self.home_region,
            "Tags": list(self.tags),
            "ModificationTimestamp": self.modification_timestamp,
        }
        return {k: v for k, v in record.items() if v is not None}


@dataclass(frozen=True)
class Photo:
    """One listing photo; URLs are built per request because they carry the host."""

    id: str
    listing_key: str
    number: int
    name: str
    caption: str
    primary: bool

    def to_json(self, base_url: str) -> dict[str, Any]:
        photo: dict[str, Any] = {
            "ResourceUri": f"/v1/listings/{self.listing_key}/photos/{self.id}",
            "Id": self.id,
            "Name": self.name,
            "Caption": self.caption,
            "Primary": self.primary,
        }
        for key, size in PHOTO_SIZES.items():
            photo[key] = f"{base_url}/photos/{self.listing_key}/{self.number}-{size}.png"
        return photo


@dataclass(frozen=True)
class Listing:
    """A listing record; `standard_fields` is shared, never mutate it (copy first)."""

    id: str
    standard_fields: Mapping[str, Any]
    photos: tuple[Photo, ...]

    def to_json(
        self,
        base_url: str,
        select: frozenset[str] | None = None,
        expand: str | None = None,
    ) -> dict[str, Any]:
        """Spark's listing shape. `select` keeps those StandardFields; `expand` is
        None, "PrimaryPhoto" (one-element Photos list) or "Photos" (all photos)."""
        if select is None:
            fields = dict(self.standard_fields)
        else:
            fields = {k: v for k, v in self.standard_fields.items() if k in select}
        if expand == "Photos":
            fields["Photos"] = [p.to_json(base_url) for p in self.photos]
        elif expand == "PrimaryPhoto":
            fields["Photos"] = [p.to_json(base_url) for p in self.photos if p.primary]
        return {"ResourceUri": f"/v1/listings/{self.id}", "Id": self.id, "StandardFields": fields}


@dataclass(frozen=True)
class ActivityProfile:
    """How a contact's counters start and grow. Rates are out of 65,536 / 256."""

    base: tuple[int, int, int, int, int, int]
    active_per_65536: int
    open_per_256: int
    max_views_per_day: int
    max_subscription_emails_per_day: int


@dataclass(frozen=True)
class ActivitySummary:
    """The six counters of `/v1/contacts/<Id>/activity` on one date."""

    manual_emails_sent: int
    manual_emails_opened: int
    subscription_emails_sent: int
    subscription_emails_opened: int
    listings_viewed: int
    listings_shared: int

    def to_json(self) -> dict[str, int]:
        return dict(zip(ACTIVITY_FIELDS, self.as_tuple(), strict=True))

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (
            self.manual_emails_sent,
            self.manual_emails_opened,
            self.subscription_emails_sent,
            self.subscription_emails_opened,
            self.listings_viewed,
            self.listings_shared,
        )


# --------------------------------------------------------------------------------------------
# The brokerage


@dataclass(eq=False)
class Brokerage:
    """Everything the sandbox serves. Data is immutable; only lazy caches fill in."""

    seed: int
    accounts: Mapping[str, Account]
    contacts: tuple[Contact, ...]
    listings: tuple[Listing, ...]
    profiles: Mapping[str, ActivityProfile]
    notable: Mapping[str, Contact]
    _contacts_by_id: dict[str, Contact] = field(default_factory=dict, init=False, repr=False)
    _contacts_by_owner: dict[str, tuple[Contact, ...]] = field(
        default_factory=dict, init=False, repr=False
    )
    _records: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _listings_by_key: dict[str, Listing] = field(default_factory=dict, init=False, repr=False)
    _contact_index: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _checkpoints: dict[str, list[tuple[int, ...]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _orderings: dict[tuple[str, str], array.array[int]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for index, contact in enumerate(self.contacts):
            self._contacts_by_id[contact.id] = contact
            self._records[contact.id] = contact.to_json()
            self._contact_index[contact.id] = index
        for account_id in self.accounts:
            self._contacts_by_owner[account_id] = tuple(
                c for c in self.contacts if c.owner_id == account_id
            )
        self._listings_by_key = {listing.id: listing for listing in self.listings}

    # -- contacts ------------------------------------------------------------------------

    def contact(self, contact_id: str) -> Contact | None:
        return self._contacts_by_id.get(contact_id)

    def contacts_for(self, account_id: str) -> tuple[Contact, ...]:
        """The account's contacts, in the order `/v1/contacts` lists them."""
        return self._contacts_by_owner.get(account_id, ())

    def contact_record(self, contact_id: str) -> dict[str, Any]:
        """The contact's Spark JSON (shared; copy before changing it)."""
        return self._records[contact_id]

    def contact_by_name(self, display_name: str, owner_id: str | None = None) -> list[Contact]:
        """Every contact whose DisplayName equals `display_name`, ignoring case."""
        wanted = display_name.casefold()
        return [
            c
            for c in self.contacts
            if c.display_name.casefold() == wanted and (owner_id is None or c.owner_id == owner_id)
        ]

    def tags_for(self, account_id: str) -> list[str]:
        return sorted({t for c in self.contacts_for(account_id) for t in c.tags})

    # -- listings ------------------------------------------------------------------------

    def listing(self, listing_key: str) -> Listing | None:
        return self._listings_by_key.get(listing_key)

    # -- activity ------------------------------------------------------------------------

    def activity(self, contact_id: str, day: dt.date) -> ActivitySummary:
        """The running totals for the contact at the end of `day`."""
        profile = self.profiles[contact_id]
        totals = list(profile.base)
        if day >= ACTIVITY_EPOCH:
            offset = day.toordinal() - ACTIVITY_EPOCH.toordinal()
            block = (offset + 1) // _CHECKPOINT_DAYS
            start = self._checkpoint(contact_id, block)
            extra = [0] * 6
            for d in range(block * _CHECKPOINT_DAYS, offset + 1):
                _add(extra, self._increments(contact_id, d))
            for i in range(6):
                totals[i] += start[i] + extra[i]
        cap = len(self.listings)
        totals[4] = min(totals[4], cap)
        totals[5] = min(totals[5], cap)
        return ActivitySummary(*totals)

    def activity_listings(
        self, contact_id: str, kind: str, day: dt.date, *, count: int | None = None
    ) -> list[Listing]:
        """Listings the contact viewed (`kind="viewed"`) or was shared (`"shared"`) by `day`,
        most recent first; the length equals that day's counter (or `count`, when activity was
        added on top of the generated data)."""
        if count is None:
            summary = self.activity(contact_id, day)
            count = summary.listings_viewed if kind == "viewed" else summary.listings_shared
        count = min(count, len(self.listings))
        ordering = self._ordering(contact_id, kind)
        return [self.listings[i] for i in reversed(ordering[:count])]

    def contact_activity(
        self, contact_id: str, kind: str, position: int, day: dt.date, now: dt.datetime
    ) -> list[dict[str, str]]:
        """The sandbox's guess at `_expand=ContactActivity` for one listing (Spark's shape is
        unconfirmed, spark_api.md §4.4): the contact's events on it, newest first, each
        `{"Type": "Viewed"|"Shared", "Timestamp": <ISO-8601, Denver offset>}`.

        `day` is the activity date the list was read for, `now` the clock (no event is later).
        `position` is the listing's place in the order of first views (0 = the oldest). The
        first event falls on the day the counter first passed `position` (before
        `ACTIVITY_EPOCH`, for the base counters, a day per position back); about one listing in
        three was seen again on later days, so the newest-first order by last event differs
        from Spark's order by first event.
        """
        column = 4 if kind == "viewed" else 5
        first = self._first_day(contact_id, column, position, day)
        h = _splitmix64(hash_text(f"{self.seed}:{contact_id}:{kind}:{position}"))
        days = [first]
        span = day.toordinal() - first.toordinal()
        for n in range(1 + (h & 0x3) if (h >> 2) % 3 == 0 and span > 0 else 0):
            days.append(first + dt.timedelta(days=1 + (h >> (8 + 8 * n)) % span))
        label = "Viewed" if kind == "viewed" else "Shared"
        events = []
        for when in sorted(set(days), reverse=True):
            # Activity days are the clock's (UTC) days, as for the counters; shown in Denver time.
            # The time of day depends only on the listing and the day: it never moves.
            g = _splitmix64(h ^ when.toordinal())
            midnight = dt.datetime.combine(when, dt.time(), dt.UTC)
            moment = midnight + dt.timedelta(seconds=g % 50_400 + 7 * 3600)
            if moment > now:  # nothing from the future: earlier that day instead
                moment = max(midnight, now - dt.timedelta(seconds=(g >> 20) % 7200))
            stamp = moment.astimezone(_DENVER).isoformat(timespec="seconds")
            events.append({"Type": label, "Timestamp": stamp})
        return events

    def _first_day(self, contact_id: str, column: int, position: int, day: dt.date) -> dt.date:
        """The first day whose running total for `column` exceeds `position` (binary search)."""
        base = self.profiles[contact_id].base[column]
        if position < base:
            return ACTIVITY_EPOCH - dt.timedelta(days=base - position)
        low, high = ACTIVITY_EPOCH.toordinal(), day.toordinal()
        while low < high:
            middle = (low + high) // 2
            if self.activity(contact_id, dt.date.fromordinal(middle)).as_tuple()[column] > position:
                high = middle
            else:
                low = middle + 1
        return dt.date.fromordinal(low)

    def _ordering(self, contact_id: str, kind: str) -> array.array[int]:
        """A seeded permutation of listing indexes (compact: 4 bytes per listing)."""
        key = (contact_id, kind)
        ordering = self._orderings.get(key)
        if ordering is None:
            rng = random.Random(f"{self.seed}:{contact_id}:{kind}")
            count = len(self.listings)
            ordering = array.array("I", rng.sample(range(count), count))
            self._orderings[key] = ordering
        return ordering

    def _checkpoint(self, contact_id: str, block: int) -> tuple[int, ...]:
        """Sum of the increments over the first `block * 64` days after the epoch."""
        points = self._checkpoints.setdefault(contact_id, [(0, 0, 0, 0, 0, 0)])
        while len(points) <= block:
            running = list(points[-1])
            first = (len(points) - 1) * _CHECKPOINT_DAYS
            for d in range(first, first + _CHECKPOINT_DAYS):
                _add(running, self._increments(contact_id, d))
            points.append(tuple(running))
        return points[block]

    def _increments(self, contact_id: str, day_offset: int) -> tuple[int, int, int, int, int, int]:
        profile = self.profiles[contact_id]
        if profile.active_per_65536 == 0:
            return (0, 0, 0, 0, 0, 0)
        index = self._contact_index[contact_id]
        h = _splitmix64((self.seed * 1_000_003 + index) * 1_000_033 + day_offset)
        if (h & 0xFFFF) >= profile.active_per_65536:
            return (0, 0, 0, 0, 0, 0)
        views = ((h >> 16) & 0xFF) % (profile.max_views_per_day + 1)
        shared = 1 if ((h >> 24) & 0xF) >= 13 else 0
        subs_sent = ((h >> 28) & 0xF) % (profile.max_subscription_emails_per_day + 1)
        manual_sent = 1 if ((h >> 32) & 0x7) == 0 else 0
        bits = h >> 35
        subs_opened = 0
        for _ in range(subs_sent):
            subs_opened += (bits & 0xFF) < profile.open_per_256
            bits >>= 8
        manual_opened = manual_sent if (bits & 0xFF) < profile.open_per_256 else 0
        return (manual_sent, manual_opened, subs_sent, subs_opened, views, shared)


def _add(acc: list[int], inc: tuple[int, ...]) -> None:
    for i, v in enumerate(inc):
        acc[i] += v


def hash_text(text: str) -> int:
    """A stable 64-bit number from text (Python's own `hash` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


# --------------------------------------------------------------------------------------------
# Generation


@dataclass(frozen=True)
class _Person:
    given: str | None
    family: str | None
    display: str
    activity: str = "random"  # random | zero | heavy | hot
    email: bool = True
    phone: bool = True
    tags: tuple[str, ...] | None = None
    notable: str | None = None


_AVERY_SPECIALS = (
    _Person("Jane", "Doe", "Jane Doe", "hot", tags=("Buyer", "Hot Lead"), notable="jane_doe"),
    _Person("Jane", "Doe", "Jane Doe", "random", tags=("Seller",), notable="jane_doe_2"),
    _Person("Jane", "Doerr", "Jane Doerr", notable="jane_doerr"),
    _Person("Janet", "Doe", "Janet Doe", notable="janet_doe"),
    _Person("Seán", "O'Brien", "Seán O'Brien", "hot", notable="sean_obrien"),
    _Person("Marco", "D'Angelo", "Marco D'Angelo", notable="dangelo"),
    _Person("José", "Núñez", "José Núñez", notable="jose_nunez"),
    _Person("Zoë", "Müller", "Zoë Müller", notable="zoe_muller"),
    _Person("Renée", "Lefèvre", "Renée Lefèvre", notable="renee_lefevre"),
    _Person("Mary-Kate", "Smith-Jones", "Mary-Kate Smith-Jones", notable="hyphenated"),
    _Person("Prince", None, "Prince", notable="one_word"),
    _Person("Harold", "Finch", "Harold Finch", email=False, notable="no_email"),
    _Person("Lena", "Ortiz", "Lena Ortiz", phone=False, notable="no_phone"),
    _Person("Quinn", "Stillwater", "Quinn Stillwater", "zero", notable="zero_activity"),
    _Person("Priya", "Patel", "Priya Patel", "heavy", tags=("Buyer", "IDX Lead"), notable="heavy_viewer"),
)  # fmt: skip

_DISPLAY_ONLY = _Person(None, None, "Chidi Okafor", notable="display_only")
# An accent and an apostrophe in one name ("zoe obrien" on a phone keyboard must find her).
_ACCENT_AND_APOSTROPHE = _Person("Zoë", "O'Brien", "Zoë O'Brien", notable="zoe_obrien")

_AVERY_CONTACTS = 300
_BLAKE_CONTACTS = 25
_LISTINGS = 3000


def build_brokerage(seed: int = DEFAULT_SEED) -> Brokerage:
    """Build the demo brokerage; the same seed always yields identical data."""
    rng = random.Random(seed)
    accounts = {
        DEMO_ACCOUNT_ID: Account(
            DEMO_ACCOUNT_ID, "Avery Agent", "avery.agent@example.com", "Front Range Realty"
        ),
        SECOND_ACCOUNT_ID: Account(
            SECOND_ACCOUNT_ID, "Blake Broker", "blake.broker@example.com", "Mile High Homes"
        ),
    }
    ids = _IdFactory(rng)
    emails: set[str] = {a.email for a in accounts.values()}
    phones: set[str] = set()

    people_avery = list(_AVERY_SPECIALS)
    taken = {p.display for p in people_avery}
    while len(people_avery) < _AVERY_CONTACTS:
        people_avery.append(_random_person(rng, taken))
    people_blake = [_random_person(rng, taken) for _ in range(_BLAKE_CONTACTS)]
    # Many real contacts carry only DisplayName (spark_api.md §9). Taking the last random
    # person's place keeps every random draw, and so the rest of the data, unchanged.
    people_avery[-1] = _DISPLAY_ONLY
    # Zoë O'Brien takes the place of the random person who sorts last: every other record keeps
    # its draws, and its place in the sorted list (which seeds its activity), except the few
    # specials sorting after that person (Zoë Müller).
    last = max(
        (i for i, p in enumerate(people_avery) if p.notable is None),
        key=lambda i: people_avery[i].display.casefold(),
    )
    people_avery[last] = _ACCENT_AND_APOSTROPHE

    contacts: list[Contact] = []
    profiles: dict[str, ActivityProfile] = {}
    notable: dict[str, Contact] = {}
    for owner, people in ((DEMO_ACCOUNT_ID, people_avery), (SECOND_ACCOUNT_ID, people_blake)):
        owned: list[Contact] = []
        for person in people:
            contact = _make_contact(rng, ids, owner, person, emails, phones)
            owned.append(contact)
            profiles[contact.id] = _make_profile(rng, person.activity)
            if person.notable:
                notable[person.notable] = contact
        owned.sort(key=lambda c: (c.display_name.casefold(), c.id))
        contacts.extend(owned)

    listings = tuple(_make_listing(rng, ids, i) for i in range(_LISTINGS))
    return Brokerage(
        seed=seed,
        accounts=accounts,
        contacts=tuple(contacts),
        listings=listings,
        profiles=profiles,
        notable=notable,
    )


MORE_CONTACTS_MAX = 5000


def with_more_contacts(brokerage: Brokerage, account_id: str, count: int) -> Brokerage:
    """A copy of `brokerage` with `count` more generated contacts for `account_id` (benchmarks
    that need a big book, e.g. 1,000 watched contacts).

    They come after every existing contact (`/v1/contacts` lists them last, unsorted), so the
    existing contacts keep their place and their data, activity included. Their names are new,
    their e-mails unique; they have no phone (the demo's phone numbers are few). The same
    brokerage, account and count always yield the same contacts.
    """
    if account_id not in brokerage.accounts:
        raise ValueError(f"unknown account {account_id!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MORE_CONTACTS_MAX:
        raise ValueError(f"count must be an integer from 1 to {MORE_CONTACTS_MAX}")
    rng = random.Random(f"{brokerage.seed}:more:{account_id}:{len(brokerage.contacts)}:{count}")
    ids = _IdFactory(rng)
    taken = {c.display_name for c in brokerage.contacts}
    emails = {c.primary_email for c in brokerage.contacts if c.primary_email}
    emails |= {a.email for a in brokerage.accounts.values()}
    phones = {c.primary_phone for c in brokerage.contacts if c.primary_phone}
    if len(taken) + count > len(_FIRST_NAMES) * len(_LAST_NAMES):
        raise ValueError("not enough distinct names for that many contacts")
    added: list[Contact] = []
    profiles = dict(brokerage.profiles)
    for _ in range(count):
        person = _random_person(rng, taken)
        person = _Person(person.given, person.family, person.display, phone=False)
        contact = _make_contact(rng, ids, account_id, person, emails, phones)
        profiles[contact.id] = _make_profile(rng, person.activity)
        added.append(contact)
    return Brokerage(
        seed=brokerage.seed,
        accounts=brokerage.accounts,
        contacts=(*brokerage.contacts, *added),
        listings=brokerage.listings,
        profiles=profiles,
        notable=brokerage.notable,
    )


@functools.lru_cache(maxsize=8)
def cached_brokerage(seed: int = DEFAULT_SEED) -> Brokerage:
    """`build_brokerage(seed)`, built once per seed per process."""
    return build_brokerage(seed)


class _IdFactory:
    """26-digit numeric ids shaped like Spark's: a timestamp, a sequence and a kind tag."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sequence = 0

    def make(self, kind: int, start_year: int = 2012, years: int = 13) -> str:
        self.sequence += 1
        moment = dt.datetime(start_year, 1, 1) + dt.timedelta(
            seconds=self.rng.randrange(0, years * 365 * 86400)
        )
        millis = self.rng.randrange(1000)
        return f"{moment:%Y%m%d%H%M%S}{millis:03d}{self.sequence:06d}{kind:03d}"


def _random_person(rng: random.Random, taken: set[str]) -> _Person:
    while True:
        given, family = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        display = f"{given} {family}"
        if display not in taken:
            taken.add(display)
            return _Person(given, family, display)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-"))


def _make_contact(
    rng: random.Random,
    ids: _IdFactory,
    owner: str,
    person: _Person,
    emails: set[str],
    phones: set[str],
) -> Contact:
    contact_id = ids.make(0)
    email = None
    if person.email:
        words = (person.given, person.family) if person.given else person.display.split()
        local = ".".join(_ascii(p).lower() for p in words if p)
        domain = rng.choice(_EMAIL_DOMAINS)
        email, n = f"{local}@{domain}", 1
        while email in emails:
            n += 1
            email = f"{local}{n}@{domain}"
        emails.add(email)
    phone = None
    if person.phone:
        while phone is None or phone in phones:
            phone = f"{rng.choice(_AREA_CODES)}-555-01{rng.randrange(100):02d}"
        phones.add(phone)
    if person.tags is not None:
        tags = person.tags
    else:
        tags = tuple(sorted(rng.sample(CONTACT_TAGS, rng.choice((0, 1, 1, 1, 2, 2, 3)))))
    return Contact(
        id=contact_id,
        owner_id=owner,
        display_name=person.display,
        given_name=person.given,
        family_name=person.family,
        primary_email=email,
        primary_phone=phone,
        home_locality=rng.choice(_LOCALITIES),
        home_region="CO",
        tags=tags,
        modification_timestamp=_timestamp(rng),
    )


def _make_profile(rng: random.Random, kind: str) -> ActivityProfile:
    if kind == "random":
        roll = rng.random()
        kind = "zero" if roll < 0.08 else "heavy" if roll < 0.12 else "normal"
    if kind == "zero":
        return ActivityProfile((0, 0, 0, 0, 0, 0), 0, 0, 0, 0)
    manual_sent = rng.randint(0, 30)
    subs_sent = rng.randint(0, 150)
    base = (
        manual_sent,
        int(manual_sent * rng.uniform(0.2, 0.95)),
        subs_sent,
        int(subs_sent * rng.uniform(0.1, 0.8)),
        rng.randint(300, 450) if kind == "heavy" else rng.randint(0, 120),
        rng.randint(20, 80) if kind == "heavy" else rng.randint(0, 40),
    )
    active = {"heavy": (0.3, 0.5), "hot": (0.7, 0.9)}.get(kind, (0.05, 0.3))
    return ActivityProfile(
        base=base,
        active_per_65536=int(rng.uniform(*active) * 65536),
        open_per_256=rng.randint(40, 230),
        max_views_per_day=8 if kind == "heavy" else 4 if kind == "hot" else 3,
        max_subscription_emails_per_day=2,
    )


def _real_shapes(fields: dict[str, Any], index: int) -> None:
    """Some listings in the shapes FBS's own fixtures show (spark_api.md §5): the address only
    in parts (no `UnparsedFirstLineAddress`), no `MlsStatus`. Chosen by index, not by the
    random stream, so the rest of the data does not move."""
    if index % 4 == 1:
        del fields["UnparsedFirstLineAddress"]
        fields["StreetDirSuffix"] = None
        fields["StreetAdditionalInfo"] = f"Unit {index % 9 + 1}" if index % 8 == 1 else None
    if index % 6 == 5:
        del fields["MlsStatus"]


def _timestamp(rng: random.Random, start: dt.datetime | None = None) -> str:
    begin = start or dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    moment = begin + dt.timedelta(seconds=rng.randrange(0, 500 * 86400))
    return moment.astimezone(_DENVER).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Address:
    city: str
    number: int
    direction: str
    street: str
    suffix: str

    @property
    def first_line(self) -> str:
        parts = (str(self.number), self.direction, self.street, self.suffix)
        return " ".join(p for p in parts if p)


def _make_listing(rng: random.Random, ids: _IdFactory, index: int) -> Listing:
    """One listing. The draws happen in a fixed order (key, type, address, price, rooms, then
    the fields in the order listed, then photos): change it and every later record moves."""
    key = ids.make(100, start_year=2020, years=6)
    property_type = rng.choices(("A", "B", "C", "D"), weights=(72, 10, 10, 8))[0]
    land = property_type == "C"
    address = _draw_address(rng)
    list_price = _draw_list_price(rng, land)
    beds, baths = _draw_rooms(rng, land)
    fields: dict[str, Any] = {
        "ListingKey": key,
        "ListingId": f"{rng.randrange(20, 27)}-{1000 + index}",
        "MlsStatus": rng.choices(
            ("Active", "Pending", "Active Under Contract", "Closed"), weights=(60, 10, 10, 20)
        )[0],
        "PropertyType": property_type + " " if rng.random() < 0.05 else property_type,
        "ListPrice": list_price,
        **_address_fields(rng, address),
        "BedsTotal": beds,
        "BathsTotal": baths,
        "BuildingAreaTotal": None if land else rng.randrange(600, 5200, 10),
        "YearBuilt": None if land else rng.randint(1890, 2025),
        "ListOfficeName": rng.choice(_OFFICES),
        "ModificationTimestamp": _timestamp(rng),
    }
    _real_shapes(fields, index)
    return Listing(id=key, standard_fields=fields, photos=_make_photos(rng, ids, key))


def _draw_address(rng: random.Random) -> _Address:
    city = rng.choice(tuple(_CITY_ZIPS))
    number = rng.randrange(100, 19999)
    direction = rng.choice(("", "", "N", "S", "E", "W"))
    street = rng.choice(_STREETS)
    suffix = rng.choice(_SUFFIXES)
    return _Address(city, number, direction, street, suffix)


def _address_fields(rng: random.Random, address: _Address) -> dict[str, Any]:
    """The address StandardFields; draws the postal code."""
    return {
        "StreetNumber": str(address.number),
        "StreetDirPrefix": address.direction or None,
        "StreetName": address.street,
        "StreetSuffix": address.suffix,
        "UnparsedFirstLineAddress": address.first_line,
        "City": address.city,
        "StateOrProvince": "CO",
        "PostalCode": rng.choice(_CITY_ZIPS[address.city]),
    }


def _draw_list_price(rng: random.Random, land: bool) -> Any:
    """A price as Spark may send it: mostly a float, sometimes a string, masked or absent."""
    price_value = round(rng.lognormvariate(13.2 if not land else 12.2, 0.45), -3)
    roll = rng.random()
    if roll < 0.05:
        return f"{price_value:.1f}"
    if roll < 0.065:
        return "********"
    if roll < 0.075:
        return None
    return float(price_value)


def _draw_rooms(rng: random.Random, land: bool) -> tuple[Any, Any]:
    """(BedsTotal, BathsTotal): None for land, now and then a string or missing."""
    beds: Any = None if land else rng.randint(1, 6)
    baths: Any = None if land else rng.choice((1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0))
    if beds is not None and rng.random() < 0.05:
        beds = str(beds)
    elif rng.random() < 0.03:
        beds = None
    roll = rng.random()
    if baths is not None and roll < 0.07:
        baths = f"{baths:g}"
    elif roll < 0.12:
        baths = None
    return beds, baths


def _make_photos(rng: random.Random, ids: _IdFactory, key: str) -> tuple[Photo, ...]:
    """None for about one listing in twelve, else one to six with one primary."""
    if rng.random() < 0.08:
        return ()
    count = rng.randint(1, 6)
    primary = 0 if rng.random() < 0.8 else rng.randrange(count)
    captions = rng.sample(_CAPTIONS[1:], count)
    captions[primary] = _CAPTIONS[0]
    return tuple(
        Photo(
            id=ids.make(200),
            listing_key=key,
            number=n + 1,
            name=f"Photo {n + 1}",
            caption=captions[n],
            primary=n == primary,
        )
        for n in range(count)
    )
