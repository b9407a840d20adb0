"""response_url endpoints, driven by slack_sdk's `AsyncWebhookClient` (what Bolt's respond uses)."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.webhook.async_client import AsyncWebhookClient

from devtools.slack_standin import MAX_RESPONSE_URL_USES, SlackStandin


async def test_new_response_urls_are_unique_and_local(standin: SlackStandin) -> None:
    first, second = standin.new_response_url(), standin.new_response_url()
    assert first != second
    assert first.startswith(f"{standin.url}/response/")


async def test_post_is_recorded_and_answered_ok(standin: SlackStandin) -> None:
    url = standin.new_response_url()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*page 2*"}}]
    response = await AsyncWebhookClient(url).send(
        text="page 2", blocks=blocks, replace_original=True, response_type="ephemeral"
    )
    assert (response.status_code, response.body) == (200, "ok")
    (received,) = standin.responses(url)
    assert received.kind == "response" and received.ok
    assert received.method == url.rsplit("/", 1)[1]
    assert received.body == {
        "text": "page 2",
        "blocks": blocks,
        "replace_original": True,
        "response_type": "ephemeral",
    }
    assert received.headers["Content-Type"].startswith("application/json")
    assert standin.responses() == [received]
    assert standin.responses(standin.new_response_url()) == []


async def test_a_response_url_works_five_times_only(standin: SlackStandin) -> None:
    url = standin.new_response_url()
    webhook = AsyncWebhookClient(url)
    statuses = [(await webhook.send(text=f"#{i}")).status_code for i in range(6)]
    assert statuses == [200] * MAX_RESPONSE_URL_USES + [404]
    sixth = standin.responses(url)[-1]
    assert (sixth.status, sixth.error, sixth.ok) == (404, "used_url", False)
    other = await AsyncWebhookClient(standin.new_response_url()).send(text="fresh")
    assert other.status_code == 200  # the limit is per URL


async def test_unknown_response_url_is_404(standin: SlackStandin) -> None:
    response = await AsyncWebhookClient(f"{standin.url}/response/deadbeef").send(text="x")
    assert response.status_code == 404
    assert standin.responses()[0].error == "no_service"


async def test_response_urls_expire_after_thirty_minutes() -> None:
    now = [1000.0]
    async with SlackStandin(monotonic=lambda: now[0]) as standin:
        url = standin.new_response_url()
        now[0] += 30 * 60 - 1
        assert (await AsyncWebhookClient(url).send(text="in time")).status_code == 200
        now[0] += 2
        expired = await AsyncWebhookClient(url).send(text="late")
        assert (expired.status_code, expired.body) == (404, "expired_url")


async def test_invalid_payloads_are_rejected_and_do_not_use_the_url(standin: SlackStandin) -> None:
    url = standin.new_response_url()
    async with httpx.AsyncClient() as http:
        bad = await http.post(
            url, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        too_many = await http.post(url, json={"text": "x", "blocks": [{"type": "divider"}] * 51})
    assert (bad.status_code, bad.text) == (400, "invalid_payload")
    assert (too_many.status_code, too_many.text) == (400, "invalid_blocks")
    webhook = AsyncWebhookClient(url)
    statuses = [(await webhook.send(text="ok")).status_code for _ in range(MAX_RESPONSE_URL_USES)]
    assert statuses == [200] * MAX_RESPONSE_URL_USES


@pytest.mark.parametrize("path", ["/response/", "/responses/x"])
async def test_other_paths_are_not_response_urls(standin: SlackStandin, path: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{standin.url}{path}", json={"text": "x"})
    assert response.status_code == 404
    assert standin.received == []
