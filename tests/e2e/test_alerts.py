""" "Active now" alerts end to end: signed `/activity watch` commands, counters the test raises in
the sandbox, the poller's pass driven with the stack's services and a poster on the stand-in
Slack (as `test_digests` drives `run_pass`), and clicks on the DM's buttons."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from activity.alerts import MAX_WATCHES, ActiveNow, PostUncertain, check_every, run_alert_pass
from devtools.sandbox import DEMO_ACCOUNT_ID, SECOND_AGENT_TOKEN
from devtools.slack_standin.messages import texts
from handlers.alerts import SlackAlertPoster
from runtime import open_services, slack_client
from storage.alerts import ALERT_LEASE, AlertKey, add_watch, claim_alert, get_pulse, get_watch
from tests.helpers.connect import paste_and_wait
from tests.helpers.stack import button

AGENT, OTHER, INTRUDER = "U0AGENT1", "U0AGENT2", "U0INTRUDER"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": "60"}


def poster_for(stack, services=None) -> SlackAlertPoster:
    return SlackAlertPoster(stack.bot.bot_client, services or stack.bot.services)


async def run_alerts(stack, services=None, poster=None):
    services = services or stack.bot.services
    return await run_alert_pass(services, poster or poster_for(stack, services))


def alert_dms(stack, user_id: str = AGENT) -> list[dict[str, Any]]:
    """The alert DMs in the agent's DM with the bot, as they read now (updates applied)."""
    return [m for m in stack.slack.messages(user_id) if "is active now" in m.get("text", "")]


def alert_posts(stack) -> list[Any]:
    return [
        c
        for c in stack.slack.calls("chat.postMessage")
        if "is active now" in c.body.get("text", "")
    ]


async def command(stack, text: str, user_id: str = AGENT) -> dict[str, Any]:
    return await stack.reply_to((await stack.sender.command(text, user_id=user_id)).response_url)


async def watch(stack, query: str, user_id: str = AGENT) -> dict[str, Any]:
    reply = await command(stack, f"watch {query}", user_id)
    assert "Watching" in texts(reply), texts(reply)
    return reply


def interval(stack, contact_id: str) -> dt.timedelta:
    services = stack.bot.services
    pulse = get_pulse(services.db, contact_id)
    return check_every(services, pulse.band if pulse else None)


async def poll_until_alert(
    stack, contact_id: str, user_id: str = AGENT, services=None
) -> dt.timedelta:
    """Run passes every tick until a DM arrives; how long it took (fails after 2 intervals)."""
    every = interval(stack, contact_id)
    tick = dt.timedelta(seconds=12)  # ALERT_POLL_MIN_S / 5
    waited = dt.timedelta(0)
    before = len(alert_dms(stack, user_id))
    while waited <= 2 * every:
        stack.clock.advance(seconds=tick.total_seconds())
        waited += tick
        await run_alerts(stack, services)
        if len(alert_dms(stack, user_id)) > before:
            return waited
    raise AssertionError(f"no alert within two poll intervals ({every})")


