"""Schema, as numbered sqlite-utils migrations applied at start-up.

Add a change as a new `mNNN_...` function at the end; never edit one that has shipped.
Each migration runs inside `db.atomic()` (sqlite-utils does that), so it must not commit.

Conventions in the schema: timestamps are ISO-8601 UTC text (see `storage.db`), dates are
`YYYY-MM-DD`, booleans are 0/1 integers, Spark tokens are Fernet ciphertext, never plain text.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "activity_bot"

migrations = Migrations(MIGRATION_SET)


def _run(db: Database, *statements: str) -> None:
    for statement in statements:
        db.execute(statement)


@migrations()
def m001_initial(db: Database) -> None:
    _run(
        db,
        # Spark connection per (Slack team, Slack user); tokens are encrypted.
        """
        CREATE TABLE spark_connections (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            access_token TEXT NOT NULL,
            refresh_token TEXT,
            expires_at TEXT,
            spark_user_id TEXT,
            spark_user_name TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('oauth', 'personal')),
            status TEXT NOT NULL CHECK (status IN ('ok', 'broken')),
            connected_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (team_id, user_id)
        )
        """,
        "CREATE INDEX idx_spark_connections_expires_at ON spark_connections (expires_at)",
        # One-time OAuth `state` values, consumed by the callback.
        """
        CREATE TABLE oauth_states (
            state_id TEXT PRIMARY KEY,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX idx_oauth_states_expires_at ON oauth_states (expires_at)",
        # Recent lookups, one row per (team, user, contact), capped per user.
        """
        CREATE TABLE recent_lookups (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            query TEXT NOT NULL,
            looked_up_at TEXT NOT NULL,
            PRIMARY KEY (team_id, user_id, contact_id)
        )
        """,
        "CREATE INDEX idx_recent_lookups_user_time"
        " ON recent_lookups (team_id, user_id, looked_up_at)",
        # Normalised query -> contact id, per user (each token sees different contacts).
        """
        CREATE TABLE contact_cache (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            query TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            cached_at TEXT NOT NULL,
            PRIMARY KEY (team_id, user_id, query)
        )
        """,
        "CREATE INDEX idx_contact_cache_cached_at ON contact_cache (cached_at)",
        # Daily activity counters per contact, for "since yesterday" and trends.
        """
        CREATE TABLE activity_snapshots (
            contact_id TEXT NOT NULL,
            day TEXT NOT NULL,
            manual_emails_sent INTEGER NOT NULL,
            manual_emails_opened INTEGER NOT NULL,
            subscription_emails_sent INTEGER NOT NULL,
            subscription_emails_opened INTEGER NOT NULL,
            listings_viewed INTEGER NOT NULL,
            listings_shared INTEGER NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (contact_id, day)
        )
        """,
        # Daily digest subscriptions.
        """
        CREATE TABLE digest_subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so a stale id can't hit a new row
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            local_time TEXT NOT NULL,
            timezone TEXT NOT NULL,
            scope TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX idx_digest_subscriptions_user ON digest_subscriptions (team_id, user_id)",
        # One row per subscription per local day: the exactly-once ledger.
        """
        CREATE TABLE digest_deliveries (
            subscription_id INTEGER NOT NULL
                REFERENCES digest_subscriptions (id) ON DELETE CASCADE,
            local_date TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('claimed', 'delivered')),
            claimed_at TEXT NOT NULL,
            lease_expires_at TEXT,
            delivered_at TEXT,
            message_ts TEXT,
            late INTEGER NOT NULL DEFAULT 0,
            failed_contacts INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (subscription_id, local_date)
        )
        """,
        # Slack event ids already handled (Slack retries deliveries).
        """
        CREATE TABLE slack_events (
            event_id TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX idx_slack_events_seen_at ON slack_events (seen_at)",
    )


@migrations()
def m002_delivery_posting(db: Database) -> None:
    _run(
        db,
        # Set just before the digest is posted: a stale claim that got this far may already
        # have posted, so it is never taken over (at most once beats twice in a channel).
        "ALTER TABLE digest_deliveries ADD COLUMN posting_at TEXT",
        # "posted", or "skipped" (e.g. the subscriber must reconnect: nothing went out).
        "ALTER TABLE digest_deliveries ADD COLUMN outcome TEXT",
        # The digest's entries (JSON), so "More" can page through what was posted.
        "ALTER TABLE digest_deliveries ADD COLUMN entries TEXT",
    )


