"""Contact search that adapts to what the account's Flexmls allows.

Which contact fields Spark lets a key filter on is not documented; only `PrimaryEmail Eq` is
confirmed, and an unknown or unsearchable field answers 400 / 1040 with `SparkQLErrors`
(spark_api.md §3.4, §9). So a search is a list of strategies tried in order:

- e-mail: `PrimaryEmail Eq` (confirmed);
- phone: 7 digits ("555-0142"): numbers ending in them (`'*555-0142'`, one request, final
  when it runs); otherwise, or if Flexmls refuses the leading `*`, `PrimaryPhoneNumber Eq`
  with the common spellings;
- name: the prefix search over DisplayName / GivenName / FamilyName, then, when that finds
  nothing (or cannot run), every typed word inside `DisplayName` (contacts that carry only
  `DisplayName`, §9);
- name initials (the widening `activity/lookup.py` asks for when a name found nothing):
  `DisplayName` by first letters (`sparkql.name_initials_filter`).

When Spark rejects a filter and names a field (in `SparkQLErrors` or its message), the field is
remembered as unfilterable for that key and the strategy is retried once without it; when it
names none, the next strategy runs. What was learnt is kept in memory per key, so the next
search spends no request on what is known to fail. No `_orderby` is sent: "any searchable field
can be present in the `_orderby`" (§9) means it fails the same way, and results are ranked on
our side (`activity/lookup.py`).

When no strategy can run for a kind of query, `SearchUnavailable` says which kind, so the agent
is told plainly ("searching by phone isn't available on your Flexmls").
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from spark.errors import BadFilter, SparkError
from spark.models import Contact, Page
from spark.ratelimit import token_key
from spark.sparkql import (
    NAME_FIELDS,
    PHONE_ENDING_DIGITS,
    ContactQuery,
    QueryKind,
    email_filter,
    initials_pattern_values,
    name_initials_filter,
    name_prefix_filter,
    name_words_filter,
    phone_ending_filter,
    phone_filter,
)

MAX_KEYS = 1024  # keys remembered; the least recently used is forgotten first
MAX_REQUESTS_PER_SEARCH = 4  # a search never spends more than this on filters
UNNAMED_FAILURES_TO_GIVE_UP = 2  # one odd input must not disable a strategy for good

FetchPage = Callable[[Mapping[str, Any]], Awaitable[Page[Contact]]]


class SearchUnavailable(SparkError):
    """No search strategy for this kind of query works on this Flexmls (fields rejected)."""

    def __init__(self, kind: QueryKind, message: str = "", **kw: Any) -> None:
        super().__init__(message or f"Searching by {kind.value} is not available", **kw)
        self.kind = kind


@dataclass(frozen=True)
class Strategy:
    """One way to search: the fields it uses and how to build its filter from them.

    `build` gets the fields still usable and returns None when they cannot express the query.
    `applies`: whether the strategy is meant for this query at all (skipped otherwise, without
    learning anything). `final`: when it runs and finds nothing, later strategies are not
    tried (they would only ask again for less).
    """

    name: str
    fields: tuple[str, ...]
    build: Callable[[ContactQuery, Collection[str]], str | None]
    applies: Callable[[ContactQuery], bool] = lambda query: True
    final: bool = False


def _only(
    build: Callable[[ContactQuery], str | None], needed: str
) -> Callable[[ContactQuery, Collection[str]], str | None]:
    def built(query: ContactQuery, fields: Collection[str]) -> str | None:
        return build(query) if needed in fields else None

    return built


EMAIL = Strategy("email", ("PrimaryEmail",), _only(email_filter, "PrimaryEmail"))
PHONE_ENDING = Strategy(
    "phone-ending",
    ("PrimaryPhoneNumber",),
    _only(phone_ending_filter, "PrimaryPhoneNumber"),
    applies=lambda query: len(query.value) == PHONE_ENDING_DIGITS,
    final=True,
)
PHONE = Strategy("phone", ("PrimaryPhoneNumber",), _only(phone_filter, "PrimaryPhoneNumber"))
NAME_PREFIX = Strategy("name-prefix", NAME_FIELDS, name_prefix_filter)
NAME_WORDS = Strategy("name-words", ("DisplayName",), _only(name_words_filter, "DisplayName"))
NAME_INITIALS = Strategy(
    "name-initials",
    ("DisplayName",),
    _only(name_initials_filter, "DisplayName"),
    applies=lambda query: bool(initials_pattern_values(query.value)),
)

STRATEGIES: Mapping[QueryKind, tuple[Strategy, ...]] = {
    QueryKind.EMAIL: (EMAIL,),
    QueryKind.PHONE: (PHONE_ENDING, PHONE),
    QueryKind.NAME: (NAME_PREFIX, NAME_WORDS),
    QueryKind.NAME_INITIALS: (NAME_INITIALS,),
}


FIELD_ERROR_CODE = 1040  # invalid `_filter` syntax or unknown field (spark_api.md §2.2)
KNOWLEDGE_TTL_S = 3600.0
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")


@dataclass
class KeyKnowledge:
    """What one key has taught us: fields rejected or seen working, strategies given up."""

    learned_at: float = 0.0  # when this knowledge started; it is forgotten after KNOWLEDGE_TTL_S
    unfilterable: set[str] = field(default_factory=set)
    filterable: set[str] = field(default_factory=set)
    dead: set[str] = field(default_factory=set)
    unnamed_failures: dict[str, int] = field(default_factory=dict)


class SearchMemory:
    """Per-key knowledge, in memory, bounded (least recently used key forgotten first)."""

    def __init__(
        self,
        max_keys: int = MAX_KEYS,
        *,
        ttl: float = KNOWLEDGE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys: OrderedDict[str, KeyKnowledge] = OrderedDict()
        self._max_keys = max_keys
        self._ttl = ttl
        self._clock = clock

    def get(self, key: str) -> KeyKnowledge:
        knowledge = self._keys.get(key)
        now = self._clock()
        if knowledge is not None and now - knowledge.learned_at > self._ttl:
            del self._keys[key]  # an account's settings can change: learn again
            knowledge = None
        if knowledge is None:
            knowledge = self._keys[key] = KeyKnowledge(learned_at=now)
            while len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        return knowledge

    def peek(self, key: str) -> KeyKnowledge | None:
        return self._keys.get(key)

    def forget(self, key: str | None = None) -> None:
        if key is None:
            self._keys.clear()
        else:
            self._keys.pop(key, None)


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def rejected_fields(error: BadFilter, used: Iterable[str]) -> set[str]:
    """The fields of `used` that a 400/1040 ("unknown or unsearchable field") names.

    Learning is shared by everyone on the key, so it rests only on what a user's text can't
    fake: a `SparkQLErrors` token that *is* one of our field names, or the field named in the
    message outside any quoted value. Other codes (1041 "too complex", 2xxx value errors) are
    about this one query and teach nothing (spark_api.md §2.2).
    """
    if error.code not in (None, FIELD_ERROR_CODE):
        return set()
    used = set(used)
    named: set[str] = set()
    unquoted = _QUOTED.sub(" ", error.message or "")
    named.update(_WORD.findall(unquoted))
    details = error.details if isinstance(error.details, list) else [error.details]
    for item in details:
        if isinstance(item, Mapping):
            token = item.get("Token")
            if isinstance(token, str):
                named.add(token.strip())
    return used & named


def _surname_only(query: ContactQuery, strategy: Strategy) -> bool:
    """A one-word name found by the prefix search: could also be someone's DisplayName word."""
    return strategy is NAME_PREFIX and len(query.value.split()) == 1


