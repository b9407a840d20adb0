"""Child processes (own process groups, always stopped) and what /proc says about them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PR_SET_PDEATHSIG = 1


# ------------------------------------------------------------------ /proc parsing (pure)


def parse_stat_cpu(stat_text: str, ticks_per_s: float = CLOCK_TICKS) -> float:
    """utime + stime in seconds from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may contain spaces, so fields are
    counted after the last ')': utime and stime are fields 14 and 15 of the line.
    """
    after = stat_text[stat_text.rindex(")") + 2 :].split()
    utime, stime = int(after[11]), int(after[12])  # fields 14 and 15 (field 3 is after[0])
    return (utime + stime) / ticks_per_s


def parse_status_kb(status_text: str, key: str) -> int | None:
    """A `kB` value (VmRSS, VmHWM, ...) from the text of /proc/<pid>/status."""
    for line in status_text.splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return int(rest.split()[0])
    return None


def cpu_seconds(pid: int) -> float:
    return parse_stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def memory_kb(pid: int) -> dict[str, int | None]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: parse_status_kb(text, key) for key in ("VmRSS", "VmHWM")}


def machine() -> dict[str, object]:
    """CPU model, core count, OS and Python, for the report."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine shows up here."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def source_state(root: Path) -> dict[str, object]:
    """The commit measured and the files that differ from it (read-only git commands)."""
    state: dict[str, object] = {"commit": None, "modified": None}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        state["commit"] = head.stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        state["modified"] = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    return state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ child processes


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child when the driver dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


try:  # loaded in the parent: the child only makes one system call before exec
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path
    started_at: float  # time.monotonic() just before spawning

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Children:
    """Every process the driver started; `stop_all()` ends them (process group by group)."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("wb")
        try:
            started = time.monotonic()
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: Ctrl-C is ours to relay
                preexec_fn=_die_with_parent if _LIBC is not None else None,  # noqa: PLW1509
            )
        finally:
            log.close()
        child = Child(name, popen, log_path, started)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 5.0) -> None:
        """SIGTERM the child's process group, then SIGKILL it if still there after `timeout`."""
        popen = child.popen
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if popen.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(popen.pid, sig)  # its pgid is its pid (start_new_session)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout)

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)
        self.children.clear()
