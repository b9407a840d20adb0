"""The benchmark's pure parts: percentiles, ratios, the rate-limit floor, /proc parsing and
the report, from a fake results dict. No benchmark runs here (that is `make bench`)."""

from __future__ import annotations

import json
import math

import pytest

from devtools.bench import report, stats
from devtools.bench.procs import parse_stat_cpu, parse_status_kb
from devtools.bench.run import _clean, parse_args


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 99, 5.0),
        ([1, 2, 3, 4, 5], 0, 1),
        ([1, 2, 3, 4, 5], 50, 3),
        ([1, 2, 3, 4, 5], 100, 5),
        ([1, 2, 3, 4], 50, 2.5),  # halfway between the two middle values
        ([10, 20], 95, 19.5),
        (list(range(1, 101)), 99, 99.01),  # numpy's "linear" definition
        ([3, 1, 2], 50, 2),  # order does not matter
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, p, expected):
    assert stats.percentile(values, p) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "p"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_nonsense(values, p):
    with pytest.raises(ValueError):
        stats.percentile(values, p)


def test_spread_reports_every_key_and_handles_no_samples():
    spread = stats.spread([4.0, 1.0, 3.0, 2.0])
    assert spread == {
        "n": 4,
        "min": 1.0,
        "p50": 2.5,
        "p95": pytest.approx(3.85),
        "p99": pytest.approx(3.97),
        "max": 4.0,
        "mean": 2.5,
    }
    empty = stats.spread([])
    assert empty["n"] == 0 and math.isnan(empty["p99"])


def test_ratio_and_rtt_multiples():
    assert stats.ratio(30, 10) == 3
    assert math.isnan(stats.ratio(1, 0))
    assert stats.in_rtt([0.3, 0.15], 0.15) == pytest.approx([2.0, 1.0])
    with pytest.raises(ValueError):
        stats.in_rtt([0.1], 0)


@pytest.mark.parametrize(
    ("n", "limit", "window", "rtt", "expected"),
    [
        (1, 50, 2.0, 0.15, 0.15),  # one request: just its round trip
        (50, 50, 2.0, 0.15, 0.15),  # the first window's worth goes at once
        (51, 50, 2.0, 0.15, 2.15),  # one more waits a whole window
        (100, 50, 2.0, 0.15, 2.15),
        (1000, 50, 2.0, 0.0, 38.0),  # = max(0, N - limit) / (limit / window)
        (1000, 1500, 300.0, 0.15, 0.15),  # under the production limit: no wait at all
    ],
)
def test_rate_limited_floor(n, limit, window, rtt, expected):
    assert stats.rate_limited_floor(n, limit, window, rtt) == pytest.approx(expected)


def test_rate_limited_floor_matches_the_fluid_formula_for_whole_windows():
    for n in (100, 250, 1000):
        assert stats.rate_limited_floor(n, 50, 2.0) == pytest.approx(max(0, n - 50) / (50 / 2.0))


def test_proc_parsing():
    # The command name may hold spaces and parentheses: fields count from the last ')'.
    stat = "4242 (python (bot) x) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 1 1 1"
    assert parse_stat_cpu(stat, ticks_per_s=100) == pytest.approx(3.0)
    status = "Name:\tpython\nVmHWM:\t  81920 kB\nVmRSS:\t  65536 kB\n"
    assert parse_status_kb(status, "VmRSS") == 65536
    assert parse_status_kb(status, "VmHWM") == 81920
    assert parse_status_kb(status, "VmSwap") is None
    assert stats.mb(65536) == 64


def _spread(p50: float, p95: float, p99: float, n: int = 200) -> dict[str, float]:
    return {
        "n": n,
        "min": p50 / 2,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "max": p99 * 1.1,
        "mean": p50,
    }


def _rtt(rtt_p95: float, rtt_ms: float = 150.0) -> dict[str, object]:
    return {
        "ms": _spread(rtt_p95 * rtt_ms * 0.9, rtt_p95 * rtt_ms, rtt_p95 * rtt_ms, 30),
        "rtt": _spread(rtt_p95 * 0.9, rtt_p95, rtt_p95, 30),
        "outside_spark_ms": _spread(8.0, 12.0, 13.0, 30),
    }


