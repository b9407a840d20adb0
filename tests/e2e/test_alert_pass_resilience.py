"""One agent's failing token refresh must not stop every agent's alerts (outside review)."""

from __future__ import annotations

import datetime as dt

import pytest

from spark import SparkUnavailable
from storage.alerts import add_watch
from storage.tokens import Connection, save_connection
from tests.e2e.test_alerts import OTHER, alert_dms, interval, run_alerts, watch

TEAM = "T0STANDIN"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": "60"}


class DownTokenEndpoint:
    """Flexmls' token endpoint unreachable (a timeout, a 502): what `SparkOAuth.refresh` raises."""

    async def refresh(self, refresh_token: str):
        raise SparkUnavailable("Could not reach Flexmls for a token (ConnectError)")


async def test_one_agents_refresh_outage_does_not_stop_other_agents_alerts(stack):
    services = stack.bot.services
    now = stack.clock()
    # OTHER: an OAuth connection about to expire (refreshed before use) and one watch.
    save_connection(services.db, services.cipher, Connection(
        TEAM, OTHER, "expiring-access", "refresh-1", now + dt.timedelta(seconds=30),
        "spark-other", "Other Agent", "oauth", "ok", now, now))  # fmt: skip
    add_watch(services.db, team_id=TEAM, user_id=OTHER, contact_id="20250101000000000000000001",
              display_name="Someone", access="own", now=now)  # fmt: skip
    services.keeper.oauth = DownTokenEndpoint()

    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")  # AGENT, workspace token: nothing to do with OTHER
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    failures = []
    every, waited = interval(stack, priya.id), dt.timedelta(0)
    while waited <= 2 * every and not alert_dms(stack):
        stack.clock.advance(seconds=12)
        waited += dt.timedelta(seconds=12)
        try:  # as `modes.every` runs it: a failed pass is logged, the next one comes later
            await run_alerts(stack)
        except Exception as error:
            failures.append(type(error).__name__)
    assert failures == [], f"whole passes failed: {failures[:3]} x{len(failures)}"
    assert len(alert_dms(stack)) == 1
