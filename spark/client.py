"""The async Spark API client.

One `SparkClient` serves every user: each call takes the access token to act with, so a
request is always made with the token of the person who asked. The client owns no connection
of its own; it is handed an `httpx.AsyncClient` (keep-alive, one per process) and adds:

- Spark's headers and explicit per-request timeouts;
- `parse_envelope`, the one function that reads every response (the `D` envelope) and raises
  a typed `SparkError` for anything but success;
- bounded retries: `RateLimited` honours `Retry-After`, `SparkUnavailable`/timeouts back off
  exponentially with jitter, all within an overall deadline; nothing else is retried;
- refresh-once: on `TokenExpired` an injected refresher is called (it, not the client, makes
  concurrent requests on one token share one refresh) and the request is replayed once with
  the new token;
- one budget per Spark API key (`RateLimiter` of `spark.budget.Budget`s): the injected
  `key_of` resolver says which key a token counts against, and the `Work` in the context
  (`spark.budget.working_as`) gives each request its priority, owner and how long it may wait;
- 429 handling (spark_api.md §2.3, §9): with `Retry-After` the key pauses that long and the
  request is retried if the wait fits; without it the key cools down for real (30 s, doubling)
  and people get `FlexmlsBusy` at once instead of a burst of quick retries, while background
  work waits the pause out.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

import redaction
from spark.budget import KeyResolver, Priority, TokenKey, Work, current_work
from spark.errors import (
    BadFilter,
    BadRequest,
    FlexmlsBusy,
    InvalidToken,
    NotFound,
    RateLimited,
    SparkError,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
    TokenExpired,
    error_for,
    parse_retry_after,
)
from spark.expansions import ExpansionMemory
from spark.models import (
    CONTACT_ACTIVITY,
    LISTING_SELECT,
    Account,
    ActivitySummary,
    Contact,
    Listing,
    ListKind,
    Page,
    parse_account,
    parse_activity_summary,
    parse_contact,
    parse_listing,
    parse_page,
)
from spark.ratelimit import RateLimiter, token_key
from spark.search import ContactSearch
from spark.sparkql import ContactQuery, QueryKind, classify

log = logging.getLogger(__name__)

T = TypeVar("T")
Refresher = Callable[[str], Awaitable[str]]
RetryCallback = Callable[[SparkError, float], Awaitable[None]]

MAX_PAGE_SIZE = 25
MAX_TAG_LENGTH = 100  # a Flexmls contact tag name, as we accept it
SAFE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying. `attempts` counts the first try; `deadline` caps the whole call."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 30.0
    deadline: float = 30.0

    def backoff(self, retry: int, rng: Callable[[], float]) -> float:
        """Full-jitter exponential backoff for the `retry`-th retry (1-based)."""
        cap = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return float(cap * (0.5 + rng() / 2))


@dataclass(frozen=True)
class Envelope:
    """The parts of a successful `D` envelope the client uses."""

    results: list[Any]
    pagination: Mapping[str, Any] | None
    request_id: str | None


def parse_envelope(response: httpx.Response) -> Envelope:
    """Read any Spark response; return the envelope on success, else raise a `SparkError`."""
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    ok = 200 <= status < 300
    try:
        body = response.json()
    except ValueError:
        if ok:
            raise SparkProtocolError(
                "Spark sent a response that is not JSON", status=status, request_id=request_id
            ) from None
        raise error_for(status, None, "", request_id=request_id, retry_after=retry_after) from None
    envelope = body.get("D") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        if ok:
            raise SparkProtocolError(
                "Spark sent JSON without the D envelope", status=status, request_id=request_id
            )
        raise error_for(status, None, "", request_id=request_id, retry_after=retry_after)
    if not ok or envelope.get("Success") is not True:
        code = envelope.get("Code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        message = envelope.get("Message")
        details = envelope.get("SparkQLErrors") or envelope.get("Details") or envelope.get("Errors")
        raise error_for(
            status if not ok else 400,
            code,
            message if isinstance(message, str) else "",
            request_id=request_id,
            retry_after=retry_after,
            details=details,
        )
    results = envelope.get("Results", [])
    if not isinstance(results, list):
        raise SparkProtocolError("Spark sent Results that are not a list", request_id=request_id)
    pagination = envelope.get("Pagination")
    return Envelope(
        results=results,
        pagination=pagination if isinstance(pagination, Mapping) else None,
        request_id=request_id,
    )


def _safe_id(value: str, what: str) -> str:
    """Ids end up in URL paths; anything but a plain id is refused before any request."""
    if not isinstance(value, str) or not SAFE_ID_RE.match(value):
        raise SparkError(f"That is not a valid {what} id")
    return value


def parse_tags(results: Any) -> tuple[str, ...]:
    """`[{"Tag": "Current Buyers", "ResourceUri": …}, …]` (or bare strings) → sorted tags."""
    found: dict[str, str] = {}
    for record in results if isinstance(results, list) else []:
        tag = record.get("Tag") if isinstance(record, dict) else record
        if isinstance(tag, str) and tag.strip() and len(tag.strip()) <= MAX_TAG_LENGTH:
            found.setdefault(tag.strip().casefold(), tag.strip())
    return tuple(sorted(found.values(), key=str.casefold))


def own_key(token: str) -> TokenKey:
    """Without a resolver every token is its own key (a pasted personal token is)."""
    return TokenKey("token:" + token_key(token))


class SparkClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        user_agent: str,
        refresher: Refresher | None = None,
        rate_limiter: RateLimiter | None = None,
        key_of: KeyResolver | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/v1"
        self._user_agent = user_agent
        self.refresher = refresher
        self.limiter = rate_limiter or RateLimiter(clock=clock, sleep=sleep)
        self.key_of: KeyResolver = key_of or own_key
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.requests_sent = 0
        # What each API key's Flexmls lets us filter on (spark/search.py), learnt per key.
        self.contact_search = ContactSearch(key_of=lambda token: self.key_of(token).name)
        # Which optional expansions each key's Flexmls refused (spark/expansions.py).
        self.expansions = ExpansionMemory(clock=clock)

    # -- plumbing -------------------------------------------------------------------------

    def _headers(self, token: str) -> dict[str, str]:
        redaction.remember(token)  # whatever its source (stored, pasted, refreshed): never logged
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "X-SparkApi-User-Agent": self._user_agent,
        }

    async def _send_once(
        self, token: str, path: str, params: Mapping[str, Any], key: str, work: Work
    ) -> Envelope:
        await self.limiter.acquire(key, work.priority, work.owner, work.max_wait)
        self.requests_sent += 1
        try:
            response = await self._http.get(
                self._base + path,
                params=params,
                headers=self._headers(token),
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise SparkTimeout("Flexmls did not answer in time") from None
        except httpx.TransportError as exc:
            raise SparkUnavailable(f"Could not reach Flexmls ({type(exc).__name__})") from None
        envelope = parse_envelope(response)
        self.limiter.budget(key).succeeded()
        return envelope

    async def _refresh(self, token: str) -> str:
        """Exchange an expired token for a fresh one through the injected refresher.

        Concurrent requests on the same expired token each ask; the refresher (the token
        keeper) serialises them per connection, so Flexmls sees one refresh.
        """
        assert self.refresher is not None
        return await self.refresher(token)

    def _retry_delay(self, error: SparkError, retry: int) -> float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after
        return self.retry.backoff(retry, self._rng)

    def _after_429(self, error: RateLimited, key: str, work: Work, elapsed: float) -> float:
        """Pause the key for everyone; return how long until the retry may go, or raise.

        People never get a burst of quick retries that each count against the quota: without
        `Retry-After` (not promised, spark_api.md §9), or when the pause outlasts what they may
        wait, they get `FlexmlsBusy` at once. Prefetches give up; background work waits it out.
        """
        pause = self.limiter.budget(key).penalise(error.retry_after)
        if work.priority is Priority.PREFETCH:
            raise error
        if work.priority is Priority.BACKGROUND:
            return pause
        allowed = min(self.retry.deadline - elapsed, self.retry.max_retry_after)
        if work.max_wait is not None:
            allowed = min(allowed, work.max_wait)
        if error.retry_after is None or pause > allowed:
            raise FlexmlsBusy(
                "Over the Spark rate limit; the key is cooling down",
                retry_in=pause,
                status=error.status,
                code=error.code,
                request_id=error.request_id,
            )
        return pause

    async def get(
        self,
        token: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_retry: RetryCallback | None = None,
    ) -> Envelope:
        """GET `path` (below /v1) with retries, refresh-once and the key's budget."""
        params = dict(params or {})
        work = current_work()
        token_key_info = self.key_of(token)
        key = token_key_info.name
        started = self._clock()
        refreshed = False
        retries = 0
        while True:
            try:
                return await self._send_once(token, path, params, key, work)
            except (TokenExpired, InvalidToken) as error:
                if refreshed or not self._refreshable(error, token_key_info):
                    raise
                token = await self._refresh(token)
                refreshed = True
            except FlexmlsBusy:
                raise  # our own budget said no: nothing was sent, nothing to retry
            except RateLimited as error:
                retries += 1
                delay = self._retry_429(error, key, work, retries, self._clock() - started)
                # The budget holds the request until the pause ends; no sleep here.
                if on_retry is not None:
                    await on_retry(error, delay)
                log.info(
                    "Spark 429 on %s; key paused %.1fs, retry %d (request %s)",
                    path,
                    delay,
                    retries,
                    error.request_id,
                )
            except SparkUnavailable as error:
                retries += 1
                delay = self._retry_delay(error, retries)
                elapsed = self._clock() - started
                if retries >= self.retry.attempts or elapsed + delay > self.retry.deadline:
                    raise
                log.info(
                    "Spark %s on %s; retry %d in %.2fs (request %s)",
                    type(error).__name__,
                    path,
                    retries,
                    delay,
                    error.request_id,
                )
                if on_retry is not None:
                    await on_retry(error, delay)
                await self._sleep(delay)

    def _refreshable(self, error: SparkError, key: TokenKey) -> bool:
        """Whether a refresh may help: always on 1020; on 1000 only for an OAuth token (FBS's
        PHP client re-authenticates on both, spark_api.md §9)."""
        if self.refresher is None:
            return False
        return isinstance(error, TokenExpired) or (error.code == 1000 and key.oauth)

    def _retry_429(
        self, error: RateLimited, key: str, work: Work, retries: int, elapsed: float
    ) -> float:
        """How long the key pauses before this request is retried; raises `error` once the
        request has had its tries (background work gets three times as many)."""
        background = work.priority is Priority.BACKGROUND
        if retries >= self.retry.attempts * (3 if background else 1):
            self.limiter.budget(key).penalise(error.retry_after)
            raise error
        return self._after_429(error, key, work, elapsed)

    async def _get_page(
        self,
        token: str,
        path: str,
        params: Mapping[str, Any],
        parse: Callable[[Any], T],
        *,
        page: int,
        limit: int,
        on_retry: RetryCallback | None,
    ) -> Page[T]:
        page = max(1, int(page))
        limit = min(MAX_PAGE_SIZE, max(1, int(limit)))
        query = {**params, "_page": page, "_limit": limit, "_pagination": 1}
        envelope = await self.get(token, path, query, on_retry=on_retry)
        return parse_page(envelope.results, envelope.pagination, parse, page=page, limit=limit)

    async def _get_one(
        self, token: str, path: str, parse: Callable[[Any], T], on_retry: RetryCallback | None
    ) -> T:
        envelope = await self.get(token, path, on_retry=on_retry)
        if not envelope.results:
            raise SparkProtocolError(f"Spark returned no record for {path}")
        return parse(envelope.results[0])

    # -- the API the bot uses -------------------------------------------------------------

    async def my_account(self, token: str, *, on_retry: RetryCallback | None = None) -> Account:
        """Who the token belongs to; also the cheapest way to validate a token."""
        return await self._get_one(token, "/my/account", parse_account, on_retry)

    async def get_contact(
        self, token: str, contact_id: str, *, on_retry: RetryCallback | None = None
    ) -> Contact:
        path = f"/contacts/{_safe_id(contact_id, 'contact')}"
        return await self._get_one(token, path, parse_contact, on_retry)

    async def search_contacts(
        self,
        token: str,
        query: str | ContactQuery,
        *,
        page: int = 1,
        limit: int = MAX_PAGE_SIZE,
        on_retry: RetryCallback | None = None,
    ) -> Page[Contact]:
        """Contacts matching a name, e-mail, phone or id (raises `InvalidQuery` on bad text).

        The filters adapt to what the key's Flexmls accepts (`spark/search.py`); no `_orderby`
        is sent, results are ranked by the caller (spark_api.md §9: only searchable fields sort).
        """
        query = classify(query) if isinstance(query, str) else query
        if query.kind is QueryKind.ID:
            try:
                contact = await self.get_contact(token, query.value, on_retry=on_retry)
            except NotFound:
                return Page(items=(), current_page=1, page_size=1, total_rows=0, total_pages=0)
            return Page(items=(contact,), current_page=1, page_size=1, total_rows=1, total_pages=1)

        async def fetch(params: Mapping[str, Any]) -> Page[Contact]:
            return await self._get_page(
                token,
                "/contacts",
                params,
                parse_contact,
                page=page,
                limit=limit,
                on_retry=on_retry,
            )

        return await self.contact_search.search(token, query, fetch, fall_through=page <= 1)

    async def list_contacts(
        self,
        token: str,
        *,
        page: int = 1,
        limit: int = MAX_PAGE_SIZE,
        on_retry: RetryCallback | None = None,
    ) -> Page[Contact]:
        """Every contact the token can see, a page at a time, in Spark's order.

        No `_orderby`: only "searchable" fields may be sorted on and which those are is not
        documented for contacts (spark_api.md §9); callers rank what they get themselves.
        """
        return await self._get_page(
            token, "/contacts", {}, parse_contact, page=page, limit=limit, on_retry=on_retry
        )

    async def contacts_with_tag(
        self,
        token: str,
        tag: str,
        *,
        page: int = 1,
        limit: int = MAX_PAGE_SIZE,
        on_retry: RetryCallback | None = None,
    ) -> Page[Contact]:
        tag = tag.strip()
        if not tag or len(tag) > MAX_TAG_LENGTH:
            raise SparkError(f"A tag name is 1 to {MAX_TAG_LENGTH} characters")
        path = "/contacts/tags/" + urllib.parse.quote(tag, safe="")
        return await self._get_page(
            token, path, {}, parse_contact, page=page, limit=limit, on_retry=on_retry
        )

    async def contact_tags(
        self, token: str, *, on_retry: RetryCallback | None = None
    ) -> tuple[str, ...]:
        """The tags used on the token's contacts (`GET /contacts/tags`, one request), sorted
        and without duplicates; records that carry no text tag are skipped."""
        envelope = await self.get(token, "/contacts/tags", on_retry=on_retry)
        return parse_tags(envelope.results)

    async def activity_summary(
        self, token: str, contact_id: str, *, on_retry: RetryCallback | None = None
    ) -> ActivitySummary:
        path = f"/contacts/{_safe_id(contact_id, 'contact')}/activity"
        return await self._get_one(token, path, parse_activity_summary, on_retry)

    async def listings(
        self,
        token: str,
        contact_id: str,
        kind: ListKind,
        *,
        page: int = 1,
        limit: int = 10,
        on_retry: RetryCallback | None = None,
    ) -> Page[Listing]:
        """One page of the listings a contact viewed or was shared, with the primary photo and,
        where the key's Flexmls gives it, each listing's `ContactActivity` (when and how often).

        The expansion rides on the same request: no extra request when it is supported or
        silently absent. A 400 with it (its support is unconfirmed, spark_api.md §4.4) costs
        one retry without it; when that succeeds the refusal is remembered for the key, so the
        next pages cost one request again.
        """
        if kind not in ("viewed", "shared"):
            raise SparkError("Listings are either viewed or shared")
        path = f"/contacts/{_safe_id(contact_id, 'contact')}/activity/listings/{kind}"
        parse = functools.partial(parse_listing, kind=kind)

        async def fetch(expand: str) -> Page[Listing]:
            params = {"_expand": expand, "_select": LISTING_SELECT}
            return await self._get_page(
                token, path, params, parse, page=page, limit=limit, on_retry=on_retry
            )

        key = self.key_of(token).name
        if self.expansions.refused(key, CONTACT_ACTIVITY):
            return await fetch("PrimaryPhoto")
        try:
            return await fetch(f"PrimaryPhoto,{CONTACT_ACTIVITY}")
        except (BadFilter, BadRequest) as error:
            if error.status != 400:
                raise
            refusal = error
        result = await fetch("PrimaryPhoto")
        self.expansions.refuse(key, CONTACT_ACTIVITY)
        log.info(
            "Flexmls refused _expand=%s (%s, request %s); not asked again for this key for now",
            CONTACT_ACTIVITY,
            refusal.code,
            refusal.request_id,
        )
        return result

    async def iter_pages(
        self, fetch: Callable[[int], Awaitable[Page[T]]], *, max_pages: int = 200
    ) -> AsyncIterator[T]:
        """Yield every item of a paged listing, page by page, up to `max_pages`."""
        for number in range(1, max_pages + 1):
            page = await fetch(number)
            for item in page.items:
                yield item
            if not page.has_next or not page.items:
                return
