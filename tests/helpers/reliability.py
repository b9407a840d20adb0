"""The reliability suite's stack: the e2e `Stack` with fast Spark retries, and ways to wait.

The `stack` fixture in `tests/reliability/conftest.py` shortens the Spark client's retries and
timeout (so fault tests take milliseconds) and yields a `ReliabilityStack`, which can wait until
the bot's work has settled and count what reached Slack and Spark.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from spark import RetryPolicy
from tests.helpers.connect import LinkForms
from tests.helpers.stack import Stack, button

# Short enough that a fault test takes well under a second, long enough for a healthy sandbox.
FAST_TIMEOUT = httpx.Timeout(0.4)
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.02, max_delay=0.1, deadline=1.5)
# Placeholder a test's `bot_env` may use for SPARK_API_URL: replaced by a port nobody listens on.
REFUSED = "refused://"
# What a Bolt listener task runs (slack_bolt.listener.asyncio_runner); `settle` waits for them.
_BOLT_TASK = "run_ack_function_asynchronously"


def _is_bolt_work(task: asyncio.Task) -> bool:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "") or getattr(coro, "__name__", "")
    return _BOLT_TASK in name


@dataclass
class ReliabilityStack(Stack):
    """The e2e `Stack` plus waiting for the bot's background work and counting its output."""

    @staticmethod
    def busy_listeners() -> list[asyncio.Task]:
        """The bot's Bolt listeners still running (the bot shares the test's event loop)."""
        me = asyncio.current_task()
        return [t for t in asyncio.all_tasks() if t is not me and _is_bolt_work(t)]

    async def settle(self, *, grace: float = 0.05, timeout: float = 10.0) -> None:
        """Wait until every Bolt listener has finished (so every reply was sent), then `grace`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            busy = self.busy_listeners()
            if not busy:
                break
            remaining = deadline - loop.time()
            assert remaining > 0, f"{len(busy)} listener(s) still running after {timeout}s"
            await asyncio.wait(busy, timeout=remaining)
        await asyncio.sleep(grace)

    def responses(self, response_url: str | None) -> list[dict[str, Any]]:
        """Every message posted to `response_url` so far (accepted or not)."""
        assert response_url is not None
        return [r.body for r in self.slack.responses(response_url)]

    def spark_requests(self, since: int = 0) -> list[Any]:
        """Requests the sandbox saw (admin calls excluded), from index `since` on."""
        return self.sandbox.requests[since:]


async def oauth_connect(stack: Stack, user_id: str = "U0AGENT1") -> None:
    """Connect `user_id` through the Flexmls OAuth flow (the sandbox consents at once)."""
    sent = await stack.sender.command("connect", user_id=user_id)
    prompt = await stack.reply_to(sent.response_url)
    url = button(prompt, "connect_oauth")["url"]
    async with httpx.AsyncClient() as http:
        authorize = await http.get(url)
        assert authorize.status_code == 302, authorize.text
        page = await http.get(authorize.headers["location"])
        assert page.status_code == 200, page.text
        action, token = LinkForms(page.text).forms["Link"]  # the "Link this account?" page
        linked = await http.post(
            urllib.parse.urljoin(stack.bot.url, action),
            data={"form_token": token, "action": "Link"},
        )
        assert linked.status_code == 200, linked.text
    await stack.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body.get("channel") == user_id
    )