async def next_checks(stack, contact_id: str, services=None) -> None:
    """Advance one full interval, running every pass on the way."""
    ticks = int(interval(stack, contact_id).total_seconds() // 12) + 1
    for _ in range(ticks):
        stack.clock.advance(seconds=12)
        await run_alerts(stack, services)


async def test_watch_raise_views_one_dm_then_the_same_dm_updated_even_after_a_restart(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    assert alert_dms(stack) == []  # watching alone says nothing

    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack)
    assert "Priya Patel is active now: viewed 5 listings in the last" in dm["text"]
    assert [b["text"]["text"] for b in dm["blocks"][1]["elements"]] == [
        "Card", "Viewed", "Snooze 1 day", "Stop watching",
    ]  # fmt: skip
    await next_checks(stack, priya.id)
    assert len(alert_posts(stack)) == 1  # no new views: nothing more

    stack.sandbox.state.add_activity(priya.id, listings_viewed=3)
    await next_checks(stack, priya.id)
    (dm,) = alert_dms(stack)
    assert "viewed 8 listings" in dm["text"] and len(alert_posts(stack)) == 1
    assert len(stack.slack.calls("chat.update")) == 1

    # A restart: new services and poster over the same database, same window.
    settings = stack.bot.services.settings
    async with open_services(settings, clock=stack.clock) as restarted:
        await next_checks(stack, priya.id, restarted)
        assert len(alert_posts(stack)) == 1
        stack.sandbox.state.add_activity(priya.id, listings_viewed=2)
        await next_checks(stack, priya.id, restarted)
    (dm,) = alert_dms(stack)
    assert "viewed 10 listings" in dm["text"] and len(alert_posts(stack)) == 1


async def test_the_dm_is_posted_when_the_clock_moves_between_claim_and_post(stack):
    """Real time moves while a pass awaits Slack and Spark: the claim and its "posting" mark must
    use one reading of the clock, or the mark finds no claim and the DM is silently dropped."""
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    services = stack.bot.services

    def ticking() -> dt.datetime:  # every read is a millisecond after the last
        stack.clock.advance(seconds=0.001)
        return stack.clock()

    moving = dataclasses.replace(services, clock=ticking)
    await next_checks(stack, priya.id, moving)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id, services=moving)
    (dm,) = alert_dms(stack)
    assert "Priya Patel is active now: viewed 5 listings" in dm["text"]


async def test_snooze_and_stop_work_only_for_the_watcher(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=4)
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack)
    snooze, stop = button(dm, "alert_snooze"), button(dm, "alert_stop")
    db = stack.bot.services.db

    # Someone else clicking the watcher's buttons (a forwarded value), or forging their own.
    for value in (snooze["value"], f"a1|{INTRUDER}|{priya.id}", "a1|U0AGENT1", "x" * 500):
        for action in ("alert_snooze", "alert_stop"):
            clicked = await stack.sender.action(action, value, user_id=INTRUDER)
            refused = await stack.reply_to(clicked.response_url)
            assert "Snoozed" not in texts(refused) and "Stopped" not in texts(refused)
            if value != f"a1|{INTRUDER}|{priya.id}":  # not their own: refused as forged
                assert "out of date or damaged" in texts(refused), texts(refused)
    watch_row = get_watch(db, "T0STANDIN", AGENT, priya.id)
    assert watch_row is not None and not watch_row.stopped and watch_row.snoozed_until is None

    clicked = await stack.sender.action(snooze["action_id"], snooze["value"], user_id=AGENT)
    assert "Alerts about Priya Patel snoozed" in texts(await stack.reply_to(clicked.response_url))
    stack.sandbox.state.add_activity(priya.id, listings_viewed=9)
    stack.clock.advance(hours=5)  # past the update window, still snoozed: nothing is read
    requests_before = len(stack.sandbox.requests)
    await run_alerts(stack)
    assert len(stack.sandbox.requests) == requests_before and len(alert_posts(stack)) == 1

    clicked = await stack.sender.action(stop["action_id"], stop["value"], user_id=AGENT)
    assert "Stopped watching Priya Patel" in texts(await stack.reply_to(clicked.response_url))
    stack.clock.advance(days=1, hours=1)  # the snooze is over, but the watch is stopped
    await run_alerts(stack)
    assert len(stack.sandbox.requests) == requests_before and len(alert_posts(stack)) == 1
    listing = await command(stack, "watch")
    assert "don't watch anyone" in texts(listing)


async def test_card_and_viewed_open_new_private_messages_with_the_clickers_access(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=3)
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack)
    for prefix, expect in (("alert_card", "Priya Patel"), ("alert_viewed", "viewed")):
        b = button(dm, prefix)
        clicked = await stack.sender.action(
            b["action_id"], b["value"], user_id=AGENT, is_ephemeral=False
        )
        reply = await stack.reply_to(clicked.response_url)
        assert reply["replace_original"] is False and expect in texts(reply), texts(reply)
    assert alert_dms(stack)[0]["text"] == dm["text"]  # the alert stays, to be updated


