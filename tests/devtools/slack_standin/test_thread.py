"""`SlackStandinThread`: the stand-in for synchronous code (the console, benchmarks)."""

from __future__ import annotations

import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from devtools.slack_standin import DEFAULT_BOT_TOKEN, SlackStandinThread


@pytest.fixture
def slack() -> SlackStandinThread:
    with SlackStandinThread() as server:
        yield server


def test_serves_synchronous_clients(slack: SlackStandinThread) -> None:
    client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url, timeout=5)
    posted = client.chat_postMessage(channel="C0GENERAL", text="from sync code")
    assert posted["ok"] is True
    assert [m["text"] for m in slack.messages("C0GENERAL")] == ["from sync code"]
    url = slack.new_response_url()
    assert WebhookClient(url).send(text="pong").status_code == 200
    assert slack.responses(url)[0].body == {"text": "pong"}
    assert [r.kind for r in slack.received] == ["api", "response"]


def test_wait_for_sync_wakes_on_a_request_from_another_thread(slack: SlackStandinThread) -> None:
    client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url, timeout=5)
    timer = threading.Timer(0.05, client.chat_postMessage, kwargs={"channel": "C1", "text": "hi"})
    started = time.monotonic()
    timer.start()
    try:
        received = slack.wait_for_sync(lambda r: r.method == "chat.postMessage", timeout=3)
    finally:
        timer.join()
    assert received.body == {"channel": "C1", "text": "hi"}
    assert time.monotonic() - started < 1.0  # woken by the request, not by the timeout


def test_wait_for_sync_times_out_with_a_summary(slack: SlackStandinThread) -> None:
    WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url).auth_test()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="auth.test"):
        slack.wait_for_sync(lambda r: r.method == "chat.postMessage", timeout=0.1)
    assert 0.1 <= time.monotonic() - started < 1.0


def test_wait_for_count_sync(slack: SlackStandinThread) -> None:
    client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url, timeout=5)

    def post_twice() -> None:
        for text in ("a", "b"):
            client.chat_postMessage(channel="C1", text=text)

    worker = threading.Thread(target=post_twice)
    worker.start()
    got = slack.wait_for_count_sync(lambda r: r.method == "chat.postMessage", 2, timeout=2)
    worker.join()
    assert [r.body["text"] for r in got] == ["a", "b"]


def test_faults_apply_across_threads(slack: SlackStandinThread) -> None:
    slack.add_fault(method="auth.test", error="account_inactive")
    client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="account_inactive"):
        client.auth_test()
    assert client.auth_test()["ok"] is True


async def test_async_wait_for_from_another_loop(slack: SlackStandinThread) -> None:
    client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url, timeout=5)
    timer = threading.Timer(0.05, client.auth_test)
    started = time.monotonic()
    timer.start()
    try:
        received = await slack.wait_for(lambda r: r.method == "auth.test", timeout=3)
    finally:
        timer.join()
    assert received.ok
    assert time.monotonic() - started < 1.0


def test_stop_frees_the_port_and_restart_gets_a_new_url() -> None:
    slack = SlackStandinThread()
    first = slack.start()
    assert slack.start() == first  # idempotent
    slack.stop()
    with pytest.raises(RuntimeError):
        _ = slack.url
    second = slack.start()
    try:
        assert WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url).auth_test()["ok"]
    finally:
        slack.stop()
    assert second.startswith("http://127.0.0.1:")
