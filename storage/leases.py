"""Who holds a delivery claim, and whether that process is still running.

A claim records its owner as "host:pid:start-ticks". On the same host a dead owner can be
told from a live one through `/proc` (the start time guards against a reused pid), so its
claim is taken over at once instead of when the lease runs out (`claim_delivery(owner_alive=…)`).
On another host, or without `/proc`, nothing can be told: the lease decides.
"""

from __future__ import annotations

import os
import socket


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/<pid>/stat), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_owner() -> str:
    """Who holds a claim: host, pid and the pid's start time (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid()) or '?'}"


def owner_alive(owner: str) -> bool:
    """False only when the claim's process ran on this host and is gone; else trust the lease."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True
    started = _start_ticks(int(parts[1]))
    return started is not None and (parts[2] == "?" or started == parts[2])
