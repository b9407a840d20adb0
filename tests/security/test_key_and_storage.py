"""Trust, item 5: a lost or replaced encryption key is never silent.

Agents connect over real HTTP (pasting a personal access token into the modal, as Slack sends
it), then the key under the stored tokens changes. Start-up must refuse with a message that
says what to do; a single unreadable connection must make that agent's lookups say "reconnect"
(never "something went wrong"), and reconnecting must overwrite it.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from cryptography.fernet import Fernet

from devtools.sandbox import DEMO_TOKEN, SECOND_AGENT_TOKEN
from devtools.slack_standin.messages import texts
from runtime import open_services
from storage import KeyLost, TokenCipher, get_connection, save_connection
from storage.crypto import KEY_FILE_NAME
from tests.helpers.connect import paste_and_wait
from tests.helpers.stack import OAUTH_ENV

pytestmark = pytest.mark.parametrize("bot_env", [OAUTH_ENV])
TEAM, AGENT, OTHER = "T0STANDIN", "U0AGENT1", "U0AGENT2"
WENT_WRONG = "something went wrong"


def last_modal(stack) -> str:
    return json.dumps(stack.slack.calls("views.update")[-1].body["view"])


async def answer(stack, text: str, user_id: str) -> str:
    return texts(
        await stack.reply_to((await stack.sender.command(text, user_id=user_id)).response_url)
    )


def connection(stack, user_id: str):
    services = stack.bot.services
    return get_connection(services.db, services.cipher, TEAM, user_id)


def as_if_written_with_another_key(stack, user_id: str) -> None:
    """Re-encrypt one stored connection with a key the bot doesn't have (an old key's row)."""
    save_connection(
        stack.bot.services.db, TokenCipher(Fernet.generate_key()), connection(stack, user_id)
    )


async def test_start_up_refuses_a_changed_token_encryption_key(stack, bot_env):
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, AGENT)
    assert "Blake Broker" in last_modal(stack)
    settings = stack.bot.services.settings
    changed = dataclasses.replace(settings, token_encryption_key=Fernet.generate_key().decode())

    with pytest.raises(KeyLost) as refused:
        async with open_services(changed):
            pass
    message = str(refused.value)
    assert "TOKEN_ENCRYPTION_KEY" in message
    assert "python bot.py forget-tokens" in message
    assert changed.token_encryption_key not in message  # the key is never printed
    assert connection(stack, AGENT).status == "ok"  # nothing was lost on the way


async def test_start_up_refuses_when_the_key_file_is_gone_and_restoring_it_works(stack, bot_env):
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, AGENT)
    settings = stack.bot.services.settings
    key_file = settings.data_dir / KEY_FILE_NAME
    original = key_file.read_bytes()
    key_file.unlink()

    with pytest.raises(KeyLost) as refused:
        async with open_services(settings):
            pass
    assert str(key_file) in str(refused.value) and "missing" in str(refused.value)
    assert "python bot.py forget-tokens" in str(refused.value)
    assert not key_file.exists(), "a new key must not replace the one to restore"

    key_file.write_bytes(original)  # the operator restores the file
    async with open_services(settings) as services:
        restored = get_connection(services.db, services.cipher, TEAM, AGENT)
    assert restored is not None and restored.status == "ok" and restored.access_token


async def test_an_unreadable_connection_answers_reconnect_and_reconnecting_works(stack, bot_env):
    await paste_and_wait(stack, DEMO_TOKEN, OTHER)
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, AGENT)
    as_if_written_with_another_key(stack, AGENT)

    lookup = await answer(stack, "janet doe", AGENT)
    assert "stopped working" in lookup and "/activity connect" in lookup
    assert WENT_WRONG not in lookup.lower()
    status = await answer(stack, "status", AGENT)
    assert "stopped working" in status and WENT_WRONG not in status.lower()
    assert "Janet Doe" in await answer(stack, "janet doe", OTHER)  # others are unaffected

    # A mixed database is not a lost key: the bot still starts.
    async with open_services(stack.bot.services.settings):
        pass

    ack = await paste_and_wait(stack, SECOND_AGENT_TOKEN, AGENT)
    assert ack.status_code == 200
    assert "Blake Broker" in last_modal(stack) and WENT_WRONG not in last_modal(stack).lower()
    repaired = connection(stack, AGENT)
    assert repaired.status == "ok" and repaired.access_token == SECOND_AGENT_TOKEN
    assert "stopped working" not in await answer(stack, "status", AGENT)
