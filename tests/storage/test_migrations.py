"""Migrations: the schema from an empty database, and re-applying is a no-op."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlite_utils import Database

from storage.migrations import MIGRATION_SET, apply_migrations, migrations

EXPECTED_COLUMNS = {
    "spark_connections": [
        "team_id",
        "user_id",
        "access_token",
        "refresh_token",
        "expires_at",
        "spark_user_id",
        "spark_user_name",
        "kind",
        "status",
        "connected_at",
        "updated_at",
    ],
    "oauth_states": ["state_id", "team_id", "user_id", "expires_at"],
    "recent_lookups": [
        "team_id",
        "user_id",
        "contact_id",
        "display_name",
        "query",
        "looked_up_at",
    ],
    "contact_cache": ["team_id", "user_id", "query", "contact_id", "cached_at"],
    "activity_snapshots": [
        "contact_id",
        "day",
        "manual_emails_sent",
        "manual_emails_opened",
        "subscription_emails_sent",
        "subscription_emails_opened",
        "listings_viewed",
        "listings_shared",
        "recorded_at",
    ],
    "digest_subscriptions": [
        "id",
        "team_id",
        "user_id",
        "channel_id",
        "local_time",
        "timezone",
        "scope",
        "created_at",
        "paused",
    ],
    "digest_deliveries": [
        "subscription_id",
        "local_date",
        "state",
        "claimed_at",
        "lease_expires_at",
        "delivered_at",
        "message_ts",
        "late",
        "failed_contacts",
        "posting_at",
        "outcome",
        "entries",
        "claimed_by",
    ],
    "slack_events": ["event_id", "seen_at"],
    "first_lookups": [
        "team_id",
        "user_id",
        "contact_id",
        "local_day",
        "seen_at",
        "manual_emails_sent",
        "manual_emails_opened",
        "subscription_emails_sent",
        "subscription_emails_opened",
        "listings_viewed",
        "listings_shared",
    ],

    "alert_watches": ["team_id", "user_id", "contact_id", "display_name", "created_at",
                      "snoozed_until", "stopped", "source", "access", "next_check_at",
                      "last_checked_at", "baseline_views", "baseline_at"],
    "alert_pulses": ["contact_id", "last_views", "last_growth_at", "quiet_views", "quiet_at",
                     "checked_at", "band", "last_opens", "last_manual_opens", "active_at",
                     "known_since", "back_from", "back_until", "back_views", "back_opens",
                     "opened_from", "opened_base"],
    "alert_pauses": ["team_id", "user_id", "token_key", "reason", "paused_at", "told"],
    "alert_deliveries": ["team_id", "user_id", "contact_id", "kind", "window_start",
                         "display_name", "baseline_views", "shown_views", "state", "claimed_at",
                         "lease_expires_at", "claimed_by", "posting_at", "resent", "channel", "ts",
                         "posted_at", "updated_at", "outcome", "opens", "spell_end"],
    "alert_settings": ["team_id", "user_id", "enabled", "quiet_start", "quiet_end", "threshold",
                       "updated_at", "email_opens", "auto_watch"],
}  # fmt: skip

EXPECTED_PKS = {
    "spark_connections": ["team_id", "user_id"],
    "oauth_states": ["state_id"],
    "recent_lookups": ["team_id", "user_id", "contact_id"],
    "contact_cache": ["team_id", "user_id", "query"],
    "activity_snapshots": ["contact_id", "day"],
    "digest_subscriptions": ["id"],
    "digest_deliveries": ["subscription_id", "local_date"],
    "slack_events": ["event_id"],
    "first_lookups": ["team_id", "user_id", "contact_id", "local_day"],
    "alert_watches": ["team_id", "user_id", "contact_id"],
    "alert_pulses": ["contact_id"],
    "alert_pauses": ["team_id", "user_id"],
    "alert_deliveries": ["team_id", "user_id", "contact_id", "kind", "window_start"],
    "alert_settings": ["team_id", "user_id"],
}

EXPECTED_INDEXES = {
    "spark_connections": [["expires_at"]],
    "oauth_states": [["expires_at"]],
    "recent_lookups": [["team_id", "user_id", "looked_up_at"]],
    "contact_cache": [["cached_at"]],
    "digest_subscriptions": [["team_id", "user_id"]],
    "slack_events": [["seen_at"]],
    "first_lookups": [["seen_at"]],
    "alert_watches": [["stopped", "next_check_at"], ["team_id", "user_id", "stopped", "source"]],
    "alert_deliveries": [["claimed_at"]],
}


@pytest.fixture
def empty_db() -> Iterator[Database]:
    database = Database(sqlite3.connect(":memory:", isolation_level=None))
    yield database
    database.close()


def test_applies_to_an_empty_database_creating_every_table(empty_db: Database) -> None:
    apply_migrations(empty_db)
    internal = {migrations.migrations_table, "sqlite_sequence"}
    tables = set(empty_db.table_names()) - internal
    assert tables == set(EXPECTED_COLUMNS)


@pytest.mark.parametrize("table", sorted(EXPECTED_COLUMNS))
def test_table_has_exactly_the_expected_columns_and_primary_key(
    empty_db: Database, table: str
) -> None:
    apply_migrations(empty_db)
    assert [c.name for c in empty_db.table(table).columns] == EXPECTED_COLUMNS[table]
    assert empty_db.table(table).pks == EXPECTED_PKS[table]


@pytest.mark.parametrize("table", sorted(EXPECTED_INDEXES))
def test_queries_have_indexes(empty_db: Database, table: str) -> None:
    apply_migrations(empty_db)
    indexed = [index.columns for index in empty_db.table(table).indexes]
    for columns in EXPECTED_INDEXES[table]:
        assert columns in indexed


def test_deliveries_reference_subscriptions(empty_db: Database) -> None:
    apply_migrations(empty_db)
    (fk,) = empty_db.table("digest_deliveries").foreign_keys
    assert (fk.column, fk.other_table, fk.other_column) == (
        "subscription_id",
        "digest_subscriptions",
        "id",
    )


def test_records_each_migration_once(empty_db: Database) -> None:
    apply_migrations(empty_db)
    assert [m.name for m in migrations.applied(empty_db)] == [
        "m001_initial",
        "m002_delivery_posting",
        "m003_delivery_owner",
        "m004_subscription_paused",
        "m005_first_lookups",
        "m006_alerts",
        "m007_alert_settings",
        "m008_alert_kinds",
        "m009_auto_watch",
    ]
    assert migrations.pending(empty_db) == []


def test_applying_twice_is_a_no_op(empty_db: Database) -> None:
    apply_migrations(empty_db)
    schema = empty_db.schema
    applied = empty_db.execute("SELECT * FROM _sqlite_migrations").fetchall()
    apply_migrations(empty_db)
    migrations.apply(empty_db)
    assert empty_db.schema == schema
    assert empty_db.execute("SELECT * FROM _sqlite_migrations").fetchall() == applied


def test_migration_set_is_named_for_the_app(empty_db: Database) -> None:
    apply_migrations(empty_db)
    sets = {r[0] for r in empty_db.execute("SELECT migration_set FROM _sqlite_migrations")}
    assert sets == {MIGRATION_SET} == {"activity_bot"}


def test_migrations_are_numbered_in_order(empty_db: Database) -> None:
    names = [m.name for m in migrations.pending(empty_db)]
    assert names == sorted(names)
    assert all(name[0] == "m" and name[1:4].isdigit() for name in names)


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("spark_connections", {"kind": "robot"}),
        ("spark_connections", {"status": "weird"}),
    ],
)
def test_check_constraints_reject_unknown_values(
    empty_db: Database, table: str, row: dict[str, str]
) -> None:
    apply_migrations(empty_db)
    base = {
        "team_id": "T",
        "user_id": "U",
        "access_token": "x",
        "kind": "oauth",
        "status": "ok",
        "connected_at": "t",
        "updated_at": "t",
    }
    with pytest.raises(sqlite3.IntegrityError):
        empty_db.table(table).insert({**base, **row})
