"""Secrets never reach log output, whichever library logs them."""

import logging

import pytest

from redaction import REDACTED, RedactingFilter


@pytest.mark.parametrize(
    "line",
    [
        "headers: {'Authorization': 'Bearer sbx-at-abcdefghijklmnop'}",
        "Authorization: OAuth 1234567890abcdef",
        "token=xoxb-1234-5678-abcdefgh sent",
        "app token xapp-1-A0-123-abcdef",
        '{"access_token": "sbx-at-secretvalue", "expires_in": 86400}',
        "refresh_token=sbx-rt-secretvalue&grant_type=refresh_token",
        "client_secret: 'supersecretvalue'",
        "GET /spark/oauth/callback?code=abcdef123456&state=xyz",
    ],
)
def test_credential_shapes_are_redacted(line):
    scrubbed = RedactingFilter().scrub(line)
    assert REDACTED in scrubbed
    for secret in (
        "sbx-at-",
        "sbx-rt-",
        "1234567890abcdef",
        "xoxb-1234",
        "xapp-1",
        "supersecretvalue",
        "abcdef123456",
    ):
        assert secret not in scrubbed


def test_known_secrets_are_redacted_anywhere():
    assert RedactingFilter(["plain-secret-42"]).scrub("x plain-secret-42 y") == f"x {REDACTED} y"


def test_ordinary_text_is_untouched():
    text = "Spark RateLimited on /contacts; retry 1 in 2.00s (request abc)"
    assert RedactingFilter(["other-secret"]).scrub(text) == text


def test_the_filter_rewrites_args_and_tracebacks(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter(["tok-secret-99"]))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("using %s", "tok-secret-99")
        try:
            raise ValueError("boom with tok-secret-99")
        except ValueError:
            logger.exception("failed")
    text = caplog.text
    assert "tok-secret-99" not in text
    assert "failed" in text and REDACTED in text