async def test_an_agent_without_access_to_the_contact_gets_nothing(stack):
    priya = stack.contact("heavy_viewer")  # in Avery's book; agent 2 reads Blake's
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, user_id=OTHER)
    await watch(stack, "priya patel")
    # Agent 2 can't find her; a watch made before she left their book behaves the same.
    refused = await command(stack, "watch priya patel", OTHER)
    assert "Watching" not in texts(refused)
    db = stack.bot.services.db
    db.execute(
        "INSERT INTO alert_watches (team_id, user_id, contact_id, display_name, created_at)"
        " VALUES ('T0STANDIN', ?, ?, 'Priya Patel', '2026-03-02T15:00:00.000000+00:00')",
        [OTHER, priya.id],
    )
    stack.sandbox.state.add_activity(priya.id, listings_viewed=6)
    await poll_until_alert(stack, priya.id)
    await next_checks(stack, priya.id)
    assert len(alert_dms(stack, AGENT)) == 1
    assert alert_dms(stack, OTHER) == []
    assert not [m for m in stack.slack.messages(OTHER) if "Priya" in m.get("text", "")]
    later = get_watch(db, "T0STANDIN", OTHER, priya.id)
    assert later is not None and later.next_check_at is not None  # checked rarely, as a cold one
    assert later.next_check_at - stack.clock() > interval(stack, priya.id)


async def test_a_revoked_connection_pauses_that_agents_polling_with_one_dm(stack):
    priya = stack.contact("heavy_viewer")
    token = stack.sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)["access_token"]
    await paste_and_wait(stack, token, user_id=OTHER)
    await watch(stack, "priya patel", OTHER)
    await watch(stack, "priya patel", AGENT)  # the workspace token: unaffected
    del stack.sandbox.state.tokens[token]  # revoked at Flexmls
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id, AGENT)
    for _ in range(3):
        await next_checks(stack, priya.id)
    told = [m for m in stack.slack.messages(OTHER) if "paused" in m.get("text", "")]
    assert len(told) == 1 and "/activity connect" in texts(told[0])
    assert alert_dms(stack, OTHER) == []
    with_token = [r for r in stack.sandbox.requests if token in str(r.headers)]
    assert len(with_token) <= 2  # the failing read (and no more once paused)


def history_method(stack):
    def history(args: dict[str, Any]) -> dict[str, Any]:
        return {"messages": list(reversed(stack.slack.messages(str(args.get("channel")))))}

    stack.slack.add_method("conversations.history", history)


class Crash(Exception):
    """The process dies here (the pass logs it; the claim stays as it was)."""


class CrashAfterPosting(SlackAlertPoster):
    async def post(self, alert):
        await super().post(alert)
        raise Crash


class CrashBeforePosting(SlackAlertPoster):
    async def post(self, alert):
        raise Crash


@pytest.mark.parametrize(
    ("crashing", "expected_posts"), [(CrashAfterPosting, 1), (CrashBeforePosting, 1)]
)
async def test_a_crash_between_deciding_and_posting_sends_at_most_once_more(
    stack, crashing, expected_posts
):
    history_method(stack)
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    services = stack.bot.services
    crasher = crashing(stack.bot.bot_client, services)
    for _ in range(30):
        stack.clock.advance(seconds=12)
        await run_alert_pass(services, crasher)
        if services.db.execute("SELECT count(*) FROM alert_deliveries").fetchone()[0]:
            break
    async with open_services(services.settings, clock=stack.clock) as restarted:
        stack.clock.advance(seconds=ALERT_LEASE.total_seconds() + 1)
        for _ in range(3):
            await next_checks(stack, priya.id, restarted)
    assert len(alert_posts(stack)) == expected_posts
    (row,) = services.db.execute("SELECT state, ts FROM alert_deliveries").fetchall()
    assert row[0] == "delivered" and row[1] == alert_dms(stack)[0]["ts"]


