"""`_expand=ContactActivity` on the activity listings: its shape is unconfirmed (spark_api.md
§4.4), so every plausible shape is read, and anything else is ignored without an error."""

from __future__ import annotations

import datetime as dt

import pytest

from spark.models import (
    ListingActivity,
    market_state,
    parse_contact_activity,
    parse_listing,
    parse_timestamp,
)

ID = "20200101000000000000000001"
MDT = dt.timezone(dt.timedelta(hours=-6))
LATE = dt.datetime(2026, 11, 12, 18, 5, 0, tzinfo=MDT)
EARLY = dt.datetime(2026, 10, 2, 9, 0, 0, tzinfo=MDT)


def record(activity: object, *, inside: bool = False) -> dict[str, object]:
    fields: dict[str, object] = {"ListPrice": 450000}
    if inside:
        fields["ContactActivity"] = activity
        return {"Id": ID, "StandardFields": fields}
    return {"Id": ID, "StandardFields": fields, "ContactActivity": activity}


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        # a list of events, newest anywhere
        (
            [
                {"Type": "Viewed", "Timestamp": "2026-10-02T09:00:00-06:00"},
                {"Type": "Viewed", "Timestamp": "2026-11-12T18:05:00-06:00"},
                {"Type": "Viewed", "Timestamp": "2026-11-01T10:00:00-06:00"},
            ],
            ListingActivity(3, LATE),
        ),
        # events of other kinds do not count
        (
            [
                {"ActivityType": "ListingViewed", "CreatedTimestamp": "2026-11-12T18:05:00-06:00"},
                {"ActivityType": "ListingShared", "CreatedTimestamp": "2026-12-01T10:00:00-06:00"},
                {"ActivityType": "Favorited", "CreatedTimestamp": "2026-12-02T10:00:00-06:00"},
            ],
            ListingActivity(1, LATE),
        ),
        # untyped events and bare timestamps
        (
            ["2026-10-02T09:00:00-06:00", {"Date": "2026-11-12T18:05:00-06:00"}],
            ListingActivity(2, LATE),
        ),
        # one summary object, kind-specific names
        ({"ViewCount": 3, "LastViewed": "2026-11-12T18:05:00-06:00"}, ListingActivity(3, LATE)),
        (
            {"TimesViewed": "3", "LastViewedTimestamp": "2026-11-12T18:05:00-06:00"},
            ListingActivity(3, LATE),
        ),
        # generic names
        ({"Count": 4, "LastActivity": "2026-11-12T18:05:00-06:00"}, ListingActivity(4, LATE)),
        # per-kind nested objects and nested event lists
        (
            {"Viewed": {"Count": 2, "Last": None, "Timestamp": "2026-11-12T18:05:00-06:00"}},
            ListingActivity(2, LATE),
        ),
        (
            {"Events": [{"Type": "Viewed", "Timestamp": "2026-11-12T18:05:00-06:00"}]},
            ListingActivity(1, LATE),
        ),
        # a count without a date, a date without a count
        ({"ViewCount": 7}, ListingActivity(7, None)),
        ({"LastViewed": "2026-11-12T18:05:00-06:00"}, ListingActivity(None, LATE)),
        # a date-only value is midnight UTC
        (
            {"LastViewed": "2026-11-12"},
            ListingActivity(None, dt.datetime(2026, 11, 12, tzinfo=dt.UTC)),
        ),
        # events that carry their own counts
        (
            [{"Count": 2, "Timestamp": "2026-10-02T09:00:00-06:00"}, {"Count": 3}],
            ListingActivity(5, EARLY),
        ),
    ],
)
def test_plausible_shapes_give_the_count_and_the_newest_date(activity, expected):
    assert parse_listing(record(activity), kind="viewed").activity == expected
    assert parse_listing(record(activity, inside=True), kind="viewed").activity == expected


def test_the_shared_list_counts_shares_not_views():
    events = [
        {"Type": "Shared", "Timestamp": "2026-11-12T18:05:00-06:00"},
        {"Type": "Viewed", "Timestamp": "2026-12-01T10:00:00-06:00"},
    ]
    assert parse_listing(record(events), kind="shared").activity == ListingActivity(1, LATE)
    summary = {"ViewCount": 9, "ShareCount": 2, "LastShared": "2026-11-12T18:05:00-06:00"}
    assert parse_listing(record(summary), kind="shared").activity == ListingActivity(2, LATE)


@pytest.mark.parametrize(
    "activity",
    [
        None,
        "********",
        "yesterday",
        42,
        True,
        [],
        {},
        [None, 7, "not a date", [], {"Type": "Favorited"}],
        {"ViewCount": -3, "LastViewed": "12/11/2026"},
        {"ViewCount": "many", "LastViewed": "********"},
        {"LastViewed": "0001-01-01T00:00:00Z"},
        {"LastViewed": "9999-12-31T23:59:59Z"},
        {"LastViewed": "2026-11-12T18:05:00-06:00" + "x" * 100},
        {"Type": "Shared", "Count": 3},
        [[[[[[{"Count": 1}]]]]]],
    ],
)
def test_absent_masked_or_malformed_activity_is_none_and_never_raises(activity):
    assert parse_listing(record(activity), kind="viewed").activity is None


def test_no_expansion_at_all_is_none():
    assert parse_listing({"Id": ID, "StandardFields": {}}).activity is None


def test_a_huge_event_list_is_read_only_so_far():
    events = [{"Type": "Viewed", "Timestamp": "2026-11-12T18:05:00-06:00"}] * 100_000
    activity = parse_contact_activity({"ContactActivity": events}, "viewed")
    assert activity is not None and activity.count == 500


def test_without_a_kind_every_event_counts():
    events = [{"Type": "Viewed"}, {"Type": "Shared"}]
    assert parse_contact_activity({"ContactActivity": events}, None) == ListingActivity(2, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-12T18:05:00-06:00", LATE),
        ("2026-11-12T18:05:00Z", dt.datetime(2026, 11, 12, 18, 5, tzinfo=dt.UTC)),
        ("2026-11-12T18:05:00", dt.datetime(2026, 11, 12, 18, 5, tzinfo=dt.UTC)),
        ("2026-11-12", dt.datetime(2026, 11, 12, tzinfo=dt.UTC)),
        (" 2026-11-12 ", dt.datetime(2026, 11, 12, tzinfo=dt.UTC)),
        ("1989-12-31", None),
        ("Nov 12", None),
        ("", None),
        (20261112, None),
        (None, None),
    ],
)
def test_timestamps(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Active", "active"),
        (" active ", "active"),
        ("Active Under Contract", "active"),
        ("Coming Soon", "active"),
        ("Contingent", "active"),
        ("Pending", "pending"),
        ("Under Contract", "pending"),
        ("Closed", "off_market"),
        ("Sold", "off_market"),
        ("Expired", "off_market"),
        ("Withdrawn", "off_market"),
        ("Cancelled", "off_market"),
        ("Canceled", "off_market"),
        ("Inactive", "off_market"),
        ("Off Market", "off_market"),
        ("Leased", "off_market"),
        ("", "unknown"),
        (None, "unknown"),
        ("Zoned", "unknown"),
    ],
)
def test_market_state_of_a_status(status, state):
    assert market_state(status) == state
