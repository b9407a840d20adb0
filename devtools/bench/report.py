"""Turn the results dict into the table (pure), `devtools/bench/report.md` and the console print."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PASS, FAIL, INFO, ERROR = "pass", "FAIL", "info", "error"
ACK_TARGET_MS = 50.0
ACK_TARGET_LEVEL = "50"
COLD_LOOKUP_RTT = 2.2
WARM_LOOKUP_RTT = 1.2
PAGE_FLIP_RTT = 1.2
PREFETCHED_FLIP_MS = 50.0  # our reading of "near-instant": the same budget as an ack
DIGEST_RATIO = 1.1
STEADY_RSS_MB = 120.0
FLOOR_REQUESTS = {"cold": 2, "warm": 1}


@dataclass(frozen=True)
class Row:
    measure: str
    figure: str
    target: str
    status: str


def _num(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _ok(condition: bool) -> str:
    return PASS if condition else FAIL


def _get(results: Mapping[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _ack_rows(results: Mapping[str, Any]) -> list[Row]:
    rows = []
    for level, bot in (_get(results, "ack", "bot") or {}).items():
        bare = _get(results, "ack", "bare", level) or {}
        ratio = _get(results, "ack", "ratio_p99", level)
        figure = (
            f"p50 {_num(bot['p50'])} · p95 {_num(bot['p95'])} · p99 {_num(bot['p99'])} ms "
            f"(max {_num(bot['max'])}, n={bot['n']}); bare app p99 {_num(bare.get('p99'))} ms, "
            f"bot/bare ×{_num(ratio)}"
        )
        if level == ACK_TARGET_LEVEL:
            target, status = f"p99 ≤ {ACK_TARGET_MS:g} ms", _ok(bot["p99"] <= ACK_TARGET_MS)
        else:
            target, status = "—", INFO
        rows.append(Row(f"Ack of `/activity <email>`, {level} concurrent", figure, target, status))
    return rows


def _rtt_row(
    results: Mapping[str, Any], path: tuple[str, str], label: str, limit: float
) -> Row | None:
    data = _get(results, *path)
    if data is None:
        return None
    rtt, ms = data["rtt"], data["ms"]
    figure = (
        f"p50 {_num(rtt['p50'], 2)}× · p95 {_num(rtt['p95'], 2)}× RTT "
        f"({_num(ms['p50'], 0)} / {_num(ms['p95'], 0)} ms; min {_num(ms['min'], 0)}, "
        f"max {_num(ms['max'], 0)}, n={ms['n']})"
    )
    outside = data.get("outside_spark_ms")
    if outside:
        figure += f"; outside Spark p50 {_num(outside['p50'])} · p95 {_num(outside['p95'])} ms"
    return Row(label, figure, f"p95 ≤ {limit:g} × RTT", _ok(rtt["p95"] <= limit))


def _prefetched_row(results: Mapping[str, Any]) -> Row | None:
    data = _get(results, "page_flip", "prefetched")
    if data is None:
        return None
    ms, rtt = data["ms"], data["rtt"]
    figure = (
        f"p50 {_num(ms['p50'])} · p95 {_num(ms['p95'])} ms (p95 {_num(rtt['p95'], 2)}× RTT; "
        f"max {_num(ms['max'])}, n={ms['n']})"
    )
    return Row(
        "Page flip, prefetched (Next after page 1 + 2×RTT)",
        figure,
        f"near-instant: p95 ≤ {PREFETCHED_FLIP_MS:g} ms",
        _ok(ms["p95"] <= PREFETCHED_FLIP_MS),
    )


def _digest_rows(results: Mapping[str, Any]) -> list[Row]:
    digest = _get(results, "digest") or {}
    rows = []
    for n, run in (digest.get("runs") or {}).items():
        figure = (
            f"×{_num(run['ratio'], 2)} ({_num(run['elapsed_s'], 2)} s vs {_num(run['allowed_s'], 2)} s "
            f"allowed at {digest['limit']} per {digest['window_s']:g} s; "
            f"×{_num(run.get('ratio_to_client_window'), 2)} vs the client limiter's own "
            f"{digest['window_s'] + (digest.get('client_margin_s') or 0):g} s window); "
            f"429s: {run['rate_limited']}; failed reads: {run['failed']}"
        )
        ok = run["ratio"] <= DIGEST_RATIO and run["rate_limited"] == 0 and run["failed"] == 0
        rows.append(
            Row(
                f"Digest gathering, {n} contact reads",
                figure,
                f"≤ {DIGEST_RATIO:g} × allowed, 0 × 429",
                _ok(ok),
            )
        )
    return rows


def _requests_rows(results: Mapping[str, Any]) -> list[Row]:
    rows = []
    for kind, floor in FLOOR_REQUESTS.items():
        data = _get(results, "spark_requests", kind)
        if data is None:
            continue
        figure = (
            f"{_num(data['card_mean'], 2)} for the card + {_num(data['prefetch_mean'], 2)} "
            f"prefetch = {_num(data['total_mean'], 2)} total (n={data['n']})"
        )
        status = "at floor" if data["card_mean"] <= floor + 1e-9 else "above floor"
        rows.append(
            Row(f"Spark requests per {kind} lookup", figure, f"floor {floor} (issue 6)", status)
        )
    return rows


def _range(values: list[int]) -> str:
    if not values:
        return "n/a"
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def _tight_rows(results: Mapping[str, Any]) -> list[Row]:
    t = _get(results, "tight_budget")
    if t is None:
        return []
    tight, fill, busy = t["tight"], t["fill"], t["busy"]
    window = f"{t['limit']} per {t['window_s']:g} s"
    figure = (
        f"{_num(tight['card_mean'], 2)} for the card + {_num(tight['prefetch_mean'], 2)} prefetch "
        f"(n={tight['n']}, sent with {_range(tight.get('used_before') or [])} of the bot's "
        f"{window} used; background share {t['background_share']}); while filling the share: "
        f"{_num(fill['card_mean'], 2)} + {_num(fill['prefetch_mean'], 2)} (n={fill['lookups']})"
    )
    skipped = (
        tight["n"] > 0
        and tight["card_mean"] <= FLOOR_REQUESTS["cold"] + 1e-9
        and tight["prefetch_mean"] == 0
    )
    rows = [
        Row(
            "Spark requests per cold lookup, tight budget",
            figure,
            "2 + 0 (prefetch skipped)",
            _ok(skipped),
        )
    ]
    latency = busy["latency"]
    other = len(t.get("other_replies") or [])
    figure = (
        f"{busy['n']} lookups once the window was full got “Flexmls is busy, try again in "
        f"~{_range(busy.get('retry_in_s') or [])} s” in p95 {_num(latency['ms']['p95'], 0)} ms "
        f"({_num(latency['rtt']['p95'], 2)}× RTT), spending {busy['spark_requests']} Spark "
        f"requests; other replies: {other}; 429s: {t['rate_limited']}"
    )
    ok = (
        busy["n"] > 0
        and other == 0
        and t["rate_limited"] == 0
        and latency["rtt"]["p95"] <= COLD_LOOKUP_RTT
    )
    rows.append(
        Row(
            "Lookups past a spent budget",
            figure,
            f"“busy” reply, no stall (p95 ≤ {COLD_LOOKUP_RTT:g} × RTT); 0 × 429",
            _ok(ok),
        )
    )
    return rows


def _contention_rows(results: Mapping[str, Any]) -> list[Row]:
    c = _get(results, "digest_contention")
    if c is None:
        return []
    rtt, ms = c["lookup"]["rtt"], c["lookup"]["ms"]
    replies = c.get("replies") or {}
    digest = c["digest"]
    idle = _get(results, "lookup", "cold", "rtt", "p95")
    versus = (
        f"idle cold p95 {_num(idle, 2)}× → ×{_num(rtt['p95'] / idle, 2)}"
        if isinstance(idle, int | float) and idle > 0 and not math.isnan(idle)
        else "no idle cold figure"
    )
    figure = (
        f"p50 {_num(rtt['p50'], 2)}× · p95 {_num(rtt['p95'], 2)}× RTT ({_num(ms['p50'], 0)} / "
        f"{_num(ms['p95'], 0)} ms; max {_num(ms['max'], 0)}, n={ms['n']}); {versus}; "
        f"“busy” replies: {replies.get('busy', 0)}; other: {replies.get('other', 0)}; "
        f"prefetches during the pass: {digest['prefetch_requests']}"
    )
    ok = (
        ms["n"] > 0
        and rtt["p95"] <= COLD_LOOKUP_RTT
        and not replies.get("busy")
        and not replies.get("other")
    )
    rows = [
        Row(
            "Cold lookup while a digest gathers (same key)",
            figure,
            f"p95 ≤ {COLD_LOOKUP_RTT:g} × RTT (as idle), no “busy”",
            _ok(ok),
        )
    ]
    figure = (
        f"{_num(digest['elapsed_s'], 1)} s at the bot's {c['limit']} per {c['window_s']:g} s "
        f"(background share {c['background_share']}), alongside {c['lookups']} lookups; "
        f"{digest['spark_requests']} Spark requests in all; 429s: {digest['rate_limited']}"
    )
    rows.append(
        Row(
            f"Digest pass during those lookups ({c['contacts']} contacts)",
            figure,
            "0 × 429",
            _ok(digest["rate_limited"] == 0),
        )
    )
    return rows


def _throughput_rows(results: Mapping[str, Any]) -> list[Row]:
    t = _get(results, "throughput")
    if t is None:
        return []
    return [
        Row(
            "Throughput at RTT 0 (50 senders, half cold)",
            f"{_num(t['lookups_per_s'])} lookups/s ({t['lookups']} in {_num(t['elapsed_s'])} s"
            + (
                f" over {t['rounds']} rounds: "
                + " / ".join(_num(x, 0) for x in t.get("lookups_per_s_by_round", []))
                + " per s"
                if t.get("rounds", 1) > 1
                else ""
            )
            + f"; "
            f"bot used {_num(t['bot_cpu_util'], 2)} cores; p95 {_num(t['latency_ms']['p95'], 0)} ms; "
            f"{t.get('spark_requests', '?')} Spark requests, stopped by {t.get('stopped_by', '?')}; "
            f"errors {t['errors']})",
            "—",
            INFO,
        ),
        Row(
            "CPU per lookup (bot process)",
            f"{_num(t['bot_cpu_ms_per_lookup'], 2)} ms "
            f"(sandbox {_num(t['sandbox_cpu_ms_per_lookup'], 2)} ms, "
            f"driver {_num(t['driver_cpu_ms_per_lookup'], 2)} ms)",
            "—",
            INFO,
        ),
    ]


ALERT_LATENCY_INTERVALS = 2.0  # issue 14: one DM within two poll intervals


def _alert_latency_row(results: Mapping[str, Any]) -> Row | None:
    a = _get(results, "alerts", "latency")
    if a is None:
        return None
    s, k = a["latency"]["s"], a["latency"]["intervals"]
    figure = (
        f"p50 {_num(s['p50'])} · p95 {_num(s['p95'])} s (max {_num(s['max'])}, n={s['n']}); "
        f"p95 {_num(k['p95'], 2)}× the contact's check interval (ALERT_POLL_MIN_S={a['min_s']}: "
        f"hot {a['min_s']} s, warm {3 * a['min_s']} s); {a['raised']} of {a['watched']} "
        f"watched contacts raised {a['rounds']}× each at random moments; missed DMs: {a['missed']}"
    )
    ok = s["n"] > 0 and a["missed"] == 0 and k["p95"] <= ALERT_LATENCY_INTERVALS
    return Row(
        "Alert latency (views raised → DM at Slack)",
        figure,
        f"p95 ≤ {ALERT_LATENCY_INTERVALS:g} check intervals, none missed",
        _ok(ok),
    )


def _alert_rate_row(results: Mapping[str, Any]) -> Row | None:
    a, load = _get(results, "alerts", "latency"), _get(results, "alerts", "load")
    if a is None and load is None:
        return None
    parts = []
    if a is not None:
        parts.append(
            f"{_num(a['per_contact_hour'], 0)} with {a['watched']} watched (not stretched, "
            f"factor {_num(a['stretch']['factor'], 2)})"
        )
    if load is not None:
        plan = load["planned"]
        parts.append(
            f"{_num(load['per_contact_hour'], 2)} with {load['watched']} watched (stretched ×"
            f"{_num(load['stretch']['factor'], 1)}; planned {_num(plan['per_contact_hour'], 2)}"
            f" = the poller's {_num(plan['capacity_per_s'], 2)} reads/s at {load['limit']}/"
            f"{load['window_s']:g}; at the usual cadence it would be "
            f"{_num(plan['usual_per_contact_hour'], 0)})"
        )
    return Row("Spark requests per watched contact per hour", "; ".join(parts), "—", INFO)


def _alert_load_rows(results: Mapping[str, Any]) -> list[Row]:
    load = _get(results, "alerts", "load")
    if load is None:
        return []
    rtt, ms = load["lookup"]["rtt"], load["lookup"]["ms"]
    replies = load.get("replies") or {}
    idle = _get(results, "lookup", "cold", "rtt", "p95")
    versus = (
        f"idle cold p95 {_num(idle, 2)}× → ×{_num(rtt['p95'] / idle, 2)}"
        if isinstance(idle, int | float) and idle > 0 and not math.isnan(idle)
        else "no idle cold figure"
    )
    figure = (
        f"p50 {_num(rtt['p50'], 2)}× · p95 {_num(rtt['p95'], 2)}× RTT ({_num(ms['p50'], 0)} / "
        f"{_num(ms['p95'], 0)} ms; n={ms['n']}); {versus}; “busy” replies: "
        f"{replies.get('busy', 0)}; other: {replies.get('other', 0)}"
    )
    ok = ms["n"] > 0 and rtt["p95"] <= COLD_LOOKUP_RTT and not replies.get("busy")
    ok = ok and not replies.get("other")
    return [
        Row(
            f"Cold lookup while the poller covers {load['watched']} watched contacts",
            figure,
            f"p95 ≤ {COLD_LOOKUP_RTT:g} × RTT (as idle), no “busy”",
            _ok(ok),
        ),
        Row(
            f"429s with {load['watched']} watched contacts at {load['limit']}/{load['window_s']:g}",
            f"{load['rate_limited']} (of {load['spark_requests']} Spark requests, poller and "
            f"lookups, sandbox enforcing the limit on the key)",
            "0 × 429",
            _ok(load["rate_limited"] == 0),
        ),
    ]


def _process_rows(results: Mapping[str, Any]) -> list[Row]:
    rows = []
    startup = _get(results, "startup", "bot_s")
    if startup is not None:
        rows.append(Row("Bot start-up (spawn → /healthz 200)", f"{_num(startup, 2)} s", "—", INFO))
    memory = _get(results, "memory") or {}
    if memory.get("steady_rss_mb") is not None:
        rows.append(
            Row(
                "Steady RSS (bot, after load settles)",
                f"{_num(memory['steady_rss_mb'])} MB (idle after start-up {_num(memory.get('idle_rss_mb'))} MB)",
                f"≤ {STEADY_RSS_MB:g} MB",
                _ok(memory["steady_rss_mb"] <= STEADY_RSS_MB),
            )
        )
    if memory.get("peak_rss_mb") is not None:
        rows.append(Row("Peak RSS (bot, VmHWM)", f"{_num(memory['peak_rss_mb'])} MB", "—", INFO))
    return rows


def build_rows(results: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    rows += _ack_rows(results)
    builders: list[Callable[[], Row | None]] = [
        lambda: _rtt_row(results, ("lookup", "cold"), "Cold lookup (e-mail → card)", COLD_LOOKUP_RTT),
        lambda: _rtt_row(results, ("lookup", "warm"), "Warm lookup (same query again)", WARM_LOOKUP_RTT),
        lambda: _rtt_row(results, ("page_flip", "cold"), "Page flip, cold (page 5 directly)", PAGE_FLIP_RTT),
        lambda: _prefetched_row(results),
    ]  # fmt: skip
    rows += [row for build in builders if (row := build()) is not None]
    rows += _digest_rows(results)
    rows += _requests_rows(results)
    rows += _tight_rows(results)
    rows += _contention_rows(results)
    rows += _throughput_rows(results)
    rows += [row for row in (_alert_latency_row(results), _alert_rate_row(results)) if row]
    rows += _alert_load_rows(results)
    rows += _process_rows(results)
    for phase, message in (results.get("errors") or {}).items():
        rows.append(Row(f"Phase `{phase}`", f"did not complete: {message}", "—", ERROR))
    return rows


def misses(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.status in (FAIL, ERROR)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: Mapping[str, Any], rows: list[Row]) -> str:
    lines = _report_header(results.get("meta") or {})
    lines += ["", *_table_lines(rows)]
    missed = misses(rows)
    lines += ["", f"Targets missed: {', '.join(r.measure for r in missed) if missed else 'none'}."]
    warnings = results.get("warnings") or []
    if warnings:
        lines += ["", "Warnings:", ""] + [f"- {_cell(str(w))}" for w in warnings]
    lines += ["", *_reading_notes(results)]
    return "\n".join(lines) + "\n"


def _report_header(meta: Mapping[str, Any]) -> list[str]:
    """The title and the run's circumstances: date, machine, code, load, RTT, mode."""
    host = meta.get("machine") or {}
    source = meta.get("source") or {}
    return [
        "# Benchmark report",
        "",
        f"- Date: {meta.get('date', 'n/a')}",
        f"- Machine: {host.get('cpu_model', 'n/a')}, {host.get('cores', '?')} cores "
        f"({host.get('os', '')}, Python {host.get('python', '?')})",
        f"- Code: commit {source.get('commit') or '?'}"
        + (
            f" plus uncommitted changes to {', '.join(source['modified'])}"
            if source.get("modified")
            else ""
        ),
        f"- Load average (1/5/15 min) before → after: {meta.get('load_average_before')} → "
        f"{meta.get('load_average_after')} (other work on the machine skews absolute figures)",
        f"- RTT (sandbox latency per Spark request): {meta.get('rtt_ms', '?')} ms",
        f"- Mode: {'quick' if meta.get('quick') else 'full'} "
        f"(`make bench{' QUICK=1' if meta.get('quick') else ''}`), "
        f"ran {_num(meta.get('duration_s'), 0)} s",
    ]


