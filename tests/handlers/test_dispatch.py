"""The `/activity` grammar's router: which subcommand runs for what the user typed."""

from __future__ import annotations

from unittest.mock import AsyncMock

import pytest

import handlers.dispatch as dispatch
from tests.helpers.turn import make_turn


def texts(mock: AsyncMock) -> str:
    return " ".join(call.args[0].text for call in mock.await_args_list)


@pytest.fixture
def lookup(monkeypatch) -> AsyncMock:
    spy = AsyncMock()
    monkeypatch.setattr(dispatch, "lookup", spy)
    return spy


@pytest.mark.parametrize(
    "typed", ["janet doe", "  Janet   Doe ", "jane@example.org", "303-555-0142"]
)
async def test_anything_that_is_not_a_verb_is_a_lookup(lookup, typed):
    turn, notify, _ = make_turn()
    await dispatch.answer(turn, typed)
    lookup.assert_awaited_once()
    assert lookup.await_args.args[1] == " ".join(typed.split())
    notify.assert_not_awaited()


async def test_help_lists_every_subcommand(lookup):
    turn, _, _ = make_turn()
    await dispatch.answer(turn, "help")
    lookup.assert_not_awaited()
    shown = str(turn.reply.await_args.args[0].blocks)
    for sub in dispatch.SUBCOMMANDS:
        assert sub.description.split("<")[0] in shown, sub.usage  # `<` is escaped for Slack


async def test_a_slack_member_alone_is_not_a_contact(lookup):
    turn, notify, _ = make_turn()
    await dispatch.answer(turn, "<@U0AGENT2>")
    lookup.assert_not_awaited()
    assert "Slack member" in texts(notify)


async def test_a_token_anywhere_in_the_text_is_never_looked_up(lookup):
    turn, notify, _ = make_turn()
    await dispatch.answer(turn, "viewed 7k2mq9xw4hd8rt6vb3np5zc1")
    lookup.assert_not_awaited()
    assert "looks like an access token" in texts(notify)
    assert "7k2mq9xw4hd8rt6vb3np5zc1" not in texts(notify)


async def test_a_stranger_gets_nothing_routed(lookup):
    turn, notify, _ = make_turn(stranger=True)
    await dispatch.answer(turn, "help")
    turn.reply.assert_not_awaited()
    assert "only works for members" in texts(notify)
