"""Who holds a delivery claim, and telling a dead holder from a live one."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlite_utils import Database

from storage import add_subscription, claim_delivery, owner_alive, process_owner

from .support import NOW


def test_the_owner_names_this_host_this_process_and_its_start():
    host, pid, started = process_owner().rsplit(":", 2)
    assert host == socket.gethostname()
    assert pid.isdigit() and int(pid) > 0
    assert started.isdigit() or started == "?"


def test_a_process_that_is_running_is_alive_and_a_finished_one_is_not():
    assert owner_alive(process_owner())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    me = process_owner().rsplit(":", 2)
    assert not owner_alive(f"{me[0]}:{child.pid}:{me[2]}")
    assert owner_alive(f"another-host:{child.pid}:1")  # can't tell: trust the lease


def test_a_reused_pid_is_not_the_owner_that_died():
    host, pid, started = process_owner().rsplit(":", 2)
    if started == "?":
        pytest.skip("no /proc here: only the lease can tell")
    assert not owner_alive(f"{host}:{pid}:{int(started) + 1}")  # same pid, later start


def test_owners_it_cant_read_are_trusted_to_the_lease():
    for owner in ("", "garbage", f"{socket.gethostname()}:not-a-pid:1", "a:b"):
        assert owner_alive(owner)


def test_a_dead_owners_claim_is_taken_over_before_its_lease_runs_out(db: Database):
    sub = add_subscription(
        db,
        team_id="T1",
        user_id="U1",
        channel_id="C100",
        local_time="08:00",
        timezone="America/Denver",
        scope="recent",
        now=NOW,
    )
    day = date(2026, 3, 14)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host, _, started = process_owner().rsplit(":", 2)
    dead = f"{host}:{child.pid}:{started}"
    assert claim_delivery(db, sub.id, day, NOW, owner=dead, owner_alive=owner_alive)
    later = NOW + timedelta(minutes=1)  # the lease (10 minutes) still runs
    assert claim_delivery(db, sub.id, day, later, owner=process_owner(), owner_alive=owner_alive)
    assert not claim_delivery(db, sub.id, day, later, owner="x:1:1", owner_alive=owner_alive)
