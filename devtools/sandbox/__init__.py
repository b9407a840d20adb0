"""A local Spark-compatible HTTP server with a generated demo brokerage and fault injection.

Used by `make demo`, by the test suite (a fixture on a free port) and by benchmarks (from
another process, controlled through the `/_sandbox/*` admin endpoints).

Fault rules (`Sandbox.add_fault(**rule)`, or JSON `POST /_sandbox/faults`)::

    {"kind": "status", "route": "/v1/contacts/*/activity*", "times": 1, "token": null,
     "status": 500, "code": 1026, "message": "...", "retry_after": 3}

`kind` is one of latency (delay_ms), status (status, code, message, retry_after),
rate_limit (retry_after, message), unavailable (code, message, retry_after), hang (delay_ms,
default 60000), malformed, no_envelope, expire_token, expire_after (uses), disconnect.
`route` is an fnmatch glob on the path (default "*"), `times` limits how many matching
requests a rule applies to (null = forever) and `token` restricts it to one access token.
Options that belong to another kind, unknown keys and bad values are rejected
(`FaultRuleError`; 400 from the admin endpoint). Rules run in the order added: latency, hang,
expire_token and expire_after change the request and let it continue; the others answer it.
Faults never touch `/healthz` or `/_sandbox/*`.

Admin endpoints (no auth): `POST|GET|DELETE /_sandbox/faults`, `GET|DELETE /_sandbox/stats`,
`GET|POST /_sandbox/config` (`latency_ms`, `rate_limit`, `expires_in`), `POST /_sandbox/tokens`
(`{"account_id", "private_role"}` -> a grant-shaped token pair), `GET /_sandbox/requests`,
`POST /_sandbox/activity` (`{"contact_id", "listings_viewed": 5, ...}`: add to a contact's
counters from today on, like `SandboxState.add_activity`; the generated data stays as it was),
`POST /_sandbox/contacts` (`{"count": 700}`: generate that many more demo contacts, after the
existing ones, for benchmarks that need a big book; answers their ids),
`GET|POST /_sandbox/dialect` (`{"preset": "strict"}` or `orderby`, `unfilterable`,
`case_sensitive`, `accent_sensitive`, `display_name_only`: see `sandbox.sparkql.Dialect`; also
`Sandbox(dialect="strict")`).
"""

from .data import (
    ACTIVITY_EPOCH,
    DEMO_ACCOUNT_ID,
    SECOND_ACCOUNT_ID,
    Account,
    ActivitySummary,
    Brokerage,
    Contact,
    Listing,
    Photo,
    build_brokerage,
    cached_brokerage,
)
from .faults import FAULT_KINDS, FaultRule, FaultRuleError, RateLimit
from .server import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TOKEN,
    NO_ROLE_TOKEN,
    SECOND_AGENT_TOKEN,
    ManualClock,
    RecordedRequest,
    Sandbox,
    SandboxState,
    SandboxThread,
    create_app,
    run,
)
from .sparkql import CONTACT_FILTER_FIELDS, Dialect, SparkQLError, parse_filter

__all__ = [
    "ACTIVITY_EPOCH",
    "CONTACT_FILTER_FIELDS",
    "DEMO_ACCOUNT_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_TOKEN",
    "FAULT_KINDS",
    "NO_ROLE_TOKEN",
    "SECOND_ACCOUNT_ID",
    "SECOND_AGENT_TOKEN",
    "Account",
    "ActivitySummary",
    "Brokerage",
    "Contact",
    "Dialect",
    "FaultRule",
    "FaultRuleError",
    "Listing",
    "ManualClock",
    "Photo",
    "RateLimit",
    "RecordedRequest",
    "Sandbox",
    "SandboxState",
    "SandboxThread",
    "SparkQLError",
    "build_brokerage",
    "cached_brokerage",
    "create_app",
    "parse_filter",
    "run",
]
