"""Where watches come from, end to end: auto watches from the agent's own lookups, and
`/activity watch|unwatch tag:<Tag>`, over signed commands, the sandbox and the stand-in Slack
(passes driven as in `test_alerts`)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from devtools.sandbox import DEMO_ACCOUNT_ID
from devtools.slack_standin.messages import texts
from storage.alerts import active_watches, add_watch, get_watch, snooze_watch
from tests.e2e.test_alerts import (
    AGENT,
    OTHER,
    alert_dms,
    command,
    next_checks,
    poll_until_alert,
    run_alerts,
    summary_reads,
    watch,
)

TEAM = "T0STANDIN"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": "60"}


async def look_up(stack, query: str, user_id: str = AGENT) -> str:
    return texts(await command(stack, query, user_id))


def tagged(stack, tag: str) -> list[str]:
    return [
        c.id for c in stack.sandbox.state.brokerage.contacts_for(DEMO_ACCOUNT_ID) if tag in c.tags
    ]


def fill_with_manual_watches(stack, n: int, user_id: str = AGENT) -> None:
    for i in range(n):
        add_watch(stack.bot.services.db, team_id=TEAM, user_id=user_id, contact_id=f"C{i}",
                  display_name=f"Person {i}", access="workspace", now=stack.clock())  # fmt: skip


# -- auto watches ------------------------------------------------------------------------------


async def test_a_lookup_watches_the_contact_automatically_without_an_extra_request(stack):
    priya = stack.contact("heavy_viewer")
    assert "Priya Patel" in await look_up(stack, "priya patel")
    assert summary_reads(stack, priya.id) == 1  # the card's own read, nothing more
    row = get_watch(stack.bot.services.db, TEAM, AGENT, priya.id)
    assert row is not None and row.source == "auto" and row.access == "workspace"
    listing = texts(await command(stack, "watch"))
    assert "Priya Patel" in listing and "auto" in listing, listing
    assert "band not known yet" not in listing  # the card's band, before the first check

    await next_checks(stack, priya.id)  # the first check is the watch's baseline
    assert alert_dms(stack) == []
    stack.sandbox.state.add_activity(priya.id, listings_viewed=4)
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack)
    assert "Priya Patel is active now: viewed 4 listings" in dm["text"]
    assert alert_dms(stack, OTHER) == []  # only the agent who looked


async def test_views_before_the_lookup_are_not_news_to_the_auto_watcher(stack):
    priya = stack.contact("heavy_viewer")
    await watch(stack, "priya patel", OTHER)  # someone else watched her before
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id, OTHER)
    await look_up(stack, "priya patel")  # the agent sees the card with those 5 views
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert alert_dms(stack, AGENT) == []  # the burst began before the agent's watch

    stack.sandbox.state.add_activity(priya.id, listings_viewed=3)
    await poll_until_alert(stack, priya.id, AGENT)
    (dm,) = alert_dms(stack, AGENT)
    assert "viewed 3 listings" in dm["text"], dm["text"]


async def test_stopping_an_auto_watch_survives_later_lookups(stack):
    priya = stack.contact("heavy_viewer")
    await look_up(stack, "priya patel")
    assert "Stopped watching Priya Patel" in texts(await command(stack, "unwatch priya patel"))
    await look_up(stack, "priya patel")
    row = get_watch(stack.bot.services.db, TEAM, AGENT, priya.id)
    assert row is not None and row.stopped  # kept, stopped: never watched again on its own
    assert "don't watch anyone" in texts(await command(stack, "watch"))
    before = summary_reads(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=6)
    await next_checks(stack, priya.id)
    assert summary_reads(stack, priya.id) == before and alert_dms(stack) == []
    # An explicit watch does start it again, as a manual one.
    await watch(stack, "priya patel")
    assert get_watch(stack.bot.services.db, TEAM, AGENT, priya.id).source == "manual"


async def test_auto_watches_lapse_after_fourteen_days(stack):
    priya = stack.contact("heavy_viewer")
    await look_up(stack, "priya patel")
    await next_checks(stack, priya.id)
    stack.clock.advance(days=14, minutes=1)
    assert "don't watch anyone" in texts(await command(stack, "watch"))
    before = summary_reads(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=6)
    for _ in range(3):
        await next_checks(stack, priya.id)
    assert summary_reads(stack, priya.id) == before and alert_dms(stack) == []
    # Looking her up again watches her again, counting from that lookup.
    await look_up(stack, "priya patel")
    assert "Priya Patel" in texts(await command(stack, "watch"))
    await next_checks(stack, priya.id)
    assert alert_dms(stack) == []


async def test_alerts_auto_off_stops_polling_auto_watches_at_once_and_on_resumes(stack):
    priya = stack.contact("heavy_viewer")
    await look_up(stack, "priya patel")
    await next_checks(stack, priya.id)
    said = texts(await command(stack, "alerts"))
    assert "Auto-watch: on" in said, said
    said = texts(await command(stack, "alerts auto off"))
    assert "Saved" in said and "Auto-watch: off" in said, said
    assert "don't watch anyone" in texts(await command(stack, "watch"))
    before = summary_reads(stack, priya.id)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=6)
    for _ in range(2):
        await next_checks(stack, priya.id)
    assert summary_reads(stack, priya.id) == before and alert_dms(stack) == []
    assert "Auto-watch: on" in texts(await command(stack, "alerts auto on"))
    await next_checks(stack, priya.id)
    assert summary_reads(stack, priya.id) > before


async def test_auto_watches_fill_what_manual_ones_leave_newest_lookup_first(stack):
    priya, sean = stack.contact("heavy_viewer"), stack.contact("sean_obrien")
    fill_with_manual_watches(stack, 49)
    await look_up(stack, "priya patel")
    await look_up(stack, "sean o'brien")  # newer: takes the one place left
    listing = texts(await command(stack, "watch"))
    assert "Seán O'Brien" in listing and "Priya Patel" not in listing, listing
    assert "50 of at most 50" in listing
    # A manual watch is never refused because of auto ones: it pushes the auto one out.
    assert "Watching Priya Patel" in texts(await command(stack, "watch priya patel"))
    listing = texts(await command(stack, "watch"))
    assert "Priya Patel" in listing and "Seán O'Brien" not in listing
    before = summary_reads(stack, sean.id)
    await next_checks(stack, priya.id)
    assert summary_reads(stack, sean.id) == before  # not polled while it doesn't fit


# -- tags --------------------------------------------------------------------------------------


def tag_requests(stack) -> list[str]:
    return [r.path for r in stack.sandbox.requests if r.path.startswith("/v1/contacts/tags")]


async def test_watch_tag_adds_its_contacts_says_how_many_and_costs_one_check_plus_pages(stack):
    buyers = tagged(stack, "Buyer")  # 65 in the demo book: more than fit in 50
    priya = stack.contact("heavy_viewer")  # a Buyer
    await watch(stack, "priya patel")
    said = texts(await command(stack, "watch tag:buyer"))  # Flexmls spells it "Buyer"
    already = int(priya.id in buyers[:50])  # on the pages read to fill the 49 places left
    assert "Watching 49 contacts tagged Buyer" in said, said
    assert ("1 already watched" in said) == bool(already), said
    assert f"{len(buyers) - 49 - already} didn't fit" in said, said
    # One tag check, then only the pages needed to fill the room (2 of 25), never all 3.
    assert len(tag_requests(stack)) == 1 + math.ceil((49 + already) / 25) == 3
    db = stack.bot.services.db
    sources = {w.source for w in active_watches(db, TEAM, AGENT, stack.clock())}
    assert sources == {"manual", "tag:Buyer"}
    assert get_watch(db, TEAM, AGENT, priya.id).source == "manual"  # already watched: kept
    listing = texts(await command(stack, "watch"))
    assert "tag Buyer" in listing and "50 of at most 50" in listing
    refused = texts(await command(stack, "watch tag:Seller"))
    assert "most contacts you can" in refused
    assert len(tag_requests(stack)) == 3  # no room: nothing read


async def test_a_tag_watchs_first_check_is_its_baseline(stack):
    priya = stack.contact("heavy_viewer")  # a Buyer
    await watch(stack, "priya patel", OTHER)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id, OTHER)
    await command(stack, "watch tag:Buyer")
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert alert_dms(stack, AGENT) == []  # views from before the tag watch: not news
    stack.sandbox.state.add_activity(priya.id, listings_viewed=3)
    await poll_until_alert(stack, priya.id, AGENT)
    assert "viewed 3 listings" in alert_dms(stack, AGENT)[0]["text"]


async def test_watch_tag_is_capped_by_what_is_left_and_says_how_many_did_not_fit(stack):
    buyers = tagged(stack, "Buyer")
    fill_with_manual_watches(stack, 48)
    await look_up(stack, "janet doe")  # an auto watch gives way to the tag's
    said = texts(await command(stack, "watch tag:Buyer"))
    assert "Watching 2 contacts tagged Buyer" in said, said
    assert f"{len(buyers) - 2} didn't fit" in said, said
    assert len(tag_requests(stack)) == 2  # the check and one page: the room was filled
    listing = texts(await command(stack, "watch"))
    assert "50 of at most 50" in listing and "Janet" not in listing


async def test_unwatch_tag_stops_that_tags_watches_only(stack):
    buyers = tagged(stack, "Buyer")
    await watch(stack, "priya patel")  # manual, though a Buyer too
    await command(stack, "watch tag:Buyer")
    said = texts(await command(stack, "unwatch tag:BUYER"))
    assert "Stopped watching 49 contacts tagged Buyer" in said, said
    listing = texts(await command(stack, "watch"))
    assert "Priya Patel" in listing and "tag Buyer" not in listing
    stopped = get_watch(stack.bot.services.db, TEAM, AGENT, next(c for c in buyers
                        if c != stack.contact("heavy_viewer").id))  # fmt: skip
    assert stopped is not None and stopped.stopped
    assert "don't watch that tag" in texts(await command(stack, "unwatch tag:Buyer"))


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("watch tag:", "Say which tag"),
        ("watch tag:   ", "Say which tag"),
        ("watch tag:" + "x" * 101, "at most 100 characters"),
        ("unwatch tag:", "Say which tag"),
        ("unwatch tag:" + "x" * 300, "at most 100 characters"),
        ("watch tag:Nope", "No contact is tagged “Nope”"),
        ("watch tag:Buyer') Or (Name Eq '*", "No contact is tagged"),
        ('watch tag:Buyer" Or "1" Eq "1', "No contact is tagged"),
        ("watch tag:../../contacts", "No contact is tagged"),
    ],
)
async def test_hostile_tags_get_a_clear_answer_and_no_contact_read(stack, text, expect):
    said = texts(await command(stack, text))
    assert expect in said, said
    assert [p for p in tag_requests(stack) if p != "/v1/contacts/tags"] == []
    assert stack.bot.services.db.execute("SELECT count(*) FROM alert_watches").fetchone()[0] == 0


async def test_an_unknown_tag_lists_the_tags_there_are(stack):
    said = texts(await command(stack, "watch tag:Byuer"))
    for tag in stack.sandbox.state.brokerage.tags_for(DEMO_ACCOUNT_ID):
        assert tag in said
    assert "/activity watch tag:" in said


async def test_a_tag_whose_name_cant_be_checked_goes_into_the_path_as_one_quoted_segment(stack):
    stack.sandbox.add_fault(kind="status", route="/v1/contacts/tags", status=403, code=1500)
    said = texts(await command(stack, "watch tag:x') Or (1 Eq 1"))
    assert "Nobody to watch" in said and "couldn't check" in said, said
    (page,) = [r for r in stack.sandbox.requests if r.path.startswith("/v1/contacts/tags/")]
    assert page.path.count("/") == 4  # one segment, whatever the tag holds
    assert stack.bot.services.db.execute("SELECT count(*) FROM alert_watches").fetchone()[0] == 0


async def test_flexmls_not_answering_the_tag_check_gets_a_friendly_message(stack):
    stack.sandbox.add_fault(kind="status", route="/v1/contacts/tags", status=503, code=1550)
    said = texts(await command(stack, "watch tag:Buyer"))
    assert "Flexmls isn't answering" in said, said
    assert stack.bot.services.db.execute("SELECT count(*) FROM alert_watches").fetchone()[0] == 0


# -- the agent's own threshold -----------------------------------------------------------------


async def test_the_watch_reply_uses_the_agents_own_threshold(stack):
    await command(stack, "alerts threshold 5")
    said = texts(await command(stack, "watch priya patel"))
    assert "view 5 or more listings" in said, said
    said = texts(await command(stack, "watch priya patel", OTHER))
    assert "view 3 or more listings" in said, said  # someone else's default


async def test_unwatching_and_rewatching_a_tag_does_not_make_its_contacts_due_again(stack):
    """Outside review: each re-watch made all 50 contacts due at once (250 reads a minute)."""
    said = texts(await command(stack, "watch tag:Buyer"))
    assert "Watching 50 contacts tagged Buyer" in said, said
    stack.clock.advance(seconds=12)
    await run_alerts(stack)  # the 50 baselines, once
    first = summary_reads(stack)
    assert first == 50
    db = stack.bot.services.db
    end = stack.clock() + dt.timedelta(seconds=60)
    scheduled = sum(w.next_check_at <= end for w in active_watches(db, TEAM, AGENT))
    assert scheduled < 25  # the hot ones: checked every minute anyway
    for _ in range(5):
        await command(stack, "unwatch tag:Buyer")
        await command(stack, "watch tag:Buyer")
        stack.clock.advance(seconds=12)
        await run_alerts(stack)
    # Only the checks the schedule asked for: each re-watch kept its next check, still ahead.
    assert summary_reads(stack) - first <= scheduled


async def test_an_auto_watch_the_agents_new_account_cant_read_is_forgotten(stack):
    """Outside review: after switching to an account that can't read the contact, the auto
    watch kept its name listed and was read (and refused) every cold interval."""
    from devtools.sandbox import SECOND_AGENT_TOKEN
    from tests.e2e.test_home_alerts import open_home, text_of
    from tests.helpers.connect import paste_and_wait

    priya = stack.contact("heavy_viewer")  # Avery's book; SECOND_AGENT_TOKEN reads Blake's
    assert "Priya Patel" in await look_up(stack, "priya patel")  # workspace token: auto watch
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, user_id=AGENT)  # own account now
    stack.sandbox.state.add_activity(priya.id, listings_viewed=6)
    await next_checks(stack, priya.id)
    assert alert_dms(stack) == []  # read with the own token: refused, nothing sent
    assert "Priya" not in texts(await command(stack, "watch"))
    assert "Priya" not in text_of(await open_home(stack))
    refused = summary_reads(stack, priya.id)
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert summary_reads(stack, priya.id) == refused  # not read again


async def test_rewatching_a_tag_after_a_snooze_checks_the_contact_again_within_its_interval(
    stack,
):
    await command(stack, "watch tag:Buyer")
    stack.clock.advance(seconds=12)
    await run_alerts(stack)  # the baselines
    one = tagged(stack, "Buyer")[0]
    db = stack.bot.services.db
    snooze_watch(db, TEAM, AGENT, one, stack.clock() + dt.timedelta(days=1))
    await command(stack, "unwatch tag:Buyer")
    await command(stack, "watch tag:Buyer")
    row = get_watch(db, TEAM, AGENT, one)
    assert row is not None and row.snoozed_until is None and not row.stopped
    assert row.next_check_at is None  # due again: the snooze no longer holds its check back
    before = summary_reads(stack, one)
    stack.clock.advance(seconds=12)
    await run_alerts(stack)
    assert summary_reads(stack, one) == before + 1


async def test_one_transient_403_does_not_forget_an_auto_watch(stack):
    """Second review: one 403 (or a key-wide 1500 role refusal, which hits every contact at
    once) deleted every auto watch it touched, until the agent looked the contact up again."""
    priya = stack.contact("heavy_viewer")
    assert "Priya Patel" in await look_up(stack, "priya patel")  # auto watch
    await next_checks(stack, priya.id)  # its baseline
    stack.sandbox.add_fault(kind="status", route=f"/v1/contacts/{priya.id}/activity",
                            status=403, code=1500, times=1)  # fmt: skip
    await next_checks(stack, priya.id)
    row = get_watch(stack.bot.services.db, TEAM, AGENT, priya.id)
    assert row is not None and not row.stopped  # kept: a 403 may pass, or be key-wide
    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    for _ in range(2 * 60):  # after a refusal it is checked as a cold one: within 24 min
        stack.clock.advance(seconds=12)
        await run_alerts(stack)
        if alert_dms(stack):
            break
    assert len(alert_dms(stack)) == 1


async def test_rewatching_a_tag_after_a_snooze_has_ended_keeps_the_contacts_schedule(stack):
    """Last review: any snooze ever set (never cleared when it ends) made the contact due at
    once on a re-watch, ahead of the queue."""
    await command(stack, "watch tag:Buyer")
    stack.clock.advance(seconds=12)
    await run_alerts(stack)  # the baselines
    one = tagged(stack, "Buyer")[0]
    db = stack.bot.services.db
    snooze_watch(db, TEAM, AGENT, one, stack.clock() + dt.timedelta(minutes=1))
    for _ in range(10):  # the snooze ends and the contact is checked again
        stack.clock.advance(seconds=12)
        await run_alerts(stack)
    ahead = get_watch(db, TEAM, AGENT, one)
    assert ahead is not None and ahead.next_check_at is not None
    assert ahead.next_check_at > stack.clock()
    await command(stack, "unwatch tag:Buyer")
    await command(stack, "watch tag:Buyer")
    row = get_watch(db, TEAM, AGENT, one)
    assert row is not None and row.snoozed_until is None and not row.stopped
    assert row.next_check_at == ahead.next_check_at
