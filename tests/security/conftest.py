"""Security suite: attacks on the running bot over real HTTP.

Each test here is an attack from the "Trust" issue: signed Slack requests (or plain browser
requests, for the OAuth pages) sent to the bot's real HTTP endpoint, with the Spark sandbox and
the stand-in Slack on 127.0.0.1, asserting what the attacker gets back and what reached Slack,
Spark and the database. It builds on the end-to-end stack (`tests/e2e/conftest.py`).
"""

from __future__ import annotations

from tests.e2e.conftest import (  # re-exported: `clock`, `bot_env` and `stack` are fixtures
    OAUTH_ENV,
    SIGNING_SECRET,
    Stack,
    bot_env,
    button,
    buttons,
    clock,
    env_for,
    free_port,
    is_response,
    stack,
    texts,
)

__all__ = [
    "OAUTH_ENV",
    "SIGNING_SECRET",
    "Stack",
    "bot_env",
    "button",
    "buttons",
    "clock",
    "env_for",
    "free_port",
    "is_response",
    "stack",
    "texts",
]
