"""Which optional `_expand` values each API key's Flexmls accepts, learnt per key.

`ContactActivity` on the activity listings (spark_api.md §4.4) is documented but its support
and shape are unconfirmed. The client asks for it; when Spark refuses the request with a 400 and
the same request without it succeeds, the expansion is remembered as refused for that key, so
later pages spend no request on it. Like `spark.search.SearchMemory`, knowledge is in memory,
bounded (least recently used key forgotten first) and forgotten after an hour, since an
account's settings can change.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 1024
KNOWLEDGE_TTL_S = 3600.0


class ExpansionMemory:
    """Per key: the expansions Spark refused, and since when."""

    def __init__(
        self,
        max_keys: int = MAX_KEYS,
        *,
        ttl: float = KNOWLEDGE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refused: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._max_keys = max_keys
        self._ttl = ttl
        self._clock = clock

    def refused(self, key: str, expansion: str) -> bool:
        """Whether `expansion` is known to be refused for `key` (and the knowledge is fresh)."""
        since = self._refused.get((key, expansion))
        if since is None:
            return False
        if self._clock() - since > self._ttl:
            del self._refused[(key, expansion)]
            return False
        return True

    def refuse(self, key: str, expansion: str) -> None:
        self._refused[(key, expansion)] = self._clock()
        self._refused.move_to_end((key, expansion))
        while len(self._refused) > self._max_keys:
            self._refused.popitem(last=False)

    def forget(self, key: str | None = None) -> None:
        if key is None:
            self._refused.clear()
        else:
            for known in [k for k in self._refused if k[0] == key]:
                del self._refused[known]
