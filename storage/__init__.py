"""Storage: SQLite through sqlite-utils. Knows nothing of Slack, HTTP or the Spark client.

Every function takes the `Database` to use (from `open_database`) and, where time matters, the
current time as an aware `datetime`; storage never reads the clock. Values in and out are plain
Python values and the frozen dataclasses below.
"""

from storage.crypto import TokenCipher, TokenDecryptError, load_or_create_key
from storage.db import open_database, open_memory_database
from storage.digests import (
    Delivery,
    PostedDigest,
    Subscription,
    add_subscription,
    all_subscriptions,
    claim_delivery,
    complete_delivery,
    delivery,
    encode_entries,
    list_subscriptions,
    mark_posting,
    normalise_local_time,
    pause_subscriptions,
    posted_digest,
    prune_deliveries,
    release_delivery,
    remove_subscription,
    resume_subscriptions,
    validate_timezone,
)
from storage.events import first_time_seen, prune_events
from storage.keycheck import KeyLost, load_checked_key
from storage.leases import owner_alive, process_owner
from storage.lookups import (
    RecentLookup,
    cache_contact_query,
    cached_contact_id,
    forget_contact_cache,
    normalise_query,
    prune_contact_cache,
    prune_recent_lookups,
    recent_contact_ids,
    recent_lookups,
    record_lookup,
)
from storage.readings import (
    first_lookup_of_day,
    latest_reading_before,
    prune_first_lookups,
    snapshot_readings,
)
from storage.retention import prune_all, pruned_summary
from storage.snapshots import (
    Counters,
    prune_snapshots,
    record_snapshot,
    snapshot_history,
    snapshot_on,
)
from storage.tokens import (
    Connection,
    KeyCheck,
    check_token_key,
    connections_expiring_before,
    consume_oauth_state,
    count_connections,
    delete_connection,
    forget_all_connections,
    get_connection,
    mark_broken,
    prune_oauth_states,
    save_connection,
    save_oauth_state,
    update_tokens,
    users_linked_to,
)

__all__ = [
    # db
    "open_database",
    "open_memory_database",
    # crypto
    "TokenCipher",
    "TokenDecryptError",
    "load_or_create_key",
    "KeyLost",
    "load_checked_key",
    # tokens
    "Connection",
    "save_connection",
    "get_connection",
    "update_tokens",
    "mark_broken",
    "delete_connection",
    "connections_expiring_before",
    "KeyCheck",
    "check_token_key",
    "count_connections",
    "forget_all_connections",
    "users_linked_to",
    "save_oauth_state",
    "consume_oauth_state",
    "prune_oauth_states",
    # lookups
    "RecentLookup",
    "record_lookup",
    "recent_lookups",
    "recent_contact_ids",
    "normalise_query",
    "cache_contact_query",
    "cached_contact_id",
    "forget_contact_cache",
    "prune_contact_cache",
    "prune_recent_lookups",
    # readings
    "first_lookup_of_day",
    "latest_reading_before",
    "prune_first_lookups",
    "snapshot_readings",
    # snapshots
    "Counters",
    "record_snapshot",
    "snapshot_on",
    "snapshot_history",
    "prune_snapshots",
    # digests
    "Subscription",
    "Delivery",
    "add_subscription",
    "list_subscriptions",
    "mark_posting",
    "remove_subscription",
    "pause_subscriptions",
    "resume_subscriptions",
    "prune_deliveries",
    "all_subscriptions",
    "normalise_local_time",
    "validate_timezone",
    "claim_delivery",
    "complete_delivery",
    "release_delivery",
    "delivery",
    "PostedDigest",
    "encode_entries",
    "posted_digest",
    # leases
    "process_owner",
    "owner_alive",
    # events
    "first_time_seen",
    "prune_events",
    # retention
    "prune_all",
    "pruned_summary",
]
