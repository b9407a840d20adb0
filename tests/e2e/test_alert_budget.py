"""The poller within the key's budget, end to end: with a tiny `SPARK_RATE_LIMIT` the watch set
does not fit the poller's share, so every interval stretches by one factor; the watch reply and
`/activity watch` say how often contacts are really checked, and why; the poller reschedules
with the stretched interval."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.poll_budget import plan
from blocks.alerts import span
from devtools.slack_standin.messages import texts
from storage.alerts import get_watch
from storage.poll_demand import polled_reads
from tests.e2e.test_alerts import AGENT, command, run_alerts, watch

MIN_S = 60
RATE = (30, 3600)  # 30 requests an hour: the poller plans for 10.5 reads an hour


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": str(MIN_S), "SPARK_RATE_LIMIT": f"{RATE[0]}/{RATE[1]}"}


def expected_factor(stack) -> float:
    services = stack.bot.services
    reads = polled_reads(services.db, services.clock())
    return plan((r.band for r in reads), min_s=MIN_S, rate=RATE).factor


def minutes(seconds: float) -> str:
    return span(round(seconds / 60))


async def test_a_watch_set_too_big_for_a_tiny_budget_is_checked_less_often_and_says_why(stack):
    priya = stack.contact("heavy_viewer")
    reply = await watch(stack, "priya patel")
    assert "instead of" in texts(reply)  # one hot contact is already more than 10 reads/h
    await watch(stack, "zoe obrien")
    factor = expected_factor(stack)
    assert factor > 2

    listed = texts(await command(stack, "watch"))
    hot_every = minutes(MIN_S * factor)
    assert f"checked every {hot_every} instead of 1 min" in listed
    assert "many contacts are watched on this Flexmls key" in listed

    # The poller reschedules with the stretched interval too.
    stack.clock.advance(seconds=MIN_S * factor + 1)
    report = await run_alerts(stack)
    assert report.checked >= 1
    db = stack.bot.services.db
    (team_id,) = {row["team_id"] for row in db.query("SELECT team_id FROM alert_watches")}
    w = get_watch(db, team_id, AGENT, priya.id)
    assert w is not None and w.last_checked_at is not None and w.next_check_at is not None
    assert w.next_check_at - w.last_checked_at == dt.timedelta(seconds=MIN_S * factor)
