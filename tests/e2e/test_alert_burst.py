"""A burst of due checks (a start-up, `watch tag:`, a morning of lookups) stays within the
poller's part of the key: each pass starts only the reads its allowance holds."""

from __future__ import annotations

import pytest

from devtools.slack_standin.messages import texts
from tests.e2e.test_alerts import command, run_alerts, summary_reads

RATE = "300/300"  # the poller's part: 35% of 1/s, 0.35 reads/s; at most 60 s of it at once: 21


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": "60", "SPARK_RATE_LIMIT": RATE}


async def test_fifty_new_watches_are_read_at_the_pollers_pace_not_all_at_once(stack):
    said = texts(await command(stack, "watch tag:Buyer"))
    assert "Watching 50 contacts tagged Buyer" in said, said
    before = summary_reads(stack)
    stack.clock.advance(seconds=12)
    await run_alerts(stack)
    assert summary_reads(stack) - before == 21  # a full allowance: 60 s of 0.35 reads/s
    stack.clock.advance(seconds=12)
    await run_alerts(stack)
    assert summary_reads(stack) - before == 21 + 4  # 12 s more: 4.2 reads
    for _ in range(20):  # the rest follow at that pace, none forgotten
        stack.clock.advance(seconds=12)
        await run_alerts(stack)
    assert summary_reads(stack) - before >= 50
