"""Constants shared by the storage tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

# The fixed "now" every test passes in; storage never reads the clock.
NOW = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
