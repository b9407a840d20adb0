"""Every documented status/code pair maps onto the right error type."""

import datetime as dt

import httpx
import pytest

from spark import (
    BadFilter,
    BadRequest,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    SparkProtocolError,
    SparkUnavailable,
    TokenExpired,
    parse_envelope,
)
from spark.errors import SearchTooBroad, error_for, parse_retry_after
from tests.helpers.spark import spark_error, spark_ok


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, 1020, TokenExpired),
        (401, 1000, InvalidToken),
        (401, 1010, InvalidToken),
        (401, None, InvalidToken),
        (403, 1500, PermissionDenied),
        (403, 1015, PermissionDenied),
        (403, 1019, PermissionDenied),
        (403, None, PermissionDenied),
        (404, 404, NotFound),
        (404, None, NotFound),
        (400, 1040, BadFilter),
        (400, 1041, BadFilter),
        (400, 2000, BadFilter),
        (400, 2999, BadFilter),
        (429, 1550, RateLimited),
        (429, None, RateLimited),
        (503, 1550, RateLimited),
        (500, 1026, SparkUnavailable),
        (500, None, SparkUnavailable),
        (502, None, SparkUnavailable),
        (503, 1023, SparkUnavailable),
        (503, 1024, SparkUnavailable),
        (503, 1510, SparkUnavailable),
        (400, 1016, BadRequest),
        (400, 1053, BadRequest),
        (405, 1017, BadRequest),
        (409, 1055, BadRequest),
    ],
)
def test_status_and_code_map_to_error_type(status, code, expected):
    with pytest.raises(expected) as info:
        parse_envelope(spark_error(status, code, "the message"))
    assert type(info.value) is expected
    assert info.value.status == status
    assert info.value.code == code
    assert info.value.message == "the message"
    assert info.value.request_id == "req-err"


def test_success_false_with_200_is_still_an_error():
    response = httpx.Response(200, json={"D": {"Success": False, "Code": 1040, "Message": "bad"}})
    with pytest.raises(BadFilter):
        parse_envelope(response)


def test_rate_limited_carries_retry_after_seconds():
    with pytest.raises(RateLimited) as info:
        parse_envelope(spark_error(429, 1550, "slow down", headers={"Retry-After": "7"}))
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize("header", ["", "soon", "nan", "Thu, 99 Foo 2015 07:28:00 GMT"])
def test_unreadable_retry_after_is_none(header):
    with pytest.raises(RateLimited) as info:
        parse_envelope(spark_error(429, 1550, headers={"Retry-After": header}))
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("Mon, 02 Mar 2026 15:00:42 GMT", 42.0),  # an HTTP date, 42 s ahead
        ("Mon, 02 Mar 2026 14:59:00 GMT", 0.0),  # a date already past: go now
        ("12", 12.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    now = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    assert parse_retry_after(header, now=now) == seconds


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (503, 1515, SearchTooBroad),
        (503, 1516, SearchTooBroad),
        (400, 1516, SearchTooBroad),
        (503, 1023, SparkUnavailable),
        (503, 1024, SparkUnavailable),
        (503, 1510, SparkUnavailable),
        (429, 1550, RateLimited),
        (403, 1013, PermissionDenied),
        (403, 1505, PermissionDenied),
    ],
)
def test_documented_status_code_pairs(status, code, expected):
    error = error_for(status, code, "")
    assert type(error) is expected
    assert error.retryable is (expected in (SparkUnavailable, RateLimited))


def test_filter_errors_keep_sparkql_details():
    details = [{"Token": "Nope", "Status": "Dropped"}]
    with pytest.raises(BadFilter) as info:
        parse_envelope(spark_error(400, 1040, "bad filter", SparkQLErrors=details))
    assert info.value.details == details


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"Results": []}),
        httpx.Response(200, json=["D"]),
        httpx.Response(200, json={"D": "yes"}),
        httpx.Response(200, json={"D": {"Success": True, "Results": {"not": "a list"}}}),
    ],
)
def test_a_body_that_is_not_a_spark_envelope_is_a_protocol_error(response):
    with pytest.raises(SparkProtocolError):
        parse_envelope(response)


def test_non_json_error_page_from_a_proxy_is_unavailable():
    with pytest.raises(SparkUnavailable) as info:
        parse_envelope(httpx.Response(502, text="Bad Gateway"))
    assert info.value.status == 502


def test_success_returns_results_and_pagination():
    envelope = parse_envelope(spark_ok([{"Id": "1"}], {"TotalRows": 1}))
    assert envelope.results == [{"Id": "1"}]
    assert envelope.pagination == {"TotalRows": 1}
    assert envelope.request_id == "req-ok"


def test_error_text_names_status_code_and_request():
    with pytest.raises(NotFound) as info:
        parse_envelope(spark_error(404, 404, "Not Found"))
    assert str(info.value) == "Not Found (HTTP 404, code 404) [request req-err]"