def _table_lines(rows: list[Row]) -> list[str]:
    return [
        "| measure | figure | target | pass/fail |",
        "|---|---|---|---|",
        *(
            f"| {_cell(r.measure)} | {_cell(r.figure)} | {_cell(r.target)} | {_cell(r.status)} |"
            for r in rows
        ),
    ]


def _reading_notes(results: Mapping[str, Any]) -> list[str]:
    """How to read each figure; the digest notes name the limits the run used."""
    digest = results.get("digest") or {}
    contention = results.get("digest_contention") or {}
    return [
        "How to read it (details in `devtools/bench/README.md`; raw figures in `devtools/bench/results.json`):",
        "",
        "- Ack: time from sending the signed request to its HTTP 200, in bursts of N "
        "simultaneous commands; the bare app is a Bolt `AsyncApp` that only acks, in the same "
        "run, so the ratio is machine-independent.",
        "- Lookups and page flips: from sending the request to the reply arriving at the "
        "response URL, sequential, with the sandbox idle before each sample; ×RTT = latency / RTT.",
        "- Spark requests: counted by the sandbox around each sequential lookup, after background "
        'prefetches settle; "for the card" excludes the listing-page prefetches.',
        "- Digest: `activity.digests.read_summaries` in the driver under a sandbox limit of "
        f"{digest.get('limit', '?')} requests per {digest.get('window_s', '?')} s, with the "
        'driver\'s `RateLimiter` given the same numbers; "allowed" = '
        "floor((N−1)/limit) × window + RTT, the earliest the last answer can arrive under an "
        "exact sliding window starting empty.",
        "- Tight budget: the bot restarted with `SPARK_RATE_LIMIT=<limit>/300` (the sandbox "
        "enforcing the same per key); cold lookups fill the window to the background share "
        "(70%, the rest is kept for people), then lookups one at a time use the reserve: their "
        "prefetches are skipped, and once the window is full the bot answers "
        "“Flexmls is busy” instead of waiting.",
        "- Digest on the same key: the bot's own digest pass over every demo contact, with "
        f"`SPARK_RATE_LIMIT={contention.get('limit', '?')}/{contention.get('window_s', '?')}` (the "
        "sandbox enforcing the same); cold lookups one at a time, 2×RTT apart, once the pass "
        "has used its background share; compared with the idle cold lookup above.",
        "- Throughput: RTT 0, on a freshly started bot per round; a round ends after its time or "
        "just short of the bot's own Spark budget (1,500 requests per 5 min per key), so it "
        "measures CPU, not the limiter.",
    ]


def print_console(results: Mapping[str, Any], rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    meta = results.get("meta") or {}
    host = meta.get("machine") or {}
    title = (
        f"Activity bot benchmark · {'quick' if meta.get('quick') else 'full'} · "
        f"RTT {meta.get('rtt_ms')} ms · {host.get('cpu_model', '')} ×{host.get('cores', '?')} · "
        f"{meta.get('date', '')}"
    )
    table = Table(title=title, show_lines=True)
    for column in ("measure", "figure", "target", "pass/fail"):
        table.add_column(column, overflow="fold")
    styles = {PASS: "green", FAIL: "bold red", ERROR: "bold red"}
    for r in rows:
        table.add_row(
            Text(r.measure),
            Text(r.figure),
            Text(r.target),
            Text(r.status, styles.get(r.status, "")),
        )
    Console(width=160).print(table)