class ContactSearch:
    """Runs the strategies for a query against one key, learning as it goes."""

    def __init__(
        self,
        memory: SearchMemory | None = None,
        *,
        key_of: Callable[[str], str] = token_key,
    ) -> None:
        self.memory = memory or SearchMemory()
        self.key_of = key_of

    def knowledge(self, token: str) -> KeyKnowledge | None:
        return self.memory.peek(self.key_of(token))

    async def search(
        self, token: str, query: ContactQuery, fetch: FetchPage, *, fall_through: bool = True
    ) -> Page[Contact]:
        """The first page a working strategy finds (empty if none finds anything).

        `fall_through`: when a strategy runs but finds nothing, try the next one (page 1 only;
        later pages stay with the strategy that found the first). Raises `SearchUnavailable`
        when no strategy for the query's kind can run on this key; a rejection that named no
        field (e.g. a value Spark refused) is raised as the `BadFilter` it was. Other
        `SparkError`s (rate limits, outages) pass through untouched.
        """
        strategies = STRATEGIES.get(query.kind)
        if not strategies:
            raise ValueError(f"no search strategy for a {query.kind.value} query")
        known = self.memory.get(self.key_of(token))
        budget = MAX_REQUESTS_PER_SEARCH
        result: Page[Contact] | None = None
        last_error: BadFilter | None = None
        usable = [s for s in strategies if s.applies(query)]
        for strategy in usable:
            if strategy.name in known.dead or budget <= 0:
                continue
            while budget > 0:
                fields = [f for f in strategy.fields if f not in known.unfilterable]
                text = strategy.build(query, fields)
                if text is None:
                    known.dead.add(strategy.name)
                    break
                budget -= 1
                try:
                    page = await fetch({"_filter": text})
                except BadFilter as error:
                    last_error = error
                    if error.code not in (None, FIELD_ERROR_CODE):
                        raise  # about this query's values (1041, 2xxx): nothing to learn
                    named = rejected_fields(error, fields) - known.filterable
                    if named:
                        known.unfilterable |= named
                        continue  # once more without the fields it named
                    self._unnamed_failure(known, strategy)
                    break
                known.filterable.update(fields)
                known.unnamed_failures.pop(strategy.name, None)
                if page.items and fall_through and _surname_only(query, strategy):
                    # "okafor": the prefix search finds the Okafors with a FamilyName; a contact
                    # known only by DisplayName ("Chidi Okafor") needs the words search too.
                    return await self._with_display_names(token, query, page, fetch, known)
                if page.items or not fall_through or strategy.final:
                    return page
                result = page
                break
        if result is not None:
            return result
        if all(s.name in known.dead for s in usable) or last_error is None:
            raise SearchUnavailable(query.kind)
        raise last_error

    async def _with_display_names(
        self,
        token: str,
        query: ContactQuery,
        page: Page[Contact],
        fetch: FetchPage,
        known: KeyKnowledge,
    ) -> Page[Contact]:
        """`page` plus the DisplayName-only contacts the words search finds (one more request)."""
        if NAME_WORDS.name in known.dead or "DisplayName" in known.unfilterable:
            return page
        text = NAME_WORDS.build(query, list(NAME_WORDS.fields))
        if text is None:
            return page
        try:
            words = await fetch({"_filter": text})
        except BadFilter:  # the prefix results stand on their own
            return page
        seen = {contact.id for contact in page.items}
        extra = tuple(c for c in words.items if c.id not in seen)
        if not extra:
            return page
        return replace(page, items=page.items + extra, total_rows=page.total_rows + len(extra))

    @staticmethod
    def _unnamed_failure(known: KeyKnowledge, strategy: Strategy) -> None:
        count = known.unnamed_failures.get(strategy.name, 0) + 1
        known.unnamed_failures[strategy.name] = count
        if count >= UNNAMED_FAILURES_TO_GIVE_UP:
            known.dead.add(strategy.name)