async def test_a_claim_held_by_another_instance_is_not_posted_twice(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    services = stack.bot.services
    pulse = get_pulse(services.db, priya.id)
    key = AlertKey("T0STANDIN", AGENT, priya.id, pulse.quiet_at)
    assert claim_alert(services.db, key, display_name="x", baseline_views=0, shown_views=9,
                       now=stack.clock(), owner="otherhost:1:1")  # fmt: skip
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)
    assert alert_posts(stack) == []  # the other instance holds it (its lease is live)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("unwatch", "Say who to stop watching"),
        ("unwatch nobody-i-watch", "don't watch anyone by that name"),
        ("watch " + "a" * 300, "too long"),
        ("unwatch " + "a" * 300, "too long"),
        ("watch ' or ListingsViewed Gt 0 or '", "No contact"),
        ("unwatch <script>*bold*</script>", "don't watch anyone"),
    ],
)
async def test_hostile_empty_and_oversized_watch_input_gets_a_clear_answer(stack, text, expect):
    reply = await command(stack, text)
    assert expect.lower() in texts(reply).lower(), texts(reply)
    assert stack.bot.services.db.execute("SELECT count(*) FROM alert_watches").fetchone()[0] == 0


async def test_watch_with_namesakes_keeps_the_intent_and_unwatch_is_own_only(stack):
    picker = await command(stack, "watch jane doe")
    choose = button(picker, "contact_pick")
    assert choose["value"].startswith("p1|watch|")
    clicked = await stack.sender.action(choose["action_id"], choose["value"], user_id=AGENT)
    assert "Watching Jane Doe" in texts(await stack.reply_to(clicked.response_url))
    listing = await command(stack, "watch")
    assert "Jane Doe" in texts(listing) and "checked every" in texts(listing)
    assert "don't watch anyone" in texts(await command(stack, "watch", INTRUDER))
    assert "don't watch anyone by that name" in texts(
        await command(stack, "unwatch jane doe", INTRUDER)
    )
    assert "Stopped watching Jane Doe" in texts(await command(stack, "unwatch jane doe"))


async def test_a_resend_that_crashes_too_is_never_sent_again(stack):
    history_method(stack)
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    services = stack.bot.services
    for _ in range(30):
        stack.clock.advance(seconds=12)
        await run_alert_pass(services, CrashBeforePosting(stack.bot.bot_client, services))
        if services.db.execute("SELECT count(*) FROM alert_deliveries").fetchone()[0]:
            break
    stack.clock.advance(seconds=ALERT_LEASE.total_seconds() + 1)
    await run_alert_pass(services, CrashBeforePosting(stack.bot.bot_client, services))  # the resend
    assert services.db.execute("SELECT resent FROM alert_deliveries").fetchone()[0] == 1
    stack.clock.advance(seconds=ALERT_LEASE.total_seconds() + 1)
    for _ in range(3):
        await next_checks(stack, priya.id)
    assert alert_posts(stack) == []  # at most once more: that chance was used


async def test_at_most_fifty_watches_per_agent(stack):
    from storage.alerts import add_watch

    db = stack.bot.services.db
    for i in range(50):
        add_watch(db, team_id="T0STANDIN", user_id=AGENT, contact_id=f"C{i}", display_name=f"P{i}",
                  access="workspace", now=stack.clock())  # fmt: skip
    refused = await command(stack, "watch priya patel")
    assert "most contacts you can" in texts(refused) and "50" in texts(refused)
    assert "Watching" in texts(await command(stack, "watch priya patel", OTHER))
    assert (
        db.execute("SELECT count(*) FROM alert_watches WHERE user_id = ?", [AGENT]).fetchone()[0]
        == 50
    )


# -- found by the outside review of this slice ---------------------------------------------------


def summary_reads(stack, contact_id: str = "") -> int:
    """Activity-summary reads the sandbox served about the contact (about any, without one)."""
    return sum(
        r.path.endswith("/activity") and contact_id in r.path for r in stack.sandbox.requests
    )