def fake_results() -> dict[str, object]:
    return {
        "meta": {
            "date": "2026-01-02T03:04:05+00:00",
            "rtt_ms": 150,
            "quick": False,
            "duration_s": 201.0,
            "machine": {"cpu_model": "Test CPU", "cores": 2},
            "source": {"commit": "abc1234", "modified": ["bot.py"]},
        },
        "startup": {"bot_s": 0.61},
        "ack": {
            "bot": {"1": _spread(12, 13, 14), "50": _spread(40, 55, 61)},
            "bare": {"1": _spread(11, 12, 12), "50": _spread(20, 24, 25)},
            "ratio_p99": {"1": 14 / 12, "50": 61 / 25},
        },
        "lookup": {"cold": _rtt(2.1), "warm": _rtt(1.3)},
        "page_flip": {"cold": _rtt(1.1), "prefetched": _rtt(0.08)},
        "digest": {
            "limit": 50,
            "window_s": 2.0,
            "client_margin_s": 0.5,
            "runs": {
                "100": {
                    "ratio": 1.05,
                    "elapsed_s": 2.26,
                    "allowed_s": 2.15,
                    "ratio_to_client_window": 0.9,
                    "rate_limited": 0,
                    "failed": 0,
                },
                "1000": {
                    "ratio": 1.26,
                    "elapsed_s": 48.1,
                    "allowed_s": 38.15,
                    "ratio_to_client_window": 1.01,
                    "rate_limited": 0,
                    "failed": 0,
                },
            },
        },
        "spark_requests": {
            "cold": {"n": 30, "card_mean": 2.0, "prefetch_mean": 2.0, "total_mean": 4.0},
            "warm": {"n": 30, "card_mean": 1.5, "prefetch_mean": 0.0, "total_mean": 1.5},
        },
        "throughput": {
            "lookups_per_s": 201.0,
            "lookups": 2010,
            "elapsed_s": 10.0,
            "bot_cpu_util": 0.9,
            "latency_ms": _spread(100, 300, 400),
            "errors": 0,
            "bot_cpu_ms_per_lookup": 4.2,
            "sandbox_cpu_ms_per_lookup": 0.7,
            "driver_cpu_ms_per_lookup": 1.0,
            "spark_requests": 1340,
            "stopped_by": "spark budget",
        },
        "tight_budget": {
            "limit": 40,
            "window_s": 300.0,
            "background_share": 28,
            "rate_limited": 0,
            "fill": {"lookups": 7, "card_mean": 2.0, "prefetch_mean": 2.0},
            "tight": {"n": 6, "card_mean": 2.0, "prefetch_mean": 0.0, "used_before": [28, 38]},
            "busy": {"n": 3, "latency": _rtt(0.03), "spark_requests": 0, "retry_in_s": [298, 299]},
            "other_replies": [],
        },
        "digest_contention": {
            "limit": 50,
            "window_s": 2.0,
            "background_share": 35,
            "contacts": 300,
            "lookups": 34,
            "replies": {"card": 34, "busy": 0, "other": 0},
            "lookup": _rtt(2.16),
            "digest": {
                "elapsed_s": 22.7,
                "spark_requests": 380,
                "prefetch_requests": 0,
                "rate_limited": 0,
            },
        },
        "memory": {"steady_rss_mb": 130.5, "idle_rss_mb": 60.0, "peak_rss_mb": 140.0},
        "errors": {"throughput": "TimeoutError: no card"},
        "warnings": ["something odd | happened"],
    }


