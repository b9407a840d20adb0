"""Slow Flexmls in `Turn.guard()`: where the "Still asking Flexmls…" notice goes on each surface,
how the answer takes its place, the one-notice rule, and the deadline (fake clock, mocks)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock

from blocks import Message
from blocks.waiting import STILL_ASKING
from handlers.patience import Patience
from handlers.people import Asker, People
from handlers.turn import Turn, ephemeral, posted_notice
from spark import RateLimited
from tests.handlers.test_patience import FakeTime, settle
from tests.helpers.turn import TEAM

ANSWER = Message("Janet Doe: 3 listings viewed")
PATIENCE = Patience(notice_after=3, deadline=15)


def responder() -> AsyncMock:
    return AsyncMock(return_value=SimpleNamespace(status_code=200, body="ok"))


def turn_with(reply, notify, time: FakeTime, **options) -> Turn:
    asker = Asker(TEAM, False, MagicMock(spec=People), asyncio.Semaphore(1))
    return Turn(MagicMock(), TEAM, "U1", reply, notify, client=options.pop("client", MagicMock()),
                asker=asker, patience=PATIENCE, sleep=time.sleep, **options)  # fmt: skip


def sent(respond: AsyncMock) -> list[tuple[str, object, object]]:
    """(text, replace_original, response_type) of each post to the response URL."""
    return [
        (c.kwargs.get("text"), c.kwargs.get("replace_original"), c.kwargs.get("response_type"))
        for c in respond.await_args_list
    ]


async def run_slowly(turn: Turn, time: FakeTime, seconds: float, answer) -> asyncio.Task:
    """Run `answer(turn)` in the turn's guard after `seconds` of waiting on the fake clock."""
    release = asyncio.Event()

    async def work() -> None:
        async with turn.guard():
            await release.wait()
            await answer(turn)

    task = asyncio.create_task(work())
    await time.advance(seconds)
    release.set()
    await task
    return task


async def test_a_slow_command_shows_the_notice_then_the_answer_replaces_it():
    time, respond = FakeTime(), responder()
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)
    await run_slowly(turn, time, 4, lambda t: t.reply(ANSWER))
    assert sent(respond) == [(STILL_ASKING, False, "ephemeral"), (ANSWER.text, True, "ephemeral")]


async def test_a_quick_command_gets_the_answer_alone():
    time, respond = FakeTime(), responder()
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)
    await run_slowly(turn, time, 2.5, lambda t: t.reply(ANSWER))
    await time.advance(30)
    assert sent(respond) == [(ANSWER.text, False, "ephemeral")]


async def test_a_retrying_notice_and_the_still_asking_one_never_both_show():
    time, respond = FakeTime(), responder()
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)

    async def answer(t: Turn) -> None:
        await t.on_retry(RateLimited("slow down"), 5.0)
        await t.reply(ANSWER)

    await run_slowly(turn, time, 4, answer)
    assert sent(respond) == [(STILL_ASKING, False, "ephemeral"), (ANSWER.text, True, "ephemeral")]

    time, respond = FakeTime(), responder()
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)

    async def retried_first(t: Turn) -> None:
        await t.reply(ANSWER)

    async with turn.guard():
        await turn.on_retry(RateLimited("slow down"), 5.0)  # before the 3 s notice
        await time.advance(4)
        await retried_first(turn)
    texts = [text for text, _, _ in sent(respond)]
    assert len(texts) == 2 and "rate-limiting" in texts[0] and texts[1] == ANSWER.text
    assert STILL_ASKING not in texts


async def test_a_click_on_the_askers_own_message_shows_the_notice_in_its_place():
    time, respond = FakeTime(), responder()
    turn = turn_with(ephemeral(respond, replace=True), ephemeral(respond), time,
                     respond=respond, in_ephemeral=True)  # fmt: skip
    await run_slowly(turn, time, 4, lambda t: t.reply(ANSWER))
    assert sent(respond) == [(STILL_ASKING, True, "ephemeral"), (ANSWER.text, True, "ephemeral")]


async def test_sharing_after_an_in_place_notice_posts_publicly_then_deletes_the_notice():
    time, respond = FakeTime(), responder()
    turn = turn_with(ephemeral(respond, replace=True), ephemeral(respond), time,
                     respond=respond, in_ephemeral=True)  # fmt: skip
    await run_slowly(turn, time, 4, lambda t: t.post_in_channel(ANSWER))
    assert sent(respond)[:2] == [
        (STILL_ASKING, True, "ephemeral"),
        (ANSWER.text, False, "in_channel"),
    ]
    assert respond.await_args_list[2].kwargs == {"delete_original": True}


async def test_a_click_on_a_public_message_never_replaces_it_with_a_notice():
    time, respond = FakeTime(), responder()
    turn = turn_with(ephemeral(respond, replace=True), ephemeral(respond), time,
                     respond=respond, in_ephemeral=False)  # fmt: skip
    await run_slowly(turn, time, 4, lambda t: t.post_privately(ANSWER))
    assert sent(respond) == [(STILL_ASKING, False, "ephemeral"), (ANSWER.text, False, "ephemeral")]


async def test_in_a_dm_the_answer_is_a_new_message_and_the_notice_is_deleted():
    time, client = FakeTime(), MagicMock()
    client.chat_postMessage = AsyncMock(return_value={"channel": "D1", "ts": "1.000100"})
    client.chat_delete = AsyncMock()

    async def reply(message: Message) -> None:
        await client.chat_postMessage(channel="D1", **message.as_kwargs())

    turn = turn_with(reply, reply, time, client=client, notice=posted_notice(client, "D1"))
    await run_slowly(turn, time, 4, lambda t: t.reply(ANSWER))
    posted = [c.kwargs["text"] for c in client.chat_postMessage.await_args_list]
    assert posted == [STILL_ASKING, ANSWER.text]
    client.chat_delete.assert_awaited_once_with(channel="D1", ts="1.000100")


async def test_past_the_deadline_the_work_is_cancelled_and_the_end_replaces_the_notice():
    time, respond = FakeTime(), responder()
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)
    cancelled = asyncio.Event()

    async def hang() -> None:
        async with turn.guard():
            try:
                await asyncio.Event().wait()  # Flexmls never answers
            except asyncio.CancelledError:
                cancelled.set()
                raise

    task = asyncio.create_task(hang())
    await time.advance(15)
    await asyncio.wait_for(task, 1)  # the clock passed the deadline: the work is over
    assert cancelled.is_set() and not task.cancelled()
    (notice, _, _), (end, replace, _) = sent(respond)
    assert notice == STILL_ASKING
    assert end.startswith("Flexmls is taking too long") and replace is True
    assert turn.asker.admission.locked() is False  # the work slot is free again
    assert time.sleeping == 0


async def test_a_notice_slack_refuses_does_not_fail_the_answer():
    time, respond = FakeTime(), responder()
    respond.side_effect = [RuntimeError("slack down"), SimpleNamespace(status_code=200)]
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)
    await run_slowly(turn, time, 4, lambda t: t.reply(ANSWER))
    assert [text for text, _, _ in sent(respond)] == [STILL_ASKING, ANSWER.text]
    assert sent(respond)[1][1] is False  # nothing on screen to replace: a plain reply


async def test_outside_the_guard_replies_are_what_the_surface_gave():
    time, respond = FakeTime(), responder()
    reply = ephemeral(respond)
    turn = turn_with(reply, reply, time)
    async with turn.guard():
        assert turn.reply is not reply
    assert turn.reply is reply and turn.notify is reply
    await settle()