@pytest.mark.parametrize("change", [{"is_restricted": True}, {"deleted": True}])
async def test_a_watcher_demoted_to_guest_or_deactivated_gets_nothing_read_with_the_shared_token(
    stack, change
):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")  # a full member, reading with the workspace token
    stack.slack.set_user(AGENT, **change)
    before = summary_reads(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert alert_dms(stack) == []
    assert summary_reads(stack, priya.id) == before  # nothing read for them at all


async def test_concurrent_watch_clicks_cannot_pass_the_cap(stack):
    db = stack.bot.services.db
    for i in range(MAX_WATCHES - 1):
        add_watch(db, team_id="T0STANDIN", user_id=AGENT, contact_id=f"C{i}",
                  display_name=f"P{i}", access="workspace", now=stack.clock())  # fmt: skip
    ids = [c.id for c in stack.sandbox.state.brokerage.contacts_for(DEMO_ACCOUNT_ID)][:10]
    clicks = await asyncio.gather(
        *(stack.sender.action("contact_pick", f"p1|watch|{cid}", user_id=AGENT) for cid in ids)
    )
    for click in clicks:
        await stack.reply_to(click.response_url)
    running = db.execute(
        "SELECT count(*) FROM alert_watches WHERE user_id = ? AND stopped = 0", [AGENT]
    ).fetchone()[0]
    assert running == MAX_WATCHES


class NeverSure(SlackAlertPoster):
    async def post(self, alert):
        raise PostUncertain("timeout")


async def test_an_alert_whose_resend_is_uncertain_too_is_given_up_not_looked_up_forever(stack):
    history_method(stack)
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    services = stack.bot.services
    unsure = NeverSure(stack.bot.bot_client, services)
    for _ in range(30):
        stack.clock.advance(seconds=12)
        await run_alert_pass(services, unsure)
        if services.db.execute("SELECT count(*) FROM alert_deliveries").fetchone()[0]:
            break
    stack.clock.advance(seconds=ALERT_LEASE.total_seconds() + 1)
    await run_alert_pass(services, unsure)  # the one resend, uncertain as well
    stack.clock.advance(seconds=ALERT_LEASE.total_seconds() + 1)
    before = len(stack.slack.calls("conversations.history"))
    for _ in range(20):
        stack.clock.advance(seconds=12)
        await run_alerts(stack)
    assert len(stack.slack.calls("conversations.history")) - before <= 1


async def test_the_bots_poster_client_never_repeats_a_post_slack_may_have_taken(stack):
    """A 500 after Slack stored the message: the exactly-once records decide, not an SDK retry."""
    posted: list[dict[str, Any]] = []

    async def post_message(request: web.Request) -> web.Response:
        posted.append(dict(await request.post()))
        return web.json_response({"ok": False, "error": "internal_error"}, status=500)

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = dataclasses.replace(
        stack.bot.services.settings, slack_api_url=f"http://127.0.0.1:{port}/api/"
    )
    try:
        async with aiohttp.ClientSession() as session:
            client = slack_client(
                settings, session, token="xoxb-test", retry_unknown_outcomes=False
            )
            now = stack.clock()
            alert = ActiveNow(AGENT, "C1", "Priya", 5, now - dt.timedelta(minutes=5), now, "k")
            with pytest.raises(PostUncertain):
                await SlackAlertPoster(client, stack.bot.services).post(alert)
    finally:
        await runner.cleanup()
    assert len(posted) == 1


async def test_alert_settings_show_change_and_refuse_bad_input(stack):
    reply = texts(await command(stack, "alerts"))
    assert "Your alerts are on" in reply and "21:00–07:30 (America/Denver)" in reply
    assert "3 or more listings" in reply
    reply = texts(await command(stack, "alerts threshold 5"))
    assert "Saved" in reply and "5 or more listings" in reply
    reply = texts(await command(stack, "alerts quiet 22:00-06:15"))
    assert "22:00–06:15" in reply and "5 or more" in reply
    reply = texts(await command(stack, "alerts quiet off"))
    assert "Quiet hours: off" in reply
    # Someone else's settings are untouched.
    assert "3 or more listings" in texts(await command(stack, "alerts", OTHER))
    for bad in ("threshold 1", "threshold 999", "quiet 9pm", "sometimes", "x" * 500,
                "threshold 3; DROP TABLE alert_settings"):  # fmt: skip
        reply = await stack.sender.command(f"alerts {bad}", user_id=AGENT)
        said = texts(await stack.reply_to(reply.response_url))
        assert "Try" in said or "/activity alerts" in said, said
    assert "5 or more listings" in texts(await command(stack, "alerts"))


async def test_alerts_off_reads_nothing_and_the_threshold_replaces_three(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await command(stack, "alerts off")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=9)
    requests_before = len(stack.sandbox.requests)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert len(stack.sandbox.requests) == requests_before and alert_dms(stack) == []

    await command(stack, "alerts on")
    await command(stack, "alerts threshold 12")
    await next_checks(stack, priya.id)
    assert len(stack.sandbox.requests) > requests_before and alert_dms(stack) == []
    stack.sandbox.state.add_activity(priya.id, listings_viewed=4)  # 13 since the quiet check
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack)
    assert "viewed 13 listings" in dm["text"]


