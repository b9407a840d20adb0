"""Who is asking, as Slack knows them: the installed team's members, guests, and strangers.

Only members of the workspace the bot is installed in are served. Two kinds of people are not:
- **strangers**: people from another organisation reaching the bot through a Slack Connect
  channel. Their requests carry a team id other than the installed one (`team_id`,
  `user.team_id`, `user_team`), and `users.info` reports their home team. They are refused
  outright, with no Flexmls request made for them.
- **guests** (`is_restricted` / `is_ultra_restricted` in `users.info`): served only with their
  own Flexmls connection, never with the workspace-wide `SPARK_ACCESS_TOKEN`.

Every request asks `users.info` (cached for five minutes per user, so a demoted or deactivated
account loses access within that time): a stranger or deactivated account is refused on every
surface, and only a certain, full member of the installed team is served with the workspace
token. When Slack can't answer, the person is treated as a guest.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activity.cache import AsyncCache

PEOPLE_TTL_S = 300.0
PEOPLE_MAX = 4096
ASKER = "activity_asker"  # the key of `Asker` in the Bolt context

log = logging.getLogger(__name__)


class Stranger(Exception):
    """The request comes from outside the installed workspace (Slack Connect)."""


class GuestWithoutConnection(Exception):
    """A guest asked for Flexmls data without a connection of their own."""


class AskerUnknown(Exception):
    """Slack couldn't say who is asking, and only a certain member may use the workspace token."""


@dataclass(frozen=True)
class Person:
    user_id: str
    team_id: str  # the user's home team, as users.info says ("" when it didn't say)
    guest: bool  # a multi- or single-channel guest
    stranger: bool = False  # `is_stranger` (another org's user), or a deactivated account
    known: bool = True  # False when Slack could not tell us (then: treated as a guest)
    tz: str = "UTC"  # IANA time zone from users.info; UTC when absent or not a known zone

    def outsider(self, installed_team: str) -> bool:
        """Certainly not one of the installed team's people: refused outright."""
        return self.stranger or is_foreign(installed_team, [self.team_id])

    def member_of(self, installed_team: str) -> bool:
        """Certainly a full member: the only people the workspace token serves."""
        return (
            self.known
            and not self.guest
            and not self.outsider(installed_team)
            and bool(installed_team)
            and self.team_id == installed_team
        )


def is_foreign(installed_team: str, teams: Iterable[str | None]) -> bool:
    """True when any team id the request carries is not the installed team's."""
    return bool(installed_team) and any(t and t != installed_team for t in teams)


def time_zone(value: object) -> str:
    """An IANA zone name Slack sent (`users.info` `tz`) if this machine knows it, else "UTC"."""
    if not isinstance(value, str) or not 0 < len(value) <= 64 or value.strip() != value:
        return "UTC"
    if value.casefold() in ("localtime", "local"):
        return "UTC"  # means the server's own zone, not the person's
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        return "UTC"
    return value


def person_from_user(user: dict[str, Any]) -> Person:
    team = user.get("team_id")
    return Person(
        user_id=str(user.get("id") or ""),
        team_id=team if isinstance(team, str) else "",
        guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        stranger=bool(user.get("is_stranger") or user.get("deleted")),
        tz=time_zone(user.get("tz")),
    )


class People:
    """`users.info`, cached; an unknown answer fails closed (treated as a guest, not cached)."""

    def __init__(
        self,
        *,
        ttl: float = PEOPLE_TTL_S,
        max_entries: int = PEOPLE_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache: AsyncCache[Person] = AsyncCache(ttl=ttl, max_entries=max_entries, clock=clock)

    async def get(self, client: AsyncWebClient | None, user_id: str) -> Person:
        if client is None:
            return Person(user_id, "", guest=True, known=False)
        try:
            return await self._cache.get(user_id, lambda: self._fetch(client, user_id))
        except SlackApiError as error:
            log.warning("users.info failed (%s); serving as a guest", error.response.get("error"))
        except Exception as error:  # Slack unreachable: fail closed, try again next time
            log.warning("users.info failed (%s); serving as a guest", type(error).__name__)
        return Person(user_id, "", guest=True, known=False)

    @staticmethod
    async def _fetch(client: AsyncWebClient, user_id: str) -> Person:
        response = await client.users_info(user=user_id)
        return person_from_user(response.get("user") or {})


@dataclass(frozen=True)
class Asker:
    """What the gate learnt about a request before any listener ran (no I/O), and the app's
    means to check and admit the person: the `users.info` cache and the work slots."""

    installed_team: str
    stranger: bool
    people: People
    # At most this many requests do their slow work at once; the rest wait their turn *after*
    # their ack, so a burst never starves the event loop of the time acks need.
    admission: asyncio.Semaphore


def asker_of(context: Any) -> Asker:
    """The gate's finding for this request; a request the gate did not see is a stranger's."""
    found = context.get(ASKER) if hasattr(context, "get") else None
    return found if isinstance(found, Asker) else Asker("", True, People(), asyncio.Semaphore(1))


def request_teams(body: dict[str, Any]) -> list[str | None]:
    """Every team id a Slack payload names for the person acting."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    found = [
        body.get("team_id"),
        body.get("user_team"),
        team.get("id"),
        user.get("team_id"),
        event.get("user_team"),
        event.get("source_team"),
        # The acting person's team in the events we answer (a mention, a DM to the bot).
        event.get("team") if event.get("type") in ("app_mention", "message") else None,
    ]
    return [t if isinstance(t, str) else None for t in found]
