"""Token resolution and OAuth refresh: before expiry, on 1020, shared, and when revoked."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from activity.auth import ConnectionBroken, NotConnected
from devtools.sandbox import DEMO_ACCOUNT_ID, DEMO_TOKEN, SECOND_ACCOUNT_ID, SECOND_AGENT_TOKEN
from spark import RefreshFailed
from spark.oauth import TokenSet
from storage import Connection, get_connection, save_connection

TEAM, USER = "T1", "U1"


def connect(services, tokens: dict, *, kind: str = "oauth") -> None:
    now = services.clock()
    save_connection(
        services.db,
        services.cipher,
        Connection(
            team_id=TEAM,
            user_id=USER,
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token"),
            expires_at=now + dt.timedelta(seconds=tokens.get("expires_in", 86400))
            if kind == "oauth"
            else None,
            spark_user_id=DEMO_ACCOUNT_ID,
            spark_user_name="Avery Agent",
            kind=kind,
            status="ok",
            connected_at=now,
            updated_at=now,
        ),
    )


def grants(sandbox) -> int:
    return sum(r.path == "/openid/token" for r in sandbox.requests)


@pytest.mark.parametrize("env", [{"SPARK_ACCESS_TOKEN": DEMO_TOKEN}])
async def test_the_workspace_token_is_used_when_the_user_has_none(services):
    credential = await services.keeper.credential(TEAM, USER)
    assert credential.token == DEMO_TOKEN and credential.workspace


@pytest.mark.parametrize(
    "env", [{"SPARK_ACCESS_TOKEN": DEMO_TOKEN, "WORKSPACE_TOKEN_FOR_ALL": "false"}]
)
async def test_the_workspace_token_is_not_used_when_the_operator_says_no(services):
    with pytest.raises(NotConnected):
        await services.keeper.credential(TEAM, USER)


async def test_no_token_at_all_is_not_connected(services):
    with pytest.raises(NotConnected):
        await services.keeper.credential(TEAM, USER)


@pytest.mark.parametrize("env", [{"SPARK_ACCESS_TOKEN": DEMO_TOKEN}])
async def test_the_users_own_token_wins_over_the_workspace_token(services, sandbox):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect(services, tokens)
    credential = await services.keeper.credential(TEAM, USER)
    assert credential.token == tokens["access_token"] and not credential.workspace


async def test_a_token_about_to_expire_is_refreshed_first(services, sandbox, clock):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect(services, tokens)
    clock.advance(seconds=tokens["expires_in"] - 60)
    credential = await services.keeper.credential(TEAM, USER)
    assert credential.token != tokens["access_token"]
    assert (await services.spark.my_account(credential.token)).id == DEMO_ACCOUNT_ID
    assert get_connection(services.db, services.cipher, TEAM, USER).access_token == credential.token


async def test_concurrent_requests_share_one_refresh(services, sandbox, clock):
    connect(services, sandbox.state.issue_tokens(DEMO_ACCOUNT_ID))
    clock.advance(days=2)
    results = await asyncio.gather(*(services.keeper.credential(TEAM, USER) for _ in range(8)))
    assert len({c.token for c in results}) == 1
    assert grants(sandbox) == 1


async def test_spark_saying_expired_triggers_a_refresh_and_a_replay(services, sandbox):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect(services, tokens)
    credential = await services.keeper.credential(TEAM, USER)
    sandbox.add_fault(kind="expire_token", token=credential.token)
    account = await services.spark.my_account(credential.token)
    assert account.id == DEMO_ACCOUNT_ID
    assert (
        get_connection(services.db, services.cipher, TEAM, USER).access_token
        != tokens["access_token"]
    )


async def test_requests_that_all_hit_an_expired_token_share_one_refresh(services, sandbox):
    """The keeper is the one place that de-duplicates refreshes (the Spark client asks it for
    each request that got 1020)."""
    connect(services, sandbox.state.issue_tokens(DEMO_ACCOUNT_ID))
    credential = await services.keeper.credential(TEAM, USER)
    sandbox.add_fault(kind="expire_token", token=credential.token)
    accounts = await asyncio.gather(
        *(services.spark.my_account(credential.token) for _ in range(5))
    )
    assert {account.id for account in accounts} == {DEMO_ACCOUNT_ID}
    assert grants(sandbox) == 1


async def test_a_rejected_refresh_marks_the_connection_broken(services, sandbox, clock):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect(services, tokens)
    await services.oauth.refresh(tokens["refresh_token"])  # rotated elsewhere: ours is now dead
    clock.advance(days=2)
    with pytest.raises(RefreshFailed):
        await services.keeper.credential(TEAM, USER)
    assert get_connection(services.db, services.cipher, TEAM, USER).status == "broken"
    with pytest.raises(ConnectionBroken):
        await services.keeper.credential(TEAM, USER)


async def test_an_expired_personal_token_cannot_be_renewed(services, sandbox):
    connect(services, {"access_token": DEMO_TOKEN}, kind="personal")
    credential = await services.keeper.credential(TEAM, USER)
    with pytest.raises(RefreshFailed):
        await services.keeper.on_expired(credential.token)
    assert get_connection(services.db, services.cipher, TEAM, USER).status == "broken"


async def test_an_unknown_token_is_not_refreshed(services):
    with pytest.raises(RefreshFailed):
        await services.keeper.on_expired("never-seen-before-token")


async def test_the_background_pass_refreshes_idle_connections(services, sandbox, clock):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect(services, tokens)
    assert await services.keeper.refresh_expiring() == 0  # not due yet
    clock.advance(seconds=tokens["expires_in"] - 300)
    assert await services.keeper.refresh_expiring() == 1
    stored = get_connection(services.db, services.cipher, TEAM, USER)
    assert stored.access_token != tokens["access_token"]
    assert stored.expires_at > clock()


def test_token_sets_hide_tokens():
    assert "secret" not in repr(TokenSet("secret-a", "secret-r", None))


def connect_as(services, user: str, token: str, **fields) -> None:
    now = services.clock()
    save_connection(services.db, services.cipher, Connection(
        team_id=TEAM, user_id=user, access_token=token, refresh_token=fields.get("refresh_token"),
        expires_at=fields.get("expires_at"), spark_user_id=fields.get("account", SECOND_ACCOUNT_ID),
        spark_user_name="Blake Broker", kind=fields.get("kind", "personal"), status="ok",
        connected_at=now, updated_at=now,
    ))  # fmt: skip


async def test_a_token_two_people_used_is_never_renewed_with_either_ones_connection(
    services, sandbox
):
    """Alice and Bob used the same token; Bob then connected his own account. A 1020 on the old
    token must not be answered with Bob's (or Alice's) current token."""
    shared = sandbox.state.issue_tokens(SECOND_ACCOUNT_ID)["access_token"]
    connect_as(services, "U0ALICE", shared)
    connect_as(services, "U0BOB", shared)
    alice = await services.keeper.credential(TEAM, "U0ALICE")
    await services.keeper.credential(TEAM, "U0BOB")
    bobs = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect_as(services, "U0BOB", bobs["access_token"], kind="oauth", account=DEMO_ACCOUNT_ID,
               refresh_token=bobs["refresh_token"], expires_at=services.clock() + dt.timedelta(days=1))  # fmt: skip
    sandbox.state.expire_token(shared)
    with pytest.raises(RefreshFailed):
        await services.spark.my_account(alice.token)
    assert grants(sandbox) == 0


@pytest.mark.parametrize("env", [{"SPARK_ACCESS_TOKEN": SECOND_AGENT_TOKEN}])
async def test_the_workspace_token_is_never_renewed_through_a_members_connection(services, sandbox):
    """An admin pasted the workspace token as their own connection; when it expires, members
    reading with it must not be switched to the admin's connection, nor break it."""
    connect_as(services, "U0ADMIN", SECOND_AGENT_TOKEN)
    await services.keeper.credential(TEAM, "U0ADMIN")
    with pytest.raises(RefreshFailed):
        await services.keeper.on_expired(SECOND_AGENT_TOKEN)
    assert get_connection(services.db, services.cipher, TEAM, "U0ADMIN").status == "ok"


async def test_a_refresh_whose_caller_gives_up_still_saves_the_rotated_tokens(services, sandbox):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    connect(services, tokens)
    credential = await services.keeper.credential(TEAM, USER)
    sandbox.state.expire_token(credential.token)
    real, rotated = services.keeper.oauth.refresh, asyncio.Event()

    async def answer_still_on_the_wire(refresh_token):
        result = await real(refresh_token)  # Flexmls has rotated the refresh token…
        rotated.set()
        await asyncio.sleep(0.2)  # …and its answer is still on its way to us
        return result

    services.keeper.oauth.refresh = answer_still_on_the_wire
    request = asyncio.create_task(services.spark.my_account(credential.token))
    await rotated.wait()
    request.cancel()  # a shutdown or a deadline
    with pytest.raises(asyncio.CancelledError):
        await request
    for _ in range(50):
        stored = get_connection(services.db, services.cipher, TEAM, USER)
        if stored.refresh_token != tokens["refresh_token"]:
            break
        await asyncio.sleep(0.02)
    assert stored.refresh_token != tokens["refresh_token"]
    assert stored.status == "ok"