def summaries(stack, user_id: str = AGENT) -> list[dict[str, Any]]:
    return [
        m for m in stack.slack.messages(user_id) if "During your quiet hours" in m.get("text", "")
    ]


async def test_quiet_hours_hold_alerts_and_one_summary_comes_when_they_end(stack):
    priya = stack.contact("heavy_viewer")
    # 15:00 UTC is 08:00 in Denver (the stand-in's zone for everyone): quiet until 09:00.
    await command(stack, "alerts quiet 07:00-09:00")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=2)
    await next_checks(stack, priya.id)
    assert alert_dms(stack) == [] and summaries(stack) == []

    stack.clock.set(dt.datetime(2026, 3, 2, 16, 0, 30, tzinfo=dt.UTC))  # 09:00:30 in Denver
    await run_alerts(stack)
    (summary,) = summaries(stack)
    assert "1 contact became active" in summary["text"]
    assert "Priya Patel* viewed 7 listings" in str(summary["blocks"])
    settings = stack.bot.services.settings
    async with open_services(settings, clock=stack.clock) as restarted:
        await next_checks(stack, priya.id, restarted)
    await next_checks(stack, priya.id)
    assert len(summaries(stack)) == 1 and alert_dms(stack) == []
    held = "SELECT count(*) FROM alert_deliveries WHERE outcome = 'held'"
    assert stack.bot.services.db.execute(held).fetchone()[0] == 0  # next night starts afresh


async def hold_one_alert_in_quiet_hours(stack):
    """A burst at 08:00 Denver with quiet hours 07:00–09:00: held, nothing posted."""
    priya = stack.contact("heavy_viewer")
    await command(stack, "alerts quiet 07:00-09:00")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert alert_dms(stack) == [] and summaries(stack) == []
    return priya


async def test_when_slack_cant_say_the_zone_quiet_hours_are_kept_not_guessed_as_utc(stack):
    await hold_one_alert_in_quiet_hours(stack)
    stack.clock.set(dt.datetime(2026, 3, 2, 15, 2, tzinfo=dt.UTC))  # 08:02 in Denver, quiet
    stack.slack.add_fault(method="users.info", error="ratelimited", times=None)
    await run_alerts(stack)
    assert summaries(stack) == []  # UTC would have said 15:02: past 09:00, send now
    stack.slack.clear_faults()
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 0, 30, tzinfo=dt.UTC))  # 09:00:30 in Denver
    await run_alerts(stack)
    assert len(summaries(stack)) == 1


