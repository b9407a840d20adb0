"""Suite-wide guard: no Slack or Spark secret may appear in any log line of the whole run.

Every record any library emits during the session passes through a handler configured the way
`bot.py` configures production logging (the same redaction filter, knowing the same kinds of
secrets an operator configures); the handler then looks for every secret the tests use —
including tokens users paste and tokens the sandbox issues, which no filter is told about.

It also loads the shared fixtures (`tests/fixtures/`, listed in `pytest_plugins`).
"""

from __future__ import annotations

import logging
import re

import pytest

import redaction
from devtools.sandbox import DEMO_CLIENT_SECRET, DEMO_TOKEN, NO_ROLE_TOKEN, SECOND_AGENT_TOKEN

# The shared fixtures (pytest reads `pytest_plugins` only in the top-level conftest). Helpers
# assert too, so they are rewritten like test modules; this runs before anything imports them.
pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.stack"]
pytest.register_assert_rewrite("tests.helpers")

OPERATOR_SECRETS = ["xoxb-standin", "e2e-signing-secret", DEMO_TOKEN, DEMO_CLIENT_SECRET]
LEAKABLE = [*OPERATOR_SECRETS, SECOND_AGENT_TOKEN, NO_ROLE_TOKEN]
ISSUED = re.compile(r"sbx-(?:at|rt)-[A-Za-z0-9_-]{8,}")  # tokens the sandbox hands out


class LeakDetector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that can't be formatted can't leak through this handler
            return
        found = [s for s in LEAKABLE if s in text] + ISSUED.findall(text)
        if found:
            self.leaks.append(f"{record.name}: {found[0][:12]}… in {text[:160]!r}")


@pytest.fixture(autouse=True, scope="session")
def no_secret_in_any_log():
    root = logging.getLogger()
    detector = LeakDetector()
    root.addHandler(detector)
    redaction.install(OPERATOR_SECRETS, logger=root)
    previous = root.level
    root.setLevel(logging.INFO)  # production default; tests/e2e checks a DEBUG session too
    yield detector
    root.setLevel(previous)
    root.removeHandler(detector)
    assert detector.leaks == [], "secrets reached the logs:\n" + "\n".join(detector.leaks[:10])
