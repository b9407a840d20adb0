"""`make bench`: start everything on 127.0.0.1, measure, write `devtools/bench/report.md` and
`devtools/bench/results.json`, print the table, stop everything.

    python -m devtools.bench.run [--quick] [--rtt-ms 150]

Processes: the Spark sandbox (`bot.py sandbox`, subprocess), the stand-in Slack (in this
process), the bot (`bot.py serve`, subprocess) and the bare Bolt app (`devtools/bench/bare_app.py`,
subprocess). Each child runs in its own process group and is stopped in a `finally`, also on
errors and Ctrl-C; on Linux a child also gets SIGTERM if this process dies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import json
import math
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from devtools.bench import alerts, report, scenarios
from devtools.bench.procs import Child, Children, free_port, load_average, machine, source_state
from devtools.sandbox import DEMO_TOKEN
from devtools.slack_standin import SlackSender, SlackStandin

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent.parent
SIGNING_SECRET = "bench-signing-secret"
# Everything the bot reads (settings.py), so a developer's `.env` cannot leak into the run:
# python-dotenv never overrides a variable that is already set, even to "".
BOT_ENV_NAMES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
    "SPARK_API_URL", "SPARK_AUTH_URL", "SPARK_ACCESS_TOKEN", "SPARK_CLIENT_ID",
    "SPARK_CLIENT_SECRET", "SPARK_REDIRECT_URI", "SPARK_USER_AGENT", "SPARK_OAUTH_GRANT",
    "DATABASE_PATH", "TOKEN_ENCRYPTION_KEY", "HOST", "PORT", "LOG_LEVEL", "LISTING_LAYOUT",
    "WORKSPACE_TOKEN_FOR_ALL", "DIGEST_CHANNELS", "SPARK_RATE_LIMIT", "SPARK_ACCESS_TOKEN_KEY",
    "LOG_SLACK_DEBUG", "ALERTS_ENABLED", "ALERT_POLL_MIN_S",
)  # fmt: skip


def child_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BOT_ENV_NAMES}
    env.update({name: "" for name in BOT_ENV_NAMES})
    env.update(values)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def wait_healthy(
    http: httpx.AsyncClient, child: Child, url: str, timeout: float = 60.0
) -> float:
    """Poll `url` until 200; seconds since the child was spawned. Fails fast if it exits."""
    deadline = time.monotonic() + timeout
    while True:
        if not child.alive():
            raise RuntimeError(
                f"{child.name} exited with {child.popen.returncode}:\n{child.log_tail()}"
            )
        try:
            response = await http.get(url, timeout=1.0)
            if response.status_code == 200:
                return time.monotonic() - child.started_at
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} not healthy after {timeout:g} s:\n{child.log_tail()}")
        await asyncio.sleep(0.01)


async def run_phase(
    results: dict[str, Any],
    name: str,
    work: Callable[[], Awaitable[Any]],
    *,
    say: Callable[[str], None],
) -> Any:
    """Run one measurement; a failure is recorded (and reported) instead of ending the run."""
    say(f"· {name} …")
    started = time.monotonic()
    try:
        value = await work()
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise
    except Exception as error:  # noqa: BLE001 - reported in the table and on stderr
        traceback.print_exc()
        results.setdefault("errors", {})[name] = f"{type(error).__name__}: {error}"[:300]
        return None
    say(f"  {name} done in {time.monotonic() - started:.1f} s")
    return value


@contextlib.asynccontextmanager
async def running_stack(
    *,
    rtt_ms: int,
    pools: scenarios.Pools,
    children: Children,
    work_dir: Path,
    http: httpx.AsyncClient,
    say: Callable[[str], None] = print,
    bot_argv: tuple[str, ...] = ("bot.py", "serve"),
) -> AsyncIterator[tuple[scenarios.Stack, dict[str, float]]]:
    """Sandbox, stand-in Slack, bot and bare app, started in that order; the stack and the
    start-up times. The children are stopped by `children.stop_all()` (the caller's finally).

    `bot_argv` (after the interpreter) lets a profiling session start the bot another way.
    """
    sandbox, sandbox_url, sandbox_s = await _start_sandbox(children, http, rtt_ms, say)
    admin = scenarios.SandboxAdmin(http, sandbox_url)
    await admin.config(latency_ms=rtt_ms, rate_limit=None)

    connector = aiohttp.TCPConnector(limit=400, limit_per_host=400)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        scenarios.BenchStandin() as standin,
    ):
        poster = scenarios.AiohttpPoster(session)
        db_path = work_dir / "bot-data" / "activity.db"
        launcher = _BotLauncher(
            children,
            http,
            [sys.executable, *bot_argv],
            _bot_env(standin, sandbox_url, db_path),
            say,
        )
        bot, bot_s, bot_events = await launcher.start()
        bare_events, bare_s = await _start_bare_app(children, http, say)
        stack = scenarios.Stack(
            rtt_s=rtt_ms / 1000,
            http=http,
            admin=admin,
            standin=standin,
            bot=SlackSender(poster, bot_events, SIGNING_SECRET, timeout=30),  # type: ignore[arg-type]
            bare=SlackSender(poster, bare_events, SIGNING_SECRET, timeout=30),  # type: ignore[arg-type]
            bot_child=bot,
            sandbox_child=sandbox,
            pools=pools,
            sandbox_url=sandbox_url,
            restart_bot=launcher.restart,
            db_path=db_path,
        )
        launcher.stack = stack
        yield stack, {"bot_s": bot_s, "bare_s": bare_s, "sandbox_s": sandbox_s}


async def _start_sandbox(
    children: Children, http: httpx.AsyncClient, rtt_ms: int, say: Callable[[str], None]
) -> tuple[Child, str, float]:
    """The Spark sandbox (`bot.py sandbox`): its child, base URL and start-up seconds."""
    say(f"starting the Spark sandbox (RTT {rtt_ms} ms)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    child = children.spawn(
        "sandbox",
        [sys.executable, "bot.py", "sandbox", "--port", str(port), "--latency-ms", str(rtt_ms)],
        env=child_env(LOG_LEVEL="WARNING"),
        cwd=ROOT,
    )
    return child, url, await wait_healthy(http, child, f"{url}/healthz")


async def _start_bare_app(
    children: Children, http: httpx.AsyncClient, say: Callable[[str], None]
) -> tuple[str, float]:
    """The bare Bolt app: its events URL and start-up seconds."""
    say("starting the bare app")
    port = free_port()
    child = children.spawn(
        "bare_app",
        [sys.executable, "-m", "devtools.bench.bare_app", "--port", str(port)],
        env=child_env(SLACK_SIGNING_SECRET=SIGNING_SECRET),
        cwd=ROOT,
    )
    took = await wait_healthy(http, child, f"http://127.0.0.1:{port}/healthz")
    return f"http://127.0.0.1:{port}/slack/events", took


def _bot_env(standin: SlackStandin, sandbox_url: str, db_path: Path) -> dict[str, str]:
    """The bot's environment: the stand-in Slack, the sandbox, a fresh database."""
    return child_env(
        SLACK_BOT_TOKEN=standin.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=standin.api_url,
        SPARK_API_URL=sandbox_url,
        SPARK_AUTH_URL=sandbox_url,
        SPARK_ACCESS_TOKEN=DEMO_TOKEN,
        DATABASE_PATH=str(db_path),
        HOST="127.0.0.1",
        LOG_LEVEL="WARNING",
        WORKSPACE_TOKEN_FOR_ALL="true",
    )


@dataclass
class _BotLauncher:
    """Starts the bot (`argv`, with `env` and a free port) and restarts the stack's bot."""

    children: Children
    http: httpx.AsyncClient
    argv: list[str]
    env: dict[str, str]
    say: Callable[[str], None]
    stack: scenarios.Stack | None = None  # set once the stack exists; `restart` needs it

    async def start(self, extra: Mapping[str, str] | None = None) -> tuple[Child, float, str]:
        """A new bot process: its child, start-up seconds and events URL."""
        self.say("starting the bot" + (f" with {dict(extra)}" if extra else ""))
        port = free_port()
        env = {**self.env, **(extra or {}), "PORT": str(port)}
        child = self.children.spawn("bot", self.argv, env=env, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        took = await wait_healthy(self.http, child, f"{url}/healthz")
        self.say(f"  bot healthy after {took:.2f} s")
        return child, took, f"{url}/slack/events"

    async def restart(
        self, env: Mapping[str, str] | None = None, prepare: Callable[[], object] | None = None
    ) -> float:
        """A fresh bot process (same database), e.g. for a fresh Spark rate-limit budget:
        the usual environment plus `env`; `prepare()` runs while no bot is running."""
        stack = self.stack
        if stack is None:
            raise RuntimeError("the bot can be restarted only once the stack is running")
        self.children.stop(stack.bot_child)
        if prepare is not None:
            prepare()
        stack.bot_child, took, stack.bot.events_url = await self.start(env)
        return took


async def bench(args: argparse.Namespace, children: Children, work_dir: Path) -> dict[str, Any]:
    plan = scenarios.Plan.quick_plan() if args.quick else scenarios.Plan.full()
    rtt_ms = args.rtt_ms
    began = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {line}", flush=True)

    results: dict[str, Any] = {"meta": _meta(plan, rtt_ms)}
    pools = scenarios.pools(plan)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with (
        httpx.AsyncClient(timeout=30.0, limits=limits) as http,
        running_stack(
            rtt_ms=rtt_ms, pools=pools, children=children, work_dir=work_dir, http=http, say=say
        ) as (stack, startup),
    ):
        results["startup"] = startup
        # The driver's start-up objects (the demo brokerage above all) leave the collector's
        # working set, so its own GC passes stay short while it times the bot.
        gc.collect()
        gc.freeze()
        await asyncio.sleep(0.5)
        idle = scenarios.rss_mb(stack.bot_child.pid)
        run = _Phases(results, stack, plan, rtt_ms, say)
        await run.latency_phases()
        before_restart = scenarios.rss_mb(stack.bot_child.pid)
        await run.shared_budget_phases()
        await run.throughput_rounds()
        await asyncio.sleep(plan.settle_rss_s)
        after = scenarios.rss_mb(stack.bot_child.pid)
        results["memory"] = _memory(idle, before_restart, after, plan.settle_rss_s)
        # Last: it leaves the bot polling 1,000 watches and the sandbox with more contacts.
        await run.record("alerts", lambda: alerts.alerts(stack, plan.quick))
        bot = stack.bot_child
        if not bot.alive():
            results.setdefault("errors", {})["bot"] = f"exited with {bot.popen.returncode}"
    results["meta"]["duration_s"] = time.monotonic() - began
    results["meta"]["load_average_after"] = load_average()
    return results


def _meta(plan: scenarios.Plan, rtt_ms: int) -> dict[str, Any]:
    """When, where, on what code and with which plan the run happens."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "source": source_state(ROOT),
        "load_average_before": load_average(),
        "rtt_ms": rtt_ms,
        "quick": plan.quick,
        "plan": {
            "ack_samples": {str(k): v for k, v in plan.ack_samples.items()},
            "sequential_contacts": plan.sequential,
            "throughput_s": plan.throughput_s,
            "throughput_senders": plan.throughput_senders,
            "throughput_rounds": plan.throughput_rounds,
            "digest_reads": list(plan.digest_reads),
            "rate_limit": {"limit": plan.rate_limit, "window_s": plan.rate_window_s},
            "tight_budget": {
                "limit": plan.tight_limit,
                "window_s": scenarios.TIGHT_WINDOW_S,
                "busy_lookups": plan.tight_busy,
            },
            "digest_contention_max_lookups": plan.contention_max,
            "alerts": dataclasses.asdict(alerts.AlertPlan.for_run(plan.quick)),
        },
    }


def _memory(
    idle: Mapping[str, float | None],
    before_restart: Mapping[str, float | None],
    after: Mapping[str, float | None],
    settle_s: float,
) -> dict[str, Any]:
    """The bot's RSS figures from /proc snapshots: idle, after the latency phases (before the
    first restart) and after the throughput rounds."""
    return {
        "idle_rss_mb": idle["VmRSS"],
        "after_latency_phases_rss_mb": before_restart["VmRSS"],
        "steady_rss_mb": max(after["VmRSS"] or 0, before_restart["VmRSS"] or 0),
        "peak_rss_mb": max(after["VmHWM"] or 0, before_restart["VmHWM"] or 0),
        "after_throughput_rss_mb": after["VmRSS"],
        "settle_s": settle_s,
    }


@dataclass
class _Phases:
    """The measurements, in order, each recorded into `results` (a failure as an error)."""

    results: dict[str, Any]
    stack: scenarios.Stack
    plan: scenarios.Plan
    rtt_ms: int
    say: Callable[[str], None]

    async def phase(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        return await run_phase(self.results, name, work, say=self.say)

    async def record(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run phase `name` and keep its result under the same name; None if it failed."""
        value = await self.phase(name, work)
        if value is not None:
            self.results[name] = value
        return value

    def warn(self, *warnings: str) -> None:
        if warnings:
            self.results.setdefault("warnings", []).extend(warnings)

    async def latency_phases(self) -> None:
        """Ack, sequential lookups and digest gathering, on the bot's usual settings."""
        stack, plan = self.stack, self.plan
        ack = await self.record("ack", lambda: scenarios.ack_latency(stack, plan))
        if ack is not None and ack["errors"]:
            self.warn(f"{ack['errors']} commands of the ack phase got something else than a card")
        # The ack bursts fill most of the bot's own window (about 1,200 requests of 1,500), and
        # prefetches only use what the 30% reserve for people leaves (spark.budget): measured on
        # that process, every prefetch is skipped. The sequential phase starts a fresh one.
        await stack.restart_bot()
        since = (await stack.admin.stats())["requests"]
        seq = await self.phase("sequential", lambda: scenarios.sequential(stack, plan))
        if seq is not None:
            self.results.update({k: seq[k] for k in ("lookup", "page_flip", "spark_requests")})
            self.warn(*seq["errors"])
        await self.check_own_budget(since)
        await self.record("digest", lambda: scenarios.digest(stack, plan, self.rtt_ms))

    async def check_own_budget(self, since: int = 0) -> None:
        """Everything since the bot's last start (`since`: the sandbox's count then) was its
        doing: it must stay under its own Spark budget, or its limiter (not the code under test)
        would have set the latencies."""
        spent = (await self.stack.admin.stats())["requests"] - since
        budget, window = scenarios.bot_spark_budget()
        self.results["bot_spark_requests_latency_phases"] = spent
        if spent >= budget - scenarios.BUDGET_MARGIN:
            self.warn(
                f"the latency phases sent {spent} Spark requests, near the bot's own limit of "
                f"{budget} per {window:g} s: later samples may include limiter waits"
            )

    async def shared_budget_phases(self) -> None:
        """The key's shared budget (issue 11): each phase restarts the bot with its own
        SPARK_RATE_LIMIT and leaves it running with the usual one."""
        stack, plan = self.stack, self.plan
        await self.record("tight_budget", lambda: scenarios.tight_budget(stack, plan))
        await self.record("digest_contention", lambda: scenarios.digest_contention(stack, plan))

    async def throughput_rounds(self) -> None:
        """The bot limits itself to 1,500 Spark requests per 5 minutes per key, and the phases
        above spent much of that: each round runs on a fresh process, with a fresh budget."""
        stack, plan = self.stack, self.plan
        rounds, restarts = [], []
        for _ in range(plan.throughput_rounds):
            restarts.append(await stack.restart_bot())
            thr = await self.phase(
                "throughput", lambda: scenarios.throughput(stack, plan, self.rtt_ms)
            )
            if thr is None:
                break
            rounds.append(thr)
        self.results["startup"]["bot_restarts_s"] = restarts
        if rounds:
            self.results["throughput"] = scenarios.combine_throughput(
                rounds, senders=plan.throughput_senders, contacts=scenarios.THROUGHPUT_CONTACTS
            )


def _clean(value: Any) -> Any:
    """JSON without NaN (null instead), so any JSON reader accepts results.json."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_outputs(
    results: dict[str, Any], report_path: Path, results_path: Path
) -> list[report.Row]:
    rows = report.build_rows(results)
    results_path.write_text(json.dumps(_clean(results), indent=2, sort_keys=True) + "\n")
    report_path.write_text(report.render_markdown(results, rows))
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.bench.run", description="Benchmark the bot."
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples (~70 s)")
    parser.add_argument("--rtt-ms", type=int, default=150, help="sandbox latency per Spark request")
    parser.add_argument("--report", type=Path, default=BENCH_DIR / "report.md")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results.json")
    args = parser.parse_args(argv)
    if args.rtt_ms <= 0:
        parser.error("--rtt-ms must be > 0 (latencies are reported as multiples of it)")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through every `finally`, which stop the children


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C even when started in the background by a shell, which ignores SIGINT for it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="activity-bench-") as tmp:
        work_dir = Path(tmp)
        (work_dir / "bot-data").mkdir()
        children = Children(log_dir=work_dir)
        try:
            results = asyncio.run(bench(args, children, work_dir))
        except KeyboardInterrupt:
            print("\nInterrupted; stopping everything.", file=sys.stderr)
            return 130
        except Exception:
            traceback.print_exc()
            for child in children.children:
                print(f"--- {child.name} log (last lines) ---\n{child.log_tail()}", file=sys.stderr)
            return 1
        finally:
            children.stop_all()
    rows = write_outputs(results, args.report, args.results)
    report.print_console(results, rows)
    missed = report.misses(rows)
    print(
        f"Wrote {args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report}"
        f" and {args.results.name}. Targets missed: {len(missed)}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
