"""The pure parts of the alerts benchmark: staggered first checks, requests per watched contact
per hour, which Slack calls are the alert DM, the planned budget, and the report rows."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from devtools.bench import report
from devtools.bench.alerts import (
    AlertPlan,
    agents_for,
    alert_shows,
    latency_summary,
    per_contact_hour,
    planned,
    stagger,
)
from devtools.bench.stats import spread
from devtools.slack_standin import Received

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def test_first_checks_are_spread_evenly_over_the_interval():
    times = stagger(4, T0, dt.timedelta(seconds=400))
    assert [(t - T0).total_seconds() for t in times] == [50, 150, 250, 350]


def test_requests_per_watched_contact_per_hour():
    assert per_contact_hour(10, 1000, 4) == pytest.approx(9.0)
    assert math.isnan(per_contact_hour(10, 0, 4)) and math.isnan(per_contact_hour(10, 5, 0))


def test_agents_watch_at_most_fifty_each():
    agents = agents_for(120)
    assert len(set(agents)) == 3 and agents.count(agents[0]) == 50


def entry(method: str, text: str, kind: str = "api") -> Received:
    return Received(kind, method, {"text": text}, {}, 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("e", "expected"),
    [
        (entry("chat.postMessage", "Ann Lee is active now: viewed 3 listings in the last 1 min"), True),
        (entry("chat.update", "Ann Lee is active now: viewed 3 listings in the last 2 min"), True),
        (entry("chat.update", "Ann Lee is active now: viewed 6 listings in the last 2 min"), False),
        (entry("chat.postMessage", "Bo Lee is active now: viewed 3 listings in the last 1 min"), False),
        (entry("chat.postEphemeral", "Ann Lee is active now: viewed 3 listings"), False),
        (entry("x", "Ann Lee is active now: viewed 3 listings", kind="response"), False),
    ],
)  # fmt: skip
def test_the_alert_dm_is_recognised_by_name_and_views(e, expected):
    assert alert_shows(e, "Ann Lee", 3) is expected


def test_latency_is_read_against_each_contacts_interval():
    summary = latency_summary([(2.0, 5.0), (6.0, 15.0)], 5)
    assert summary["s"]["max"] == 6.0
    assert summary["intervals"]["max"] == pytest.approx(0.4)
    assert summary["min_s_multiples"]["max"] == pytest.approx(1.2)


def test_a_thousand_unknown_contacts_are_planned_within_the_pollers_share():
    p = planned(1000, 5, (1500, 300))
    assert p["capacity_per_s"] == pytest.approx(1.75)
    assert p["per_contact_hour"] == pytest.approx(6.3)  # 1.75 × 3600 / 1000
    assert p["usual_per_contact_hour"] == pytest.approx(60)  # cold every 60 s
    assert p["cold_interval_s"] == pytest.approx(60 * p["factor"])
    assert planned(8, 600, (1500, 300))["factor"] == 1


def test_the_quick_plan_is_lighter():
    quick, full = AlertPlan.for_run(True), AlertPlan.for_run(False)
    assert quick.rounds * quick.raised < full.rounds * full.raised
    assert quick.poller_only_s + quick.lookups_s < full.poller_only_s + full.lookups_s


def alert_results(*, p95_intervals=0.9, missed=0, rate_limited=0, lookup_p95=2.0, busy=0):
    lat = spread([1.0, 2.0])
    lookup = {"rtt": {**spread([2.0, lookup_p95]), "p95": lookup_p95}, "ms": spread([300, 330])}
    return {
        "lookup": {"cold": {"rtt": spread([1.9, 2.0]), "ms": spread([290, 300])}},
        "alerts": {
            "latency": {
                "min_s": 5, "watched": 8, "raised": 4, "rounds": 2, "missed": missed,
                "latency": {"s": lat, "intervals": {**lat, "p95": p95_intervals}},
                "per_contact_hour": 700.0, "stretch": {"factor": 1.0},
            },
            "load": {
                "watched": 1000, "limit": 1500, "window_s": 300.0, "per_contact_hour": 6.5,
                "planned": planned(1000), "stretch": {"factor": 11.0}, "lookup": lookup,
                "replies": {"card": 10, "busy": busy, "other": 0}, "rate_limited": rate_limited,
                "spark_requests": 60,
            },
        },
    }  # fmt: skip


def statuses(results):
    return {r.measure: r.status for r in report.build_rows(results)}


def test_alert_rows_pass_when_fast_and_within_the_budget():
    rows = statuses(alert_results())
    assert rows["Alert latency (views raised → DM at Slack)"] == report.PASS
    assert rows["Spark requests per watched contact per hour"] == report.INFO
    assert rows["Cold lookup while the poller covers 1000 watched contacts"] == report.PASS
    assert rows["429s with 1000 watched contacts at 1500/300"] == report.PASS


@pytest.mark.parametrize(
    ("change", "row"),
    [
        ({"p95_intervals": 2.5}, "Alert latency (views raised → DM at Slack)"),
        ({"missed": 1}, "Alert latency (views raised → DM at Slack)"),
        ({"rate_limited": 1}, "429s with 1000 watched contacts at 1500/300"),
        ({"lookup_p95": 3.0}, "Cold lookup while the poller covers 1000 watched contacts"),
        ({"busy": 1}, "Cold lookup while the poller covers 1000 watched contacts"),
    ],
)
def test_alert_rows_fail_on_what_the_issue_rules_out(change, row):
    assert statuses(alert_results(**change))[row] == report.FAIL


def test_no_alert_phase_no_alert_rows():
    assert not any("watched" in r.measure for r in report.build_rows({}))
