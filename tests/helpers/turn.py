"""A `Turn` on spec'd mocks: no Slack, no Spark, no database."""

from __future__ import annotations

import asyncio
from unittest.mock import AsyncMock, MagicMock, create_autospec

from activity.auth import Credential, TokenKeeper
from handlers.people import Asker, People, Person
from handlers.turn import Turn
from spark.budget import Priority

TEAM = "T0STANDIN"


def person(**overrides) -> Person:
    fields = {"user_id": "U1", "team_id": TEAM, "guest": False, "stranger": False, "known": True}
    fields.update(overrides)
    return Person(**fields)


def make_turn(
    *,
    own: Credential | None = None,
    workspace: Credential | None = None,
    who: Person | None = None,
    stranger: bool = False,
    team_id: str = TEAM,
    priority: Priority = Priority.INTERACTIVE,
) -> tuple[Turn, AsyncMock, MagicMock]:
    keeper = create_autospec(TokenKeeper, instance=True)
    keeper.own_credential.return_value = own
    keeper.workspace_credential.return_value = workspace
    people = create_autospec(People, instance=True)
    people.get.return_value = who or person()
    services = MagicMock()
    services.keeper = keeper
    notify = AsyncMock()
    turn = Turn(services, team_id, "U1", AsyncMock(), notify, client=MagicMock(),
                asker=Asker(TEAM, stranger, people, asyncio.Semaphore(1)), priority=priority)  # fmt: skip
    return turn, notify, people