@migrations()
def m003_delivery_owner(db: Database) -> None:
    # Which process holds a claim, so a restarted bot can take over from a dead one at once
    # instead of waiting for the lease to run out.
    _run(db, "ALTER TABLE digest_deliveries ADD COLUMN claimed_by TEXT")


@migrations()
def m004_subscription_paused(db: Database) -> None:
    # 1 while the subscriber is disconnected from Flexmls: the delivery pass skips it, and
    # connecting again resumes it.
    _run(db, "ALTER TABLE digest_subscriptions ADD COLUMN paused INTEGER NOT NULL DEFAULT 0")


@migrations()
def m005_first_lookups(db: Database) -> None:
    _run(
        db,
        # The counters an agent saw at their first lookup of a contact on each of their local
        # days, so a later lookup that day can say "+2 viewed since 9:14". Kept two days.
        """
        CREATE TABLE first_lookups (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            local_day TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            manual_emails_sent INTEGER NOT NULL,
            manual_emails_opened INTEGER NOT NULL,
            subscription_emails_sent INTEGER NOT NULL,
            subscription_emails_opened INTEGER NOT NULL,
            listings_viewed INTEGER NOT NULL,
            listings_shared INTEGER NOT NULL,
            PRIMARY KEY (team_id, user_id, contact_id, local_day)
        )
        """,
        "CREATE INDEX idx_first_lookups_seen_at ON first_lookups (seen_at)",
    )


@migrations()
def m006_alerts(db: Database) -> None:
    _run(
        db,
        # "Active now" watches: one row per (team, agent, contact). `stopped` rows are kept (an
        # explicit "stop watching" must survive a later auto-watch); `source` is "manual" for now
        # ("auto", "tag:<Tag>" later); `access` is "own" or "workspace": the poller reads only
        # with the kind of access the watch was made with, never falling back to another.
        """
        CREATE TABLE alert_watches (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            snoozed_until TEXT,
            stopped INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT 'manual',
            access TEXT NOT NULL DEFAULT 'own' CHECK (access IN ('own', 'workspace')),
            next_check_at TEXT,
            last_checked_at TEXT,
            PRIMARY KEY (team_id, user_id, contact_id)
        )
        """,
        "CREATE INDEX idx_alert_watches_next_check ON alert_watches (stopped, next_check_at)",
        # What the poller knows of each contact between checks: the views counter at the last
        # check, when views last grew, and the counter at the last check that found it quiet.
        """
        CREATE TABLE alert_pulses (
            contact_id TEXT PRIMARY KEY,
            last_views INTEGER NOT NULL,
            last_growth_at TEXT,
            quiet_views INTEGER NOT NULL,
            quiet_at TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            band TEXT
        )
        """,
        # Agents whose polling is paused (their Flexmls access stopped working); `token_key` is
        # the fingerprint of the token that failed ("" when there was none), so a new connection
        # resumes polling; `told` once the agent got the one DM about it.
        """
        CREATE TABLE alert_pauses (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            token_key TEXT NOT NULL,
            reason TEXT NOT NULL,
            paused_at TEXT NOT NULL,
            told INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (team_id, user_id)
        )
        """,
        # The exactly-once ledger of alert DMs, like digest_deliveries: claimed with a lease,
        # "posting" just before chat.postMessage, "delivered" with the DM's channel and ts so
        # later activity updates that DM (chat.update). `kind` is "active" ("back", "opened"
        # later). What the DM says is stored with the claim, so a crashed post can be resent.
        """
        CREATE TABLE alert_deliveries (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'active',
            window_start TEXT NOT NULL,
            display_name TEXT NOT NULL,
            baseline_views INTEGER NOT NULL,
            shown_views INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('claimed', 'delivered')),
            claimed_at TEXT NOT NULL,
            lease_expires_at TEXT,
            claimed_by TEXT,
            posting_at TEXT,
            resent INTEGER NOT NULL DEFAULT 0,
            channel TEXT,
            ts TEXT,
            posted_at TEXT,
            updated_at TEXT,
            outcome TEXT,
            PRIMARY KEY (team_id, user_id, contact_id, kind, window_start)
        )
        """,
        "CREATE INDEX idx_alert_deliveries_claimed_at ON alert_deliveries (claimed_at)",
    )


