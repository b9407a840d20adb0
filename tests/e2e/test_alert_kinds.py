""" "Back after a quiet spell" and "Opened your e-mail" end to end: signed commands, snapshots the
test seeds into the bot's database (our own history), counters the test raises in the sandbox,
and the poller's passes driven as in `test_alerts`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from activity.lookup import to_counters
from devtools.slack_standin.messages import texts
from runtime import open_services
from storage import record_snapshot
from tests.e2e.test_alerts import (  # noqa: F401 (bot_env: the fixture, for this module too)
    AGENT,
    OTHER,
    alert_dms,
    bot_env,
    command,
    interval,
    next_checks,
    poll_until_alert,
    run_alerts,
    summaries,
    watch,
)

Finder = Callable[[Any, str], list[dict[str, Any]]]


def back_dms(stack, user_id: str = AGENT) -> list[dict[str, Any]]:
    return [m for m in stack.slack.messages(user_id) if " is back: " in m.get("text", "")]


def opened_dms(stack, user_id: str = AGENT) -> list[dict[str, Any]]:
    return [m for m in stack.slack.messages(user_id) if "opened an e-mail" in m.get("text", "")]


def posts(stack, words: str) -> int:
    return sum(words in c.body.get("text", "") for c in stack.slack.calls("chat.postMessage"))


def seed_quiet_history(stack, contact_id: str, days: int) -> None:
    """Daily snapshots over the last `days` days, every one showing today's counters: our own
    history proves the contact did nothing in that time."""
    now = stack.clock()
    counters = to_counters(stack.sandbox.state.activity(contact_id, now.date()))
    for back in range(days, 0, -1):
        moment = now - dt.timedelta(days=back)
        record_snapshot(
            stack.bot.services.db,
            contact_id=contact_id,
            day=moment.date(),
            counters=counters,
            now=moment,
        )


async def poll_until(stack, contact_id: str, found: Finder, user_id: str = AGENT) -> None:
    """Run passes every tick until `found` grows (fails after two poll intervals)."""
    every, waited, before = interval(stack, contact_id), dt.timedelta(0), len(found(stack, user_id))
    while waited <= 2 * every:
        stack.clock.advance(seconds=12)
        waited += dt.timedelta(seconds=12)
        await run_alerts(stack)
        if len(found(stack, user_id)) > before:
            return
    raise AssertionError(f"nothing within two poll intervals ({every})")


async def quiet_contact_watched(stack) -> Any:
    quinn = stack.contact("zero_activity")
    seed_quiet_history(stack, quinn.id, days=22)
    await watch(stack, "quinn stillwater")
    await next_checks(stack, quinn.id)
    assert back_dms(stack) == []  # quiet for three weeks, and still quiet: nothing to say
    return quinn


async def test_back_after_three_quiet_weeks_one_dm_with_the_alert_buttons_even_after_a_restart(
    stack,
):
    quinn = await quiet_contact_watched(stack)
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=2)
    await poll_until(stack, quinn.id, back_dms)
    (dm,) = back_dms(stack)
    assert dm["text"] == "Quinn Stillwater is back: viewed 2 listings after 3 weeks quiet"
    assert [b["text"]["text"] for b in dm["blocks"][1]["elements"]] == [
        "Card", "Viewed", "Snooze 1 day", "Stop watching",
    ]  # fmt: skip
    await next_checks(stack, quinn.id)
    await next_checks(stack, quinn.id)
    async with open_services(stack.bot.services.settings, clock=stack.clock) as restarted:
        await next_checks(stack, quinn.id, restarted)
    assert posts(stack, " is back: ") == 1 and alert_dms(stack) == []
    (row,) = stack.bot.services.db.execute(
        "SELECT kind, state, outcome, ts FROM alert_deliveries"
    ).fetchall()
    assert row == ("back", "delivered", "posted", dm["ts"])


async def test_back_and_active_now_in_the_same_check_send_one_dm_which_later_views_update(stack):
    quinn = await quiet_contact_watched(stack)
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=5)  # ≥ 3: "Active now" too
    await poll_until(stack, quinn.id, back_dms)
    await next_checks(stack, quinn.id)
    (dm,) = back_dms(stack)
    assert "viewed 5 listings after 3 weeks quiet" in dm["text"]
    assert alert_dms(stack) == [] and len(stack.slack.messages(AGENT)) == 1
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=3)
    await next_checks(stack, quinn.id)
    (dm,) = back_dms(stack)
    assert "viewed 8 listings after 3 weeks quiet" in dm["text"]
    assert posts(stack, "Quinn") == 1 and len(stack.slack.calls("chat.update")) == 1


async def test_a_contact_watched_today_with_no_history_is_never_back(stack):
    quinn = stack.contact("zero_activity")
    await watch(stack, "quinn stillwater")  # no snapshot before today: nothing proves a spell
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=2, subscription_emails_opened=1)
    await next_checks(stack, quinn.id)
    await next_checks(stack, quinn.id)
    assert back_dms(stack) == [] and stack.slack.messages(AGENT) == []


async def test_quiet_hours_hold_a_back_and_the_summary_words_it_as_one(stack):
    await command(stack, "alerts quiet 07:00-09:00")  # 15:00 UTC is 08:00 in Denver
    quinn = await quiet_contact_watched(stack)
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=1, manual_emails_opened=1)
    await next_checks(stack, quinn.id)
    await next_checks(stack, quinn.id)
    assert back_dms(stack) == [] and summaries(stack) == []
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 0, 30, tzinfo=dt.UTC))  # 09:00:30 in Denver
    await run_alerts(stack)
    (summary,) = summaries(stack)
    assert (
        "Quinn Stillwater* is back after 3 weeks quiet: viewed 1 listing and opened an e-mail"
        in str(summary["blocks"])
    )
    await next_checks(stack, quinn.id)
    assert len(summaries(stack)) == 1 and back_dms(stack) == []


async def test_opened_emails_only_for_agents_who_turn_them_on(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await watch(stack, "priya patel", OTHER)  # same contact, e-mail alerts left off
    assert "E-mail alerts: off" in texts(await command(stack, "alerts"))
    stack.sandbox.state.add_activity(priya.id, manual_emails_sent=2, manual_emails_opened=2)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert opened_dms(stack) == []  # off by default

    assert "E-mail alerts: on" in texts(await command(stack, "alerts email on"))
    await poll_until(stack, priya.id, opened_dms)
    (dm,) = opened_dms(stack)
    assert dm["text"] == "Priya Patel opened an e-mail from you or your team (2 new opens)"
    assert "whoever on your team sent" in texts(dm)
    await next_checks(stack, priya.id)
    assert posts(stack, "opened an e-mail") == 1

    stack.clock.advance(seconds=4 * 3600)  # a rise within 4 hours of the DM is folded into it
    stack.sandbox.state.add_activity(priya.id, manual_emails_opened=1)
    await poll_until(stack, priya.id, opened_dms)
    assert opened_dms(stack)[-1]["text"].endswith("(1 new open)")
    assert posts(stack, "opened an e-mail") == 2 and opened_dms(stack, OTHER) == []


@pytest.mark.parametrize(
    "setting", ["email maybe", "email", "email on please", "e-mail 1", "email <!channel>"]
)
async def test_a_bad_email_setting_gets_a_friendly_refusal_and_changes_nothing(stack, setting):
    reply = texts(await command(stack, f"alerts {setting}"))
    assert "either on or off" in reply and "/activity alerts email on" in reply, reply
    assert "E-mail alerts: off" in texts(await command(stack, "alerts"))
    assert stack.bot.services.db.execute("SELECT count(*) FROM alert_settings").fetchone()[0] == 0


# -- found by the outside review -----------------------------------------------------------------


async def test_a_burst_after_a_summary_listed_a_back_alert_still_gets_its_dm(stack):
    # 15:00 UTC is 08:00 in Denver (the stand-in's zone): quiet until 08:30.
    await command(stack, "alerts quiet 07:00-08:30")
    quinn = await quiet_contact_watched(stack)
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=1)  # back, during quiet hours
    await next_checks(stack, quinn.id)
    assert back_dms(stack) == [] and summaries(stack) == []  # held
    stack.clock.set(dt.datetime(2026, 3, 2, 15, 31, tzinfo=dt.UTC))  # 08:31: quiet hours over
    await next_checks(stack, quinn.id)
    assert len(summaries(stack)) == 1
    stack.sandbox.state.add_activity(quinn.id, listings_viewed=6)  # a real burst now
    await poll_until_alert(stack, quinn.id)
    (dm,) = alert_dms(stack)
    assert "viewed 6 listings" in dm["text"], dm["text"]  # counted from what the summary showed


async def test_active_now_and_an_opened_email_at_one_check_are_one_dm(stack):
    await command(stack, "alerts email on")
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5, manual_emails_opened=1)
    await poll_until_alert(stack, priya.id)
    await next_checks(stack, priya.id)
    (dm,) = alert_dms(stack)  # one DM, which says both (updated with the open)
    assert "viewed 5 listings" in dm["text"] and "(1 new open)" in dm["text"], dm["text"]
    assert posts(stack, "opened an e-mail") == 0


async def test_folding_an_open_into_the_active_now_dm_keeps_its_newest_viewed_listings(stack):
    """Last review: the opens update redrew the DM without its listings (chat.update replaces
    the whole message)."""
    await command(stack, "alerts email on")
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5, manual_emails_opened=1)
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack)
    assert "(1 new open)" in dm["text"], dm["text"]
    assert "Newest viewed" in str(dm["blocks"]), dm["blocks"]


async def test_e_mails_opened_again_and_again_make_one_dm_per_four_hours(stack):
    await command(stack, "alerts email on")
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    for _ in range(4):  # a mail app opening the e-mail at every check, for an hour or so
        stack.sandbox.state.add_activity(priya.id, manual_emails_opened=1)
        await next_checks(stack, priya.id)
    assert len(opened_dms(stack)) == 1
    stack.clock.advance(seconds=4 * 3600)
    stack.sandbox.state.add_activity(priya.id, manual_emails_opened=1)
    await next_checks(stack, priya.id)
    assert len(opened_dms(stack)) == 2  # a new rise after the window: a new DM


async def test_an_email_opened_three_hours_after_an_active_now_dm_reaches_the_agent(stack):
    """Second review: the fold dropped it (the Active now DM never mentioned e-mails)."""
    await command(stack, "alerts email on")
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id)
    stack.clock.advance(seconds=3 * 3600)  # an afternoon later: she opens the agent's e-mail
    stack.sandbox.state.add_activity(priya.id, manual_emails_opened=1)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    (dm,) = alert_dms(stack)  # the Active now DM, updated: one DM about her afternoon
    assert "(1 new open)" in dm["text"], dm["text"]


async def test_an_email_opened_after_the_dms_four_hours_gets_its_own_dm(stack):
    """Last review: the fold counted 4 hours from the DM's latest update, so an open 5 hours
    after the DM only edited it (no notification); the DM's own window ends 4 hours after it
    was posted."""
    await command(stack, "alerts email on")
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id)
    stack.clock.advance(seconds=3 * 3600 + 50 * 60)  # one more view, within the DM's 4 hours
    stack.sandbox.state.add_activity(priya.id, listings_viewed=1)
    await next_checks(stack, priya.id)
    stack.clock.advance(seconds=70 * 60)  # 5 hours after the DM: she opens the agent's e-mail
    stack.sandbox.state.add_activity(priya.id, manual_emails_opened=1)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert posts(stack, "opened an e-mail") == 1, [d["text"] for d in opened_dms(stack)]
    (dm,) = alert_dms(stack)
    assert "new open" not in dm["text"], dm["text"]  # the old DM is left as it was


async def test_an_email_opened_during_quiet_hours_after_a_held_burst_is_in_the_summary(stack):
    """Second review: folded into the held burst, the open was missing from the summary."""
    await command(stack, "alerts email on")
    await command(stack, "alerts quiet 07:00-09:00")  # 15:00 UTC is 08:00 in Denver
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)  # held
    stack.sandbox.state.add_activity(priya.id, manual_emails_opened=1)
    await next_checks(stack, priya.id)  # folded into the held one
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 0, 30, tzinfo=dt.UTC))  # 09:00:30 Denver
    await run_alerts(stack)
    (summary,) = summaries(stack)
    assert "viewed 5 listings and opened an e-mail (1 new open)" in str(summary["blocks"])