async def test_held_alerts_of_an_agent_who_turned_alerts_off_are_dropped_not_summarised(stack):
    await hold_one_alert_in_quiet_hours(stack)
    await command(stack, "alerts off")
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 0, 30, tzinfo=dt.UTC))
    await run_alerts(stack)
    assert summaries(stack) == []
    held = "SELECT count(*) FROM alert_deliveries WHERE outcome = 'held'"
    assert stack.bot.services.db.execute(held).fetchone()[0] == 0


async def test_two_instances_polling_at_once_read_each_due_contact_once(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await watch(stack, "priya patel", OTHER)  # same workspace token: one read serves both
    stack.clock.advance(seconds=interval(stack, priya.id).total_seconds())
    before = summary_reads(stack, priya.id)
    settings = stack.bot.services.settings
    async with open_services(settings, clock=stack.clock) as second:
        await asyncio.gather(run_alerts(stack), run_alerts(stack, second))
    assert summary_reads(stack, priya.id) == before + 1
    # The pass that read it set the real next check (not the lease).
    for user_id in (AGENT, OTHER):
        row = get_watch(stack.bot.services.db, "T0STANDIN", user_id, priya.id)
        assert row.last_checked_at == stack.clock()
        assert row.next_check_at == stack.clock() + interval(stack, priya.id)


@pytest.mark.parametrize(("code", "tries"), [("account_inactive", 1), ("invalid_arguments", 2)])
async def test_a_dm_slack_refuses_for_good_is_not_retried_every_pass(stack, code, tries):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    fault = stack.slack.add_fault(method="chat.postMessage", error=code, times=None)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    # For good: tried once and closed; any other "no": released, tried again at the next check.
    assert fault.applied == tries if code == "account_inactive" else fault.applied >= tries, (
        fault.applied
    )


async def test_a_crashed_post_is_not_resent_to_someone_demoted_since(stack):
    history_method(stack)
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    services = stack.bot.services
    crasher = CrashBeforePosting(stack.bot.bot_client, services)
    for _ in range(30):
        stack.clock.advance(seconds=12)
        await run_alert_pass(services, crasher)
        if services.db.execute("SELECT count(*) FROM alert_deliveries").fetchone()[0]:
            break
    stack.slack.set_user(AGENT, is_restricted=True)  # a guest now
    async with open_services(services.settings, clock=stack.clock) as restarted:
        stack.clock.advance(seconds=ALERT_LEASE.total_seconds() + 1)
        await next_checks(stack, priya.id, restarted)
    assert alert_posts(stack) == []
    (outcome,) = services.db.execute("SELECT outcome FROM alert_deliveries").fetchone()
    assert outcome == "dropped"


async def test_a_burst_that_goes_on_after_the_summary_listed_it_gets_a_dm(stack):
    """Second review: the burst's key (its quiet check) was the held row's, already delivered,
    so every later post of the same burst failed to claim until she was quiet for an hour."""
    await command(stack, "alerts quiet 07:00-09:00")
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await next_checks(stack, priya.id)  # held
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 0, 30, tzinfo=dt.UTC))  # 09:00:30 Denver
    await run_alerts(stack)
    assert len(summaries(stack)) == 1
    for _ in range(6):  # she keeps viewing, a few listings every check, all morning
        stack.sandbox.state.add_activity(priya.id, listings_viewed=4)
        await next_checks(stack, priya.id)
    (dm,) = alert_dms(stack)  # one DM, updated as she went on
    assert "viewed 24 listings" in dm["text"], dm["text"]  # the 5 of the summary not again


async def test_a_forged_watch_choice_for_a_contact_outside_the_clickers_book_watches_nothing(
    stack,
):
    priya = stack.contact("heavy_viewer")  # Avery's book; SECOND_AGENT_TOKEN reads Blake's
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, user_id=OTHER)
    clicked = await stack.sender.action("contact_pick", f"p1|watch|{priya.id}", user_id=OTHER)
    said = texts(await stack.reply_to(clicked.response_url))
    assert "Watching" not in said, said
    assert get_watch(stack.bot.services.db, "T0STANDIN", OTHER, priya.id) is None