@migrations()
def m007_alert_settings(db: Database) -> None:
    _run(
        db,
        # Each agent's alert settings; no row means the defaults (on, quiet 21:00-07:30 in the
        # agent's Slack time zone, threshold 3). Quiet hours off: both ends NULL.
        """
        CREATE TABLE alert_settings (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            quiet_start TEXT DEFAULT '21:00',
            quiet_end TEXT DEFAULT '07:30',
            threshold INTEGER NOT NULL DEFAULT 3 CHECK (threshold BETWEEN 2 AND 20),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (team_id, user_id)
        )
        """,
    )


@migrations()
def m008_alert_kinds(db: Database) -> None:
    _run(
        db,
        # "Back after a quiet spell" and "Opened your e-mail" (activity.alert_kinds). Per contact:
        # the opens counters at the last check (all opens, and manual e-mails only), the last
        # check at which views or opens grew (`active_at`), the earliest moment our own history
        # covers (`known_since`); the last return after a proven quiet spell (`back_from` the
        # spell's start, `back_until` the last quiet check, `back_views`/`back_opens` the
        # counters then); the last rise of manual opens (`opened_from` the check before it,
        # `opened_base` the counter then). NULL: not known (a row from before this migration).
        "ALTER TABLE alert_pulses ADD COLUMN last_opens INTEGER",
        "ALTER TABLE alert_pulses ADD COLUMN last_manual_opens INTEGER",
        "ALTER TABLE alert_pulses ADD COLUMN active_at TEXT",
        "ALTER TABLE alert_pulses ADD COLUMN known_since TEXT",
        "ALTER TABLE alert_pulses ADD COLUMN back_from TEXT",
        "ALTER TABLE alert_pulses ADD COLUMN back_until TEXT",
        "ALTER TABLE alert_pulses ADD COLUMN back_views INTEGER",
        "ALTER TABLE alert_pulses ADD COLUMN back_opens INTEGER",
        "ALTER TABLE alert_pulses ADD COLUMN opened_from TEXT",
        "ALTER TABLE alert_pulses ADD COLUMN opened_base INTEGER",
        # What a "back" or "opened" DM shows beyond views: e-mails opened, and (back) the last
        # quiet check, so a resend or the quiet-hours summary words it the same.
        "ALTER TABLE alert_deliveries ADD COLUMN opens INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE alert_deliveries ADD COLUMN spell_end TEXT",
        # `/activity alerts email on|off`: "Opened your e-mail" DMs, off unless asked for.
        "ALTER TABLE alert_settings ADD COLUMN email_opens INTEGER NOT NULL DEFAULT 0",
    )


@migrations()
def m009_auto_watch(db: Database) -> None:
    _run(
        db,
        # Auto-watch (contacts looked up in the last 14 days), on unless the agent turns it off.
        "ALTER TABLE alert_settings ADD COLUMN auto_watch INTEGER NOT NULL DEFAULT 1",
        # Where a watch's alerts count from: the views counter and the moment of the agent's
        # latest lookup (auto watches) or of its first check (tag watches); NULL: not yet.
        "ALTER TABLE alert_watches ADD COLUMN baseline_views INTEGER",
        "ALTER TABLE alert_watches ADD COLUMN baseline_at TEXT",
        "CREATE INDEX idx_alert_watches_agent ON alert_watches (team_id, user_id, stopped, source)",
    )


def apply_migrations(db: Database) -> None:
    """Apply pending migrations, safely even when several processes start at once.

    When something is pending, the whole run happens under `BEGIN IMMEDIATE` (each migration
    becomes a savepoint inside it), so a second process waits for the first and then finds
    nothing left to do instead of failing on "table already exists".
    """
    if not migrations.pending(db):
        return
    if db.conn.in_transaction:
        migrations.apply(db)
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
