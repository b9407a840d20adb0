"""Async client for the FBS Spark API (Flexmls). Knows nothing of Slack."""

from spark.client import Envelope, RetryPolicy, SparkClient, parse_envelope
from spark.errors import (
    BadFilter,
    BadRequest,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefreshFailed,
    SparkError,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
    TokenExpired,
)
from spark.models import Account, ActivitySummary, Contact, Listing, Page
from spark.oauth import OAuthClient, OAuthConfigError, TokenSet
from spark.ratelimit import RateLimiter
from spark.sparkql import ContactQuery, InvalidQuery, QueryKind, classify, contact_filter, quote

__all__ = [
    "Account",
    "ActivitySummary",
    "BadFilter",
    "BadRequest",
    "Contact",
    "ContactQuery",
    "Envelope",
    "InvalidQuery",
    "InvalidToken",
    "Listing",
    "NotFound",
    "OAuthClient",
    "OAuthConfigError",
    "Page",
    "PermissionDenied",
    "QueryKind",
    "RateLimited",
    "RateLimiter",
    "RefreshFailed",
    "RetryPolicy",
    "SparkClient",
    "SparkError",
    "SparkProtocolError",
    "SparkTimeout",
    "SparkUnavailable",
    "TokenExpired",
    "TokenSet",
    "classify",
    "contact_filter",
    "parse_envelope",
    "quote",
]