def test_rows_judge_each_figure_against_its_target():
    rows = {r.measure: r for r in report.build_rows(fake_results())}
    assert rows["Ack of `/activity <email>`, 1 concurrent"].status == report.INFO
    ack50 = rows["Ack of `/activity <email>`, 50 concurrent"]
    assert ack50.status == report.FAIL and "p99 61.0" in ack50.figure and "×2.4" in ack50.figure
    assert rows["Cold lookup (e-mail → card)"].status == report.PASS
    assert rows["Warm lookup (same query again)"].status == report.FAIL
    assert rows["Page flip, cold (page 5 directly)"].status == report.PASS
    assert rows["Page flip, prefetched (Next after page 1 + 2×RTT)"].status == report.PASS
    assert rows["Digest gathering, 100 contact reads"].status == report.PASS
    assert rows["Digest gathering, 1000 contact reads"].status == report.FAIL
    assert rows["Spark requests per cold lookup"].status == "at floor"
    assert rows["Spark requests per warm lookup"].status == "above floor"
    assert rows["Steady RSS (bot, after load settles)"].status == report.FAIL
    assert rows["Phase `throughput`"].status == report.ERROR


def test_a_digest_with_429s_fails_however_fast_it_was():
    results = fake_results()
    results["digest"]["runs"]["100"]["rate_limited"] = 3  # type: ignore[index]
    rows = {r.measure: r for r in report.build_rows(results)}
    assert rows["Digest gathering, 100 contact reads"].status == report.FAIL


def test_missing_phases_leave_their_rows_out():
    rows = report.build_rows({"meta": {}, "startup": {"bot_s": 1.0}})
    assert [r.measure for r in rows] == ["Bot start-up (spawn → /healthz 200)"]


def test_markdown_report_has_the_table_machine_and_misses():
    results = fake_results()
    rows = report.build_rows(results)
    text = report.render_markdown(results, rows)
    assert text.startswith("# Benchmark report")
    assert "| measure | figure | target | pass/fail |" in text
    assert "Test CPU, 2 cores" in text and "150 ms" in text and "full" in text
    assert "commit abc1234 plus uncommitted changes to bot.py" in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table) == len(rows) + 1
    assert all(line.count(" | ") == 3 for line in table)  # pipes inside cells are escaped
    assert "Targets missed: Ack of `/activity <email>`, 50 concurrent" in text
    assert "something odd \\| happened" in text


def test_console_table_prints(capsys):
    results = fake_results()
    report.print_console(results, report.build_rows(results))
    out = capsys.readouterr().out
    assert "Cold lookup" in out and "FAIL" in out


def test_results_json_has_no_nan():
    cleaned = _clean({"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": (2, 3)}})
    assert json.loads(json.dumps(cleaned, allow_nan=False)) == {
        "a": None,
        "b": [1.0, None],
        "c": {"d": [2, 3]},
    }


def test_cli_options():
    assert parse_args([]).quick is False and parse_args([]).rtt_ms == 150
    assert parse_args(["--quick", "--rtt-ms", "40"]).rtt_ms == 40
    with pytest.raises(SystemExit):
        parse_args(["--rtt-ms", "0"])


def test_throughput_rounds_combine_as_totals_over_totals():
    from devtools.bench.scenarios import combine_throughput

    def round_(done: int, elapsed: float, bot_cpu: float) -> dict[str, object]:
        return {
            "elapsed_s": elapsed,
            "cold": done // 2,
            "warm": done - done // 2,
            "errors": 0,
            "spark_requests": done,
            "stopped_by": "spark budget",
            "cpu_s": {"bot": bot_cpu, "sandbox": 0.1, "driver": 0.2},
            "latencies_s": [0.1] * done,
        }

    combined = combine_throughput(
        [round_(100, 1.0, 0.5), round_(300, 2.0, 1.5)], senders=50, contacts=40
    )
    assert combined["lookups"] == 400 and combined["rounds"] == 2
    assert combined["lookups_per_s"] == pytest.approx(400 / 3)
    assert combined["lookups_per_s_by_round"] == pytest.approx([100, 150])
    assert combined["bot_cpu_ms_per_lookup"] == pytest.approx(2000 / 400)
    assert combined["bot_cpu_util"] == pytest.approx(2 / 3)
    assert combined["latency_ms"]["p50"] == pytest.approx(100)
    rows = {r.measure: r for r in report.build_rows({"throughput": combined})}
    assert (
        "over 2 rounds: 100 / 150 per s"
        in rows["Throughput at RTT 0 (50 senders, half cold)"].figure
    )


