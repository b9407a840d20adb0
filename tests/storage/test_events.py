"""Processed Slack event ids: dedupe (also across connections) and pruning."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlite_utils import Database

from storage import first_time_seen, open_database, prune_events

from .support import NOW


def test_only_the_first_sighting_is_new(db: Database) -> None:
    assert first_time_seen(db, "Ev1", NOW) is True
    assert first_time_seen(db, "Ev1", NOW) is False
    assert first_time_seen(db, "Ev1", NOW + timedelta(minutes=5)) is False
    assert first_time_seen(db, "Ev2", NOW) is True


def test_dedupe_holds_across_connections(db_path: Path) -> None:
    first, second = open_database(db_path), open_database(db_path)
    try:
        assert first_time_seen(first, "Ev1", NOW) is True
        assert first_time_seen(second, "Ev1", NOW) is False
    finally:
        first.close()
        second.close()


def test_concurrent_sightings_on_separate_connections_count_once(db_path: Path) -> None:
    count = 8
    connections = [open_database(db_path) for _ in range(count)]
    barrier = threading.Barrier(count)
    results: list[bool] = []

    def see(db: Database) -> None:
        barrier.wait()
        results.append(first_time_seen(db, "Ev-race", NOW))

    threads = [threading.Thread(target=see, args=(c,)) for c in connections]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False] * (count - 1) + [True]
    finally:
        for database in connections:
            database.close()


def test_prune_forgets_only_old_events(db: Database) -> None:
    first_time_seen(db, "old", NOW - timedelta(days=2))
    first_time_seen(db, "edge", NOW - timedelta(days=1))
    first_time_seen(db, "new", NOW - timedelta(hours=1))
    assert prune_events(db, NOW) == 1
    assert first_time_seen(db, "old", NOW) is True
    assert first_time_seen(db, "edge", NOW) is False
    assert first_time_seen(db, "new", NOW) is False


def test_prune_with_custom_max_age(db: Database) -> None:
    first_time_seen(db, "a", NOW - timedelta(hours=2))
    first_time_seen(db, "b", NOW - timedelta(minutes=30))
    assert prune_events(db, NOW, max_age=timedelta(hours=1)) == 1
    assert prune_events(db, NOW, max_age=timedelta(hours=1)) == 0
