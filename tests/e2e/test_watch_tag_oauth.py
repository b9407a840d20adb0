"""With OAuth set up, `watch tag:` reads a whole list, so (like a tag digest) it needs the
agent's own connection: the workspace token never lists a tag's contacts for someone."""

from __future__ import annotations

import pytest

from devtools.slack_standin.messages import texts
from storage.alerts import active_watches
from tests.e2e.test_alerts import AGENT, command
from tests.helpers.stack import OAUTH_ENV

TEAM = "T0STANDIN"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {**OAUTH_ENV, "WORKSPACE_TOKEN_FOR_ALL": "true", "ALERT_POLL_MIN_S": "60"}


async def test_watch_tag_with_the_workspace_token_is_refused_before_any_read(stack):
    said = texts(await command(stack, "watch tag:Buyer"))
    assert "uses your own account" in said and "/activity connect" in said, said
    assert not [r for r in stack.sandbox.requests if r.path.startswith("/v1/contacts")]
    assert active_watches(stack.bot.services.db, TEAM, AGENT, stack.clock()) == []
    # One contact at a time still works with the workspace token, as lookups do.
    said = texts(await command(stack, "watch priya patel"))
    assert "Watching" in said or "watching" in said, said
    assert len(active_watches(stack.bot.services.db, TEAM, AGENT, stack.clock())) == 1