TIGHT = "Spark requests per cold lookup, tight budget"
PAST = "Lookups past a spent budget"
CONTENDED = "Cold lookup while a digest gathers (same key)"
PASS_ROW = "Digest pass during those lookups (300 contacts)"


def test_shared_budget_rows_pass_when_prefetch_is_skipped_and_people_go_first():
    rows = {r.measure: r for r in report.build_rows(fake_results())}
    assert rows[TIGHT].status == report.PASS
    assert "2.00 for the card + 0.00 prefetch" in rows[TIGHT].figure
    assert "28–38 of the bot's 40 per 300 s" in rows[TIGHT].figure
    assert rows[PAST].status == report.PASS and "~298–299 s" in rows[PAST].figure
    assert rows[CONTENDED].status == report.PASS
    assert "idle cold p95 2.10× → ×1.03" in rows[CONTENDED].figure
    assert rows[PASS_ROW].status == report.PASS and "22.7 s" in rows[PASS_ROW].figure


@pytest.mark.parametrize(
    ("section", "path", "value", "row"),
    [
        ("tight_budget", ("tight", "prefetch_mean"), 0.5, TIGHT),  # a prefetch went out
        ("tight_budget", ("tight", "n"), 0, TIGHT),  # no lookup ran under the tight budget
        ("tight_budget", ("rate_limited",), 2, PAST),
        ("tight_budget", ("busy", "n"), 0, PAST),  # nobody was told "busy": a stall or a card
        ("tight_budget", ("other_replies",), ["Something went wrong"], PAST),
        ("digest_contention", ("lookup", "rtt", "p95"), 3.0, CONTENDED),
        ("digest_contention", ("replies", "busy"), 1, CONTENDED),
        ("digest_contention", ("digest", "rate_limited"), 1, PASS_ROW),
    ],
)
def test_shared_budget_rows_fail_on_what_the_issue_rules_out(section, path, value, row):
    results = fake_results()
    node = results[section]
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    rows = {r.measure: r for r in report.build_rows(results)}
    assert rows[row].status == report.FAIL


def test_contended_lookups_without_an_idle_figure_still_report():
    results = fake_results()
    del results["lookup"]
    rows = {r.measure: r for r in report.build_rows(results)}
    assert "no idle cold figure" in rows[CONTENDED].figure


def test_reply_kinds_busy_hint_and_the_background_share():
    from devtools.bench import scenarios

    card = {"blocks": [{"type": "header"}], "text": "Jane Doe"}
    busy = {"blocks": [{"type": "section"}],
            "text": "Flexmls is busy: Everyone in the brokerage shares one Flexmls request "
                    "allowance, and it's used up for now. Try again in ~298 s."}  # fmt: skip
    assert scenarios.reply_kind(card) == "card"
    assert scenarios.reply_kind(busy) == "busy" and scenarios.retry_hint_s(busy) == 298
    assert scenarios.reply_kind({"text": "Something went wrong"}) == "other"
    assert scenarios.retry_hint_s({"text": "Flexmls is busy. Try again in a minute."}) is None
    # spark.budget keeps 30% of the window for people: prefetches stop at 70%.
    assert scenarios.background_share(40) == 28 and scenarios.background_share(50) == 35
    assert scenarios.fill_burst(28, 0) == 7 and scenarios.fill_burst(28, 26) == 1
    assert scenarios.fill_burst(56, 0) == scenarios.FILL_BURST


def test_the_quick_plan_stays_lighter_than_the_full_one():
    from devtools.bench.scenarios import Plan

    quick, full = Plan.quick_plan(), Plan.full()
    assert quick.tight_limit < full.tight_limit and quick.tight_busy <= full.tight_busy
    assert quick.contention_max <= full.contention_max
