"""`Turn`: who may ask, which access they get, and the error net (spec'd mocks, no network)."""

from __future__ import annotations

from unittest.mock import AsyncMock

import pytest

from activity.auth import ConnectionBroken, Credential, NotConnected
from blocks import BadActionValue, Message
from spark import InvalidQuery, RateLimited
from spark.budget import Priority, current_work
from tests.helpers.turn import TEAM, make_turn, person


def told(notify: AsyncMock) -> str:
    (message,), _ = notify.call_args
    assert isinstance(message, Message)
    return message.text


async def test_a_member_without_a_connection_gets_the_workspace_token():
    shared = Credential("ws-token-123456", workspace=True)
    turn, _, _ = make_turn(workspace=shared)
    assert (await turn.access()).token == "ws-token-123456"


async def test_own_connection_wins_and_slack_is_still_asked_who_it_is():
    mine = Credential("own-token-123456", workspace=False)
    turn, _, people = make_turn(own=mine, workspace=Credential("ws-1234567", workspace=True))
    assert await turn.credential() is mine
    people.get.assert_awaited()  # admit() checks the person even with a connection


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        (person(guest=True), "Guests need their own Flexmls connection"),
        (person(known=False), "couldn't check your Slack account"),
        (person(team_id="T0OTHER"), "only works for members of this workspace"),
        (person(stranger=True), "only works for members of this workspace"),
    ],
)
async def test_only_a_certain_member_gets_the_workspace_token(who, refusal):
    turn, notify, _ = make_turn(workspace=Credential("ws-1234567", workspace=True), who=who)
    async with turn.guard():
        await turn.access()
    assert refusal in told(notify)


async def test_a_stranger_flagged_by_the_gate_is_refused_before_slack_is_asked():
    turn, notify, people = make_turn(stranger=True)
    async with turn.guard():
        await turn.admit()
    assert "only works for members" in told(notify)
    people.get.assert_not_awaited()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (NotConnected(), "Flexmls isn't connected"),
        (ConnectionBroken(), "stopped working"),
        (BadActionValue("x"), "out of date or damaged"),
        (InvalidQuery("too long"), "too long"),
        (RateLimited("slow down", retry_after=3), "rate-limit"),
        (ZeroDivisionError(), "something went wrong on our side"),
    ],
)
async def test_every_failure_becomes_one_friendly_message(error, words):
    turn, notify, _ = make_turn()
    async with turn.guard():
        raise error
    assert notify.await_count == 1
    assert words.lower() in told(notify).lower()


async def test_the_guard_runs_work_as_this_person_at_the_turns_priority():
    turn, _, _ = make_turn(priority=Priority.CLICK)
    async with turn.guard():
        work = current_work()
    assert work.priority is Priority.CLICK and work.owner == f"{TEAM}:U1"


async def test_a_noticeable_wait_is_announced_once():
    turn, notify, _ = make_turn()
    await turn.on_retry(RateLimited("x"), 0.5)  # too short to mention
    await turn.on_retry(RateLimited("x"), 5.0)
    await turn.on_retry(RateLimited("x"), 9.0)
    assert notify.await_count == 1


async def test_slack_failing_to_take_the_error_message_is_logged_not_raised():
    turn, notify, _ = make_turn()
    notify.side_effect = RuntimeError("slack down")
    async with turn.guard():
        raise NotConnected
    assert notify.await_count == 1


async def test_access_carries_the_askers_time_zone():
    mine = Credential("own-token-123456", workspace=False)
    turn, _, _ = make_turn(own=mine, who=person(tz="America/Denver"))
    assert (await turn.access()).tz == "America/Denver"
    turn, _, _ = make_turn(own=mine, who=person(known=False))
    assert (await turn.access()).tz == "UTC"
