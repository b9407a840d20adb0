"""Friendly problem messages, and the mapping of Spark errors to plain language."""

from __future__ import annotations

import pytest

from blocks import (
    internal_error,
    invalid_input,
    not_connected,
    problem,
    retrying_notice,
    spark_problem,
    stale_button,
)
from spark.errors import (
    BadFilter,
    BadRequest,
    FlexmlsBusy,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefreshFailed,
    SearchTooBroad,
    SparkError,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
    TokenExpired,
)
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    all_texts,
    assert_no_formatting_from,
    assert_valid_message,
)

SECRET = "tok_SECRET_1234"


def words(message) -> str:
    return "\n".join(all_texts(message))


FORBIDDEN_CASES = [
    (1013, "way of signing in", "OAuth/OpenID"),
    (1015, "no active Flexmls access", "`/activity connect`"),
    (1019, "locked to other servers", "`SPARK_USER_AGENT`"),
    (1021, "replication server", "replication.sparkapi.com"),
    (1030, "only answers over HTTPS", "https://"),
    (1100, "no Flexmls portal", "portal"),
    (1500, "can't read contact activity", "Private role"),
    (1505, "turned this Flexmls feature off", "your MLS"),
]


@pytest.mark.parametrize(("code", "title", "hint"), FORBIDDEN_CASES)
def test_each_403_code_says_what_to_do(code: int, title: str, hint: str) -> None:
    message = spark_problem(PermissionDenied("raw spark words", status=403, code=code))
    assert_valid_message(message)
    assert title in words(message) and hint in words(message)
    assert "raw spark words" not in words(message)  # documented codes use our own wording


def test_the_403_messages_are_all_different() -> None:
    texts = {
        spark_problem(PermissionDenied("", status=403, code=c)).text for c, _, _ in FORBIDDEN_CASES
    }
    assert len(texts) == len(FORBIDDEN_CASES)


def test_an_unknown_403_code_shows_the_code_and_sparks_message_escaped() -> None:
    error = PermissionDenied("Nope <!channel> *bold* " + "x" * 500, status=403, code=1999)
    message = spark_problem(error)
    assert_valid_message(message)
    assert "code 1999" in message.text and "Nope" in message.text
    assert "<!channel>" not in words(message)
    assert len(message.text) < 600


def test_problem_layout() -> None:
    message = problem("Title", "Some detail.", "Do `this`.")
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "*Title*\nSome detail."
    assert message.blocks[1]["elements"][0]["text"] == "Do `this`."
    assert message.text == "Title: Some detail. Do this."


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            RateLimited("x", retry_after=19.2),
            ["Flexmls is busy", "rate-limiting", "again in ~20 s"],
        ),
        (RateLimited("x"), ["Flexmls is busy", "rate-limiting", "Try again in a minute"]),
        (FlexmlsBusy("x", retry_in=29.5), ["Flexmls is busy", "allowance", "Try again in ~30 s"]),
        (SearchTooBroad("x", code=1516), ["too much for Flexmls", "Narrow it down"]),
        (TokenExpired("x"), ["connection has expired", "Reconnect with `/activity connect`"]),
        (RefreshFailed("x"), ["connection has expired", "/activity connect"]),
        (InvalidToken("x"), ["connection isn't valid", "/activity connect"]),
        (
            PermissionDenied("x"),
            [
                "This Flexmls key can't read contact activity",
                "Contacts: Activity needs the Private role on the API key; "
                "ask your MLS or FBS support to enable it",
            ],
        ),
        (
            NotFound("x"),
            [
                "That contact isn't available",
                "deleted or belong to another agent",
            ],
        ),
        (SparkUnavailable("x"), ["Flexmls isn't answering right now", "Try again in a minute"]),
        (SparkTimeout("x"), ["Flexmls isn't answering right now", "Try again in a minute"]),
        (BadFilter("x"), ["Flexmls couldn't search for that", "Try a simpler name or the e-mail"]),
        (
            SparkProtocolError("x"),
            [
                "Something went wrong talking to Flexmls",
                "Try again; if it keeps happening, tell your admin",
            ],
        ),
        (BadRequest("x"), ["Something went wrong talking to Flexmls"]),
        (SparkError("x"), ["Something went wrong talking to Flexmls"]),
    ],
)
def test_spark_problems(error: SparkError, expected: list[str]) -> None:
    message = spark_problem(error)
    assert_valid_message(message)
    for phrase in expected:
        assert phrase in words(message)


@pytest.mark.parametrize("error", [TokenExpired("x"), InvalidToken("x"), RefreshFailed("x")])
def test_workspace_token_problems_point_to_the_admin(error: SparkError) -> None:
    message = spark_problem(error, workspace_token=True)
    assert_valid_message(message)
    assert "Ask your Slack admin to update the workspace Flexmls token" in words(message)
    assert "/activity connect" not in words(message)


def test_error_details_never_reach_the_user() -> None:
    error = SparkProtocolError(
        f"Bad JSON from https://sparkapi.com/v1/contacts?token={SECRET}",
        status=500,
        code=9999,
        request_id="req-42",
        details={"Authorization": f"Bearer {SECRET}"},
    )
    text = words(spark_problem(error))
    for leak in (SECRET, "https://", "req-42", "9999", "Traceback"):
        assert leak not in text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (20, "Flexmls is rate-limiting us, retrying in 20 s…"),
        (19.01, "Flexmls is rate-limiting us, retrying in 20 s…"),
        (0, "Flexmls is rate-limiting us, retrying in 1 s…"),
        (float("inf"), "Flexmls is rate-limiting us, retrying shortly…"),
    ],
)
def test_retrying_notice(seconds: float, expected: str) -> None:
    message = retrying_notice(seconds)
    assert_valid_message(message)
    assert message.text == expected


def test_not_connected() -> None:
    message = not_connected()
    assert_valid_message(message)
    assert "`/activity connect`" in words(message)
    assert "`SPARK_ACCESS_TOKEN`" in words(message)


def test_invalid_input_echoes_the_reason() -> None:
    message = invalid_input("A phone number needs at least 7 digits.")
    assert_valid_message(message)
    assert "A phone number needs at least 7 digits." in message.blocks[0]["text"]["text"]
    assert "`/activity help`" in words(message)


def test_invalid_input_can_carry_its_own_hint() -> None:
    message = invalid_input("Say whose listings.", hint="Try `/activity viewed jane doe`.")
    assert_valid_message(message)
    assert message.blocks[-1]["elements"][0]["text"] == "Try `/activity viewed jane doe`."
    assert "/activity help" not in words(message)


@pytest.mark.parametrize("text", HOSTILE_NAMES)
def test_invalid_input_escapes_what_it_echoes(text: str) -> None:
    message = invalid_input(f"Can't search for {text}")
    assert_valid_message(message)
    assert_no_formatting_from(text, message)


def test_stale_button() -> None:
    message = stale_button()
    assert_valid_message(message)
    assert message.text == (
        "That button is out of date or damaged. It may come from an old message. "
        "Run /activity &lt;contact&gt; again."
    )


def test_internal_error_is_a_plain_apology() -> None:
    message = internal_error()
    assert_valid_message(message)
    assert message.text.startswith("Sorry")
    assert len(message.blocks) == 1
