"""Connecting: signed single-use OAuth states, pasted-token validation, status, disconnect."""

from __future__ import annotations

import pytest

from activity.connections import (
    PendingLinks,
    StateRejected,
    TokenRejected,
    begin_oauth,
    claim_state,
    confirm_link,
    connect_personal,
    connection_status,
    disconnect,
    new_state,
)
from devtools.sandbox import DEMO_ACCOUNT_ID, SECOND_AGENT_TOKEN
from storage import get_connection

TEAM, USER = "T1", "U1"


def test_a_state_can_be_claimed_once_by_the_user_it_was_made_for(services):
    state = new_state(services, TEAM, USER)
    assert claim_state(services, state) == (TEAM, USER)
    with pytest.raises(StateRejected):
        claim_state(services, state)


@pytest.mark.parametrize("forged", ["", ".", "abc", "abc.def", "abc.", ".sig"])
def test_forged_states_are_refused(services, forged):
    with pytest.raises(StateRejected):
        claim_state(services, forged)


def test_a_state_with_a_tampered_signature_is_refused(services):
    state = new_state(services, TEAM, USER)
    state_id, _, signature = state.partition(".")
    with pytest.raises(StateRejected):
        claim_state(services, f"{state_id}.{signature[::-1]}")


def test_a_state_expires_after_ten_minutes(services, clock):
    state = new_state(services, TEAM, USER)
    clock.advance(minutes=11)
    with pytest.raises(StateRejected, match="expired"):
        claim_state(services, state)


async def test_a_confirmed_oauth_sign_in_stores_validated_encrypted_tokens(services, sandbox):
    state = new_state(services, TEAM, USER)
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, "http://127.0.0.1/cb")
    pending = PendingLinks()
    offer = await begin_oauth(services, pending, state, code)
    assert (offer.team_id, offer.user_id, offer.account.name) == (TEAM, USER, "Avery Agent")
    assert get_connection(services.db, services.cipher, TEAM, USER) is None
    confirm_link(services, pending, offer.form_token)
    stored = get_connection(services.db, services.cipher, TEAM, USER)
    assert stored.kind == "oauth" and stored.refresh_token and stored.expires_at
    status = connection_status(services, TEAM, USER)
    assert status.connected and status.spark_user_name == "Avery Agent"


async def test_a_pasted_token_is_trimmed_validated_and_stored(services):
    account = await connect_personal(services, TEAM, USER, f"\n  {SECOND_AGENT_TOKEN}  ")
    assert account.name == "Blake Broker"
    stored = get_connection(services.db, services.cipher, TEAM, USER)
    assert stored.access_token == SECOND_AGENT_TOKEN and stored.kind == "personal"


@pytest.mark.parametrize("text", [None, "", "  ", "has space", "x" * 501, "tab\tinside", "émoji😀"])
async def test_text_that_cannot_be_a_token_is_refused_without_a_request(services, sandbox, text):
    with pytest.raises(TokenRejected):
        await connect_personal(services, TEAM, USER, text)
    assert [r for r in sandbox.requests if r.path == "/v1/my/account"] == []


async def test_a_token_flexmls_rejects_is_not_stored(services):
    with pytest.raises(TokenRejected, match="didn't accept"):
        await connect_personal(services, TEAM, USER, "not-a-real-token")
    assert get_connection(services.db, services.cipher, TEAM, USER) is None


async def test_disconnect(services):
    await connect_personal(services, TEAM, USER, SECOND_AGENT_TOKEN)
    assert disconnect(services, TEAM, USER).was_connected is True
    assert disconnect(services, TEAM, USER).was_connected is False
    assert not connection_status(services, TEAM, USER).connected
