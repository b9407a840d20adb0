"""The OAuth callback parks the sign-in; only a one-time signed "Link" form token stores it."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.connections import (
    LINK_TTL,
    AlreadyLinked,
    LinkRejected,
    PendingLink,
    PendingLinks,
    begin_oauth,
    cancel_link,
    confirm_link,
    connect_personal,
    new_state,
)
from devtools.sandbox import DEMO_ACCOUNT_ID, SECOND_ACCOUNT_ID, SECOND_AGENT_TOKEN
from spark import Account
from spark.oauth import TokenSet
from storage import get_connection

TEAM, USER, OTHER = "T1", "U1", "U2"
REDIRECT = "http://127.0.0.1/cb"


async def offer_for(services, sandbox, pending, user=USER, account_id=SECOND_ACCOUNT_ID):
    code = sandbox.state.issue_code(account_id, REDIRECT)
    return await begin_oauth(services, pending, new_state(services, TEAM, user), code)


def stored(services, user=USER):
    return get_connection(services.db, services.cipher, TEAM, user)


async def test_begin_stores_nothing_and_keeps_the_tokens_in_memory(services, sandbox, clock):
    pending = PendingLinks()
    offer = await offer_for(services, sandbox, pending)
    assert (offer.user_id, offer.account.id, offer.account.name) == (
        USER,
        SECOND_ACCOUNT_ID,
        "Blake Broker",
    )
    assert offer.expires_at == clock() + LINK_TTL
    assert stored(services) is None and len(pending) == 1
    assert list(services.db["spark_connections"].rows) == []


async def test_link_stores_once(services, sandbox):
    pending = PendingLinks()
    offer = await offer_for(services, sandbox, pending)
    link = confirm_link(services, pending, offer.form_token)
    assert (link.user_id, link.account.id) == (USER, SECOND_ACCOUNT_ID)
    assert stored(services).spark_user_id == SECOND_ACCOUNT_ID and len(pending) == 0
    with pytest.raises(LinkRejected, match="already used"):
        confirm_link(services, pending, offer.form_token)


async def test_cancel_discards_and_stores_nothing(services, sandbox):
    pending = PendingLinks()
    offer = await offer_for(services, sandbox, pending)
    cancel_link(services, pending, offer.form_token)
    assert len(pending) == 0 and stored(services) is None
    with pytest.raises(LinkRejected):
        confirm_link(services, pending, offer.form_token)


async def test_an_expired_form_token_is_refused_and_its_tokens_dropped(services, sandbox, clock):
    pending = PendingLinks()
    offer = await offer_for(services, sandbox, pending)
    clock.advance(minutes=10)
    with pytest.raises(LinkRejected, match="expired"):
        confirm_link(services, pending, offer.form_token)
    assert len(pending) == 0 and stored(services) is None


@pytest.mark.parametrize("token", [None, "", ".", "abc", "abc.def", "e30.", "x" * 5000])
async def test_malformed_form_tokens_are_refused(services, sandbox, token):
    pending = PendingLinks()
    await offer_for(services, sandbox, pending)
    with pytest.raises(LinkRejected, match="isn't valid"):
        confirm_link(services, pending, token)
    assert len(pending) == 1


async def test_a_token_signed_with_another_key_is_refused(services, sandbox):
    pending = PendingLinks()
    offer = await offer_for(services, sandbox, pending)
    services.secret_key = b"another installation's key"
    with pytest.raises(LinkRejected, match="isn't valid"):
        confirm_link(services, pending, offer.form_token)


async def test_an_account_another_user_has_is_refused_and_theirs_untouched(services, sandbox):
    await connect_personal(services, TEAM, OTHER, SECOND_AGENT_TOKEN)  # Blake, for U2
    before = stored(services, OTHER)
    pending = PendingLinks()
    offer = await offer_for(services, sandbox, pending)
    with pytest.raises(AlreadyLinked):
        confirm_link(services, pending, offer.form_token)
    assert stored(services) is None and stored(services, OTHER) == before
    assert len(pending) == 0  # the refused sign-in's tokens are gone too


async def test_relinking_your_own_account_or_another_one_is_allowed(services, sandbox):
    await connect_personal(services, TEAM, OTHER, SECOND_AGENT_TOKEN)
    pending = PendingLinks()
    mine = await offer_for(services, sandbox, pending, user=OTHER)
    confirm_link(services, pending, mine.form_token)
    assert stored(services, OTHER).kind == "oauth"
    other = await offer_for(services, sandbox, pending, account_id=DEMO_ACCOUNT_ID)
    confirm_link(services, pending, other.form_token)
    assert stored(services).spark_user_id == DEMO_ACCOUNT_ID


NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def parked(minutes: float = 10) -> PendingLink:
    return PendingLink(
        TEAM,
        USER,
        Account("A1", "Avery Agent"),
        TokenSet("secret-access", "secret-refresh", None),
        NOW + dt.timedelta(minutes=minutes),
    )


def test_pending_links_are_bounded_oldest_first_and_expired_first():
    links = PendingLinks(limit=3)
    stale = links.add(parked(minutes=1), NOW)
    first = links.add(parked(), NOW)
    links.add(parked(), NOW)
    later = NOW + dt.timedelta(minutes=2)
    links.add(parked(), later)  # the expired one makes room
    assert links.pop(stale, later) is None and len(links) == 3
    links.add(parked(), later)  # full: the oldest live one goes
    assert links.pop(first, later) is None and len(links) == 3


def test_a_pending_link_never_shows_its_tokens():
    assert "secret" not in repr(parked()) and "secret" not in str(parked())
