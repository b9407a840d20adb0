"""Typed Spark API errors and the one function that maps a failed response onto them.

Every failure the client can meet becomes a `SparkError` subclass carrying the HTTP status,
Spark's `D.Code` and `D.Message`, and the `x-request-id` header, so callers catch our types and
never httpx's. Messages never include a token.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from typing import Any


class SparkError(Exception):
    """Base class: something went wrong talking to the Spark API."""

    retryable = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: int | None = None,
        request_id: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details

    def __str__(self) -> str:
        parts = [self.message or self.__class__.__name__]
        if self.status is not None or self.code is not None:
            parts.append(f"(HTTP {self.status}, code {self.code})")
        if self.request_id:
            parts.append(f"[request {self.request_id}]")
        return " ".join(parts)


class SparkProtocolError(SparkError):
    """The response was not JSON, or lacked the `D` envelope Spark always sends."""


class TokenExpired(SparkError):
    """401 / code 1020: the access token has expired; a refresh may fix it."""


class InvalidToken(SparkError):
    """401 / codes 1000, 1010: the token or key is invalid or disabled; reconnecting fixes it."""


class PermissionDenied(SparkError):
    """403: Spark refused the request; `code` says why (spark_api.md §9: 1013, 1015, 1019,
    1021, 1030, 1100, 1500, 1505). 1500 is the role (Contacts: Activity needs Private)."""


class NotFound(SparkError):
    """404: no such contact or resource (or it belongs to someone else)."""


class BadFilter(SparkError):
    """400 / codes 1040, 1041, 2xxx: Spark rejected the `_filter`."""


class BadRequest(SparkError):
    """Any other 4xx: the request itself was wrong; retrying will not help."""


class RateLimited(SparkError):
    """429, or code 1550 with 429/503: over Spark's rate limit."""

    retryable = True

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class FlexmlsBusy(RateLimited):
    """Our own budget for the key has no slot soon enough (or the key is cooling down after a
    429): the request was not sent. `retry_in` is our estimate of when one frees."""

    def __init__(self, message: str = "", *, retry_in: float, **kw: Any) -> None:
        super().__init__(message or "Flexmls is busy", retry_after=retry_in, **kw)
        self.retry_in = retry_in


class PrefetchSkipped(FlexmlsBusy):
    """A prefetch found no spare budget at once; it is dropped, never queued."""


class SearchTooBroad(SparkError):
    """Codes 1515/1516: Spark cancelled the request because of its `_filter`/`_orderby`;
    repeating it fails the same way (spark_api.md §9), so it is not retried."""


class SparkUnavailable(SparkError):
    """5xx, codes 1023/1024/1510, or a transport failure: Flexmls is having a moment."""

    retryable = True


class SparkTimeout(SparkUnavailable):
    """The request did not complete within the client's timeout."""


class RefreshFailed(SparkError):
    """The refresh token was rejected (e.g. `invalid_grant`): the user must reconnect."""


UNAVAILABLE_CODES = {1023, 1024, 1510}
TOO_BROAD_CODES = {1515, 1516}
INVALID_TOKEN_CODES = {1000, 1010}
FILTER_CODES = {1040, 1041}
RATE_LIMIT_CODE = 1550
EXPIRED_CODE = 1020
ROLE_CODE = 1500


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` as seconds, from delta-seconds or an HTTP date; None when absent or unreadable.

    The format Spark uses is not documented (spark_api.md §9), so both forms of RFC 9110 are read.
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, (moment - now).total_seconds())
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def error_for(
    status: int,
    code: int | None,
    message: str,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    details: Any = None,
) -> SparkError:
    """Map an HTTP status and Spark `D.Code` onto the most specific `SparkError`."""
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": request_id,
        "details": details,
    }
    if status == 429 or code == RATE_LIMIT_CODE:
        return RateLimited(message or "Over the Spark rate limit", retry_after=retry_after, **kw)
    if code == EXPIRED_CODE:
        return TokenExpired(message or "Access token has expired", **kw)
    if code in INVALID_TOKEN_CODES or (status == 401 and code is None):
        return InvalidToken(message or "Access token is invalid", **kw)
    if code == ROLE_CODE or status == 403:
        return PermissionDenied(message or "Permission denied", **kw)
    if status == 404 or code == 404:
        return NotFound(message or "Not found", **kw)
    if code is not None and (code in FILTER_CODES or 2000 <= code <= 2999):
        return BadFilter(message or "Invalid filter", **kw)
    if code in TOO_BROAD_CODES:
        return SearchTooBroad(message or "The search took Flexmls too long", **kw)
    if code in UNAVAILABLE_CODES or status >= 500:
        return SparkUnavailable(message or "Spark is unavailable", **kw)
    if status == 401:
        return InvalidToken(message or "Not authorised", **kw)
    return BadRequest(message or f"Spark rejected the request (HTTP {status})", **kw)
