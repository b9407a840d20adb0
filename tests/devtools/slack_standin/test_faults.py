"""Fault injection: rate limits, server errors, `ok: false` errors, delays, and their scope."""

from __future__ import annotations

import time

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from devtools.slack_standin import DEFAULT_BOT_TOKEN, Fault, SlackStandin


async def test_rate_limit_is_retried_by_slack_sdk(
    standin: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler sleeps Retry-After + random jitter; pin the jitter so the test stays fast.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random", lambda: 0.0)
    standin.add_fault(method="chat.postMessage", status=429, retry_after=0, times=1)
    client = AsyncWebClient(
        token=DEFAULT_BOT_TOKEN,
        base_url=standin.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    response = await client.chat_postMessage(channel="C0GENERAL", text="after a 429")
    assert response["ok"] is True
    first, second = standin.calls("chat.postMessage")
    assert (first.status, first.error) == (429, "ratelimited")
    assert second.ok
    assert len(standin.messages("C0GENERAL")) == 1


async def test_rate_limit_sends_retry_after(standin: SlackStandin) -> None:
    standin.add_fault(method="chat.postMessage", status=429, retry_after=1)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{standin.api_url}chat.postMessage",
            headers={"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"},
            json={"channel": "C0GENERAL", "text": "x"},
        )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"ok": False, "error": "ratelimited"}


async def test_rate_limit_without_a_retry_handler_surfaces(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.add_fault(method="chat.postMessage", status=429, retry_after=3)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "3"


async def test_server_error(standin: SlackStandin, client: AsyncWebClient) -> None:
    fault = standin.add_fault(method="users.info")
    with pytest.raises(SlackApiError) as caught:
        await client.users_info(user="U0AGENT1")
    assert caught.value.response.status_code == 500
    assert fault.applied == 1
    assert (await client.users_info(user="U0AGENT1"))["ok"] is True  # times=1 by default
    assert standin.faults == []


async def test_error_is_http_200_with_ok_false(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.add_fault(method="views.publish", error="invalid_blocks")
    with pytest.raises(SlackApiError) as caught:
        await client.views_publish(user_id="U0AGENT1", view={"type": "home", "blocks": []})
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "invalid_blocks"
    assert standin.home_view("U0AGENT1") is None


async def test_times_counts_matching_requests(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.add_fault(method="chat.*", error="fatal_error", times=2)
    await client.auth_test()  # does not match, does not use the fault up
    outcomes = []
    for _ in range(3):
        try:
            await client.chat_postMessage(channel="C0GENERAL", text="x")
            outcomes.append("ok")
        except SlackApiError as exc:
            outcomes.append(exc.response["error"])
    assert outcomes == ["fatal_error", "fatal_error", "ok"]


async def test_times_none_is_forever_until_cleared(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.add_fault(status=503, times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            await client.auth_test()
    standin.clear_faults()
    assert (await client.auth_test())["ok"] is True


async def test_delay_only_fault_delays_the_normal_answer(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.add_fault(method="auth.test", delay_ms=200)
    started = time.perf_counter()
    response = await client.auth_test()
    assert time.perf_counter() - started >= 0.2
    assert response["ok"] is True
    started = time.perf_counter()
    await client.auth_test()
    assert time.perf_counter() - started < 0.2


async def test_delay_then_error(standin: SlackStandin, client: AsyncWebClient) -> None:
    standin.add_fault(method="auth.test", status=500, delay_ms=150)
    started = time.perf_counter()
    with pytest.raises(SlackApiError):
        await client.auth_test()
    assert time.perf_counter() - started >= 0.15


async def test_response_url_faults(standin: SlackStandin) -> None:
    url = standin.new_response_url()
    standin.add_fault(method="response", status=404)
    standin.add_fault(method="response", error="invalid_blocks")
    webhook = AsyncWebhookClient(url)
    first, second, third = [await webhook.send(text="x") for _ in range(3)]
    assert (first.status_code, first.body) == (404, "no_service")
    assert (second.status_code, second.body) == (400, "invalid_blocks")
    assert (third.status_code, third.body) == (200, "ok")


async def test_api_faults_do_not_touch_response_urls(standin: SlackStandin) -> None:
    standin.add_fault(method="chat.*", status=500, times=None)
    response = await AsyncWebhookClient(standin.new_response_url()).send(text="x")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "rule",
    [{"status": 42}, {"times": 0}, {"delay_ms": -1}, {"retry_after": -5}],
)
def test_bad_rules_are_rejected(rule: dict) -> None:
    with pytest.raises(ValueError):
        Fault(**rule)


def test_a_bare_fault_is_a_500() -> None:
    assert Fault().status == 500
    assert Fault(delay_ms=10).status is None
