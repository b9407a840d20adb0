"""Auto and tag watches in storage: which are live (listed and polled), the 14 days, the cap shared
with manual watches (newest lookups first), auto-watch off, and stopped rows that stay stopped."""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from storage import record_lookup
from storage.alerts import (
    AlertSettings,
    active_watches,
    add_watch,
    alert_settings,
    due_watches,
    get_watch,
    save_alert_settings,
    stop_watch,
)
from storage.auto_watches import (
    AUTO_WATCH_DAYS,
    WATCH_CAP,
    add_auto_watch,
    add_tag_watch,
    set_watch_baseline,
    stop_source,
    tag_sources,
)
from tests.storage.support import NOW

TEAM, AGENT, OTHER = "T1", "U1", "U2"


def looked_up(db: Database, contact_id: str, at=NOW, user_id: str = AGENT) -> None:
    record_lookup(db, team_id=TEAM, user_id=user_id, contact_id=contact_id,
                  display_name=f"Name {contact_id}", query=contact_id, now=at)  # fmt: skip
    add_auto_watch(db, team_id=TEAM, user_id=user_id, contact_id=contact_id,
                   display_name=f"Name {contact_id}", access="own", now=at)  # fmt: skip


def manual(db: Database, contact_id: str, user_id: str = AGENT) -> None:
    add_watch(db, team_id=TEAM, user_id=user_id, contact_id=contact_id,
              display_name=f"Name {contact_id}", access="own", now=NOW)  # fmt: skip


def live(db: Database, now=NOW, user_id: str = AGENT) -> list[str]:
    return [w.contact_id for w in active_watches(db, TEAM, user_id, now)]


def test_a_lookup_makes_an_auto_watch_that_lapses_after_fourteen_days(db):
    looked_up(db, "C1")
    assert live(db) == ["C1"]
    assert [w.contact_id for w in due_watches(db, NOW)] == ["C1"]
    later = NOW + AUTO_WATCH_DAYS + timedelta(seconds=1)
    assert live(db, later) == [] and due_watches(db, later) == []
    looked_up(db, "C1", at=later)  # looked up again: live again
    assert live(db, later) == ["C1"]


def test_without_the_time_auto_watches_are_left_out(db):
    looked_up(db, "C1")
    manual(db, "C2")
    assert [w.contact_id for w in active_watches(db, TEAM, AGENT)] == ["C2"]


def test_auto_watches_fill_what_the_others_leave_newest_lookup_first(db):
    for i in range(WATCH_CAP - 2):
        manual(db, f"M{i}")
    for i in range(4):
        looked_up(db, f"A{i}", at=NOW + timedelta(minutes=i))
    now = NOW + timedelta(minutes=5)
    autos = [w.contact_id for w in active_watches(db, TEAM, AGENT, now) if w.source == "auto"]
    assert sorted(autos) == ["A2", "A3"] and len(live(db, now)) == WATCH_CAP
    assert {w.contact_id for w in due_watches(db, now)} >= {"A2", "A3"}
    assert not {"A0", "A1"} & {w.contact_id for w in due_watches(db, now)}
    manual(db, "M-last")  # a manual watch pushes the oldest auto one out
    autos = [w.contact_id for w in active_watches(db, TEAM, AGENT, now) if w.source == "auto"]
    assert autos == ["A3"]
    assert live(db, now, OTHER) == []  # another agent's cap is their own


def test_a_stopped_auto_watch_is_never_started_again_by_a_lookup(db):
    looked_up(db, "C1")
    assert stop_watch(db, TEAM, AGENT, "C1")
    looked_up(db, "C1", at=NOW + timedelta(hours=1))
    row = get_watch(db, TEAM, AGENT, "C1")
    assert row is not None and row.stopped and row.source == "auto"
    assert live(db) == []
    manual(db, "C1")  # only an explicit watch does, as a manual one
    row = get_watch(db, TEAM, AGENT, "C1")
    assert row is not None and not row.stopped and row.source == "manual"


def test_a_lookup_leaves_a_manual_or_tag_watch_as_it_is(db):
    manual(db, "C1")
    add_tag_watch(db, team_id=TEAM, user_id=AGENT, contact_id="C2", display_name="Two",
                  source="tag:Buyer", access="own", now=NOW, fresh=True)  # fmt: skip
    looked_up(db, "C1")
    looked_up(db, "C2")
    assert get_watch(db, TEAM, AGENT, "C1").source == "manual"
    assert get_watch(db, TEAM, AGENT, "C2").source == "tag:Buyer"


def test_each_lookup_starts_the_auto_watchs_baseline_afresh(db):
    looked_up(db, "C1")
    assert set_watch_baseline(db, TEAM, AGENT, "C1", views=7, at=NOW)
    assert not set_watch_baseline(db, TEAM, AGENT, "C1", views=9, at=NOW)  # only the first read
    assert get_watch(db, TEAM, AGENT, "C1").baseline_views == 7
    looked_up(db, "C1", at=NOW + timedelta(minutes=5))
    row = get_watch(db, TEAM, AGENT, "C1")
    assert row.baseline_views is None and row.baseline_at is None


def test_auto_watch_off_hides_auto_watches_from_the_list_and_the_poller(db):
    looked_up(db, "C1")
    manual(db, "C2")
    save_alert_settings(db, TEAM, AGENT, AlertSettings(auto_watch=False), now=NOW)
    assert live(db) == ["C2"] and [w.contact_id for w in due_watches(db, NOW)] == ["C2"]
    save_alert_settings(db, TEAM, AGENT, AlertSettings(auto_watch=True), now=NOW)
    assert sorted(live(db)) == ["C1", "C2"]


def test_a_fresh_tag_watch_restarts_a_stopped_one_and_a_live_auto_one_just_changes_source(db):
    manual(db, "C1")
    stop_watch(db, TEAM, AGENT, "C1")
    looked_up(db, "C2")
    set_watch_baseline(db, TEAM, AGENT, "C2", views=4, at=NOW)
    for cid, fresh in (("C1", True), ("C2", False)):
        add_tag_watch(db, team_id=TEAM, user_id=AGENT, contact_id=cid, display_name=cid,
                      source="tag:Buyer", access="own", now=NOW, fresh=fresh)  # fmt: skip
    one, two = get_watch(db, TEAM, AGENT, "C1"), get_watch(db, TEAM, AGENT, "C2")
    assert not one.stopped and one.source == "tag:Buyer" and one.baseline_at is None
    assert two.source == "tag:Buyer" and two.baseline_views == 4
    assert tag_sources(db, TEAM, AGENT) == ["tag:Buyer"]
    assert stop_source(db, TEAM, AGENT, "tag:Buyer") == 2
    assert tag_sources(db, TEAM, AGENT) == [] and live(db) == []


def test_auto_watch_setting_round_trips(db):
    save_alert_settings(db, TEAM, AGENT, AlertSettings(auto_watch=False, threshold=4), now=NOW)
    assert alert_settings(db, TEAM, AGENT) == AlertSettings(auto_watch=False, threshold=4)
    assert alert_settings(db, TEAM, OTHER).auto_watch is True
