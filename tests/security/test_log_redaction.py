"""Secrets stay out of every log line, whichever logger or handler carries it.

Before the fix: the redacting filter sat only on the handlers present at start-up (a handler
added later, or a record passed on by a library's own logger, saw the raw text); tokens learnt
at run time were caught only if they looked like `Bearer …`; `Authorization: Basic …` was not
redacted; and at LOG_LEVEL=DEBUG Bolt and slack_sdk printed whole payloads.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest

import redaction
from bot import configure_logging
from settings import load_settings
from spark.oauth import OAuthClient

# Shaped like nothing the patterns know: only remembering them by value can redact them.
ACCESS = "zq7Plain4Access9Value2Kx"
REFRESH = "mw3Plain8Refresh5Value1Ty"


@pytest.fixture
def installed():
    """The production set-up: `install` as `bot.py` does it (the suite's conftest did too)."""
    yield redaction.install(["operator-secret-value"])


def token_endpoint(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 3600}
    )


async def test_tokens_from_an_oauth_exchange_are_redacted_everywhere_at_once(installed, caplog):
    async with httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)) as http:
        oauth = OAuthClient(
            http,
            auth_url="https://auth.test",
            api_url="https://api.test",
            client_id="id",
            client_secret="secret-123456",
            redirect_uri="https://x/cb",
        )
        tokens = await oauth.exchange_code("one-time-code")
    assert tokens.access_token == ACCESS
    # A logger nobody configured, a handler (caplog's) added after install: still scrubbed.
    with caplog.at_level(logging.INFO, logger="some.library"):
        logging.getLogger("some.library").info("debug dump %s / %s", tokens.access_token, REFRESH)
        logging.getLogger("some.library").info(json.dumps({"t": ACCESS}))
    assert ACCESS not in caplog.text and REFRESH not in caplog.text
    assert caplog.text.count(redaction.REDACTED) == 3


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Basic c2FuZGJveC1jbGllbnQ6c2VjcmV0LXZhbHVl",
        "headers={'authorization': 'basic c2FuZGJveC1jbGllbnQ6c2VjcmV0LXZhbHVl'}",
    ],
)
def test_basic_authorization_is_redacted(installed, caplog, line):
    with caplog.at_level(logging.INFO, logger="httpcore.http11"):
        logging.getLogger("httpcore.http11").info(line)
    assert "c2FuZGJveC1jbGllbnQ6c2VjcmV0LXZhbHVl" not in caplog.text


def test_many_remembered_tokens_are_still_found_inside_other_text(installed, caplog):
    many = [f"tokN{i:05d}xyzabc" for i in range(redaction.REPLACE_UP_TO + 10)]
    redaction.remember(*many)
    with caplog.at_level(logging.INFO, logger="x"):
        logging.getLogger("x").info("url=https://h/p?access=%s&k=1 and %s.", many[3], many[-1])
    assert many[3] not in caplog.text and many[-1] not in caplog.text


async def test_a_pasted_token_is_redacted_from_the_moment_it_is_pasted(stack, caplog):
    from tests.helpers.connect import paste

    pasted = "pq9Pasted4Token7Value2Zz"
    stack.sandbox.state.tokens[pasted] = stack.sandbox.state.tokens[
        next(iter(stack.sandbox.state.tokens))
    ]
    await paste(stack, pasted)
    with caplog.at_level(logging.INFO, logger="elsewhere"):
        logging.getLogger("elsewhere").warning("the user typed %s", pasted)
    assert pasted not in caplog.text


@pytest.mark.parametrize(
    ("env", "bolt_debug"),
    [
        ({"LOG_LEVEL": "DEBUG"}, False),
        ({"LOG_LEVEL": "DEBUG", "LOG_SLACK_DEBUG": "true"}, True),
        ({"LOG_LEVEL": "INFO", "LOG_SLACK_DEBUG": "true"}, False),
    ],
)
def test_slack_payload_logging_needs_debug_and_an_explicit_opt_in(env, bolt_debug):
    loggers = [logging.getLogger(n) for n in ("slack_bolt", "slack_sdk", "httpx", "aiohttp.access")]
    saved = [lg.level for lg in loggers]
    root_level = logging.getLogger().level
    try:
        configure_logging(load_settings(env))
        logging.getLogger().setLevel(env["LOG_LEVEL"])
        for name in ("slack_bolt", "slack_sdk"):
            assert logging.getLogger(f"{name}.web.client").isEnabledFor(logging.DEBUG) is bolt_debug
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)
        logging.getLogger().setLevel(root_level)


@pytest.mark.parametrize(
    "shape",
    [
        "{t}",
        "'{t}'",
        '"{t}",',
        "({t})",
        "x={t}&y=1",
        '{{"access":"{t}"}}',
        "/v1/path/{t}/x",
        "see <{t}>.",
    ],
)
@pytest.mark.parametrize("token", ["pa!ste#d%Tok3n", "plainTOKEN12345", "q'uote\"Tok9"])
def test_with_many_tokens_remembered_odd_tokens_are_found_in_any_setting(
    installed, caplog, shape, token
):
    redaction.remember(*[f"filler{i:05d}tok" for i in range(redaction.REPLACE_UP_TO + 5)])
    redaction.remember(token)
    with caplog.at_level(logging.INFO, logger="odd"):
        logging.getLogger("odd").info("line " + shape.format(t=token) + " end")
    assert token not in caplog.text
