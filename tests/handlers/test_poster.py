"""`SlackPoster`: what Slack's answers mean for a digest (spec'd mocks, no network)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from unittest.mock import create_autospec

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from activity.digests import PostFailed, Refusal
from activity.models import Digest
from handlers.poster import SlackPoster, describe_channel, describe_target, skipped_day_dm
from storage import Subscription

TEAM, USER, CHANNEL = "T1", "U0AGENT1", "C0SALES"
SUBSCRIPTION = Subscription(
    id=7,
    team_id=TEAM,
    user_id=USER,
    channel_id=CHANNEL,
    local_time="08:00",
    timezone="America/Denver",
    scope="recent",
    created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
)
DIGEST = Digest(
    subscription_id=7,
    subscriber_id=USER,
    channel_id=CHANNEL,
    local_date=dt.date(2026, 3, 10),
    scope="recent",
    entries=(),
    heating=(),
    cooling=(),
    failed=0,
    late=False,
)
MEMBER = {"id": USER, "team_id": TEAM}
PUBLIC = {"id": CHANNEL, "is_channel": True, "is_member": True}


def slack_error(code: str, status: int = 200) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack/x",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=status,
    )
    return SlackApiError(code, response)


def slack_ok(**data) -> dict:
    return {"ok": True, **data}


def make_poster(*, listing_layout: str = "carousel", digest_channels=frozenset()):
    client = create_autospec(AsyncWebClient, instance=True)
    client.users_info.return_value = slack_ok(user=MEMBER)
    client.conversations_info.return_value = slack_ok(channel=PUBLIC)
    client.conversations_members.return_value = slack_ok(members=[USER])
    client.chat_postMessage.return_value = slack_ok(ts="1700000000.000100")
    settings = SimpleNamespace(listing_layout=listing_layout, digest_channels=digest_channels)
    services = SimpleNamespace(settings=settings, secret_key=b"k" * 32)
    return SlackPoster(client, services), client


async def test_a_posted_digest_returns_its_ts_and_goes_to_the_channel():
    poster, client = make_poster()
    assert await poster.post(CHANNEL, DIGEST) == "1700000000.000100"
    kwargs = client.chat_postMessage.await_args.kwargs
    assert kwargs["channel"] == CHANNEL and kwargs["text"].startswith("Morning digest")


@pytest.mark.parametrize(
    ("error", "code", "permanent"),
    [
        (slack_error("channel_not_found"), "channel_not_found", True),
        (slack_error("not_in_channel"), "not_in_channel", True),
        (slack_error("is_archived"), "is_archived", True),
        (slack_error("restricted_action"), "restricted_action", True),
        (slack_error("ratelimited", 429), "ratelimited", False),
        (slack_error("internal_error", 500), "internal_error", False),
        (aiohttp.ClientConnectionError(), "slack_unreachable", False),
        (TimeoutError(), "slack_unreachable", False),
    ],
)
async def test_a_refused_post_says_whether_to_try_again(error, code, permanent):
    poster, client = make_poster()
    client.chat_postMessage.side_effect = error
    with pytest.raises(PostFailed) as failed:
        await poster.post(CHANNEL, DIGEST)
    assert (failed.value.error, failed.value.permanent) == (code, permanent)


async def test_a_member_in_a_fine_channel_may_get_the_digest():
    poster, _ = make_poster()
    assert await poster.refusal(SUBSCRIPTION, workspace_token=True) is None


@pytest.mark.parametrize(
    ("users_info", "workspace_token", "reason"),
    [
        (slack_error("user_not_found"), False, Refusal.SUBSCRIBER_GONE),
        (slack_ok(user={**MEMBER, "deleted": True}), False, Refusal.SUBSCRIBER_GONE),
        (slack_ok(user={**MEMBER, "team_id": "T2"}), False, Refusal.SUBSCRIBER_OUTSIDE),
        (slack_ok(user={**MEMBER, "is_restricted": True}), True, Refusal.GUEST),
        (slack_error("missing_scope"), False, Refusal.UNCHECKED),  # fails closed
    ],
)
async def test_who_is_checked_before_where(users_info, workspace_token, reason):
    poster, client = make_poster()
    client.users_info.side_effect = [users_info]
    assert await poster.refusal(SUBSCRIPTION, workspace_token=workspace_token) == reason
    client.conversations_info.assert_not_awaited()


@pytest.mark.parametrize(
    ("channel", "settings", "reason"),
    [
        ({**PUBLIC, "is_archived": True}, {}, Refusal.ARCHIVED),
        ({**PUBLIC, "is_private": True, "is_member": False}, {}, Refusal.INVITE_FIRST),
        ({**PUBLIC, "is_ext_shared": True}, {}, Refusal.SLACK_CONNECT),
        ({**PUBLIC, "is_im": True}, {}, Refusal.NOT_A_CHANNEL),
        (PUBLIC, {"digest_channels": frozenset({"C0OTHER"})}, Refusal.NOT_LISTED),
    ],
)
async def test_the_channel_is_checked_with_the_rules_of_digest_add(channel, settings, reason):
    poster, client = make_poster(**settings)
    client.conversations_info.return_value = slack_ok(channel=channel)
    assert await poster.refusal(SUBSCRIPTION, workspace_token=False) == reason


@pytest.mark.parametrize(
    "error",
    [slack_error("ratelimited", 429), slack_error("fatal_error", 200), aiohttp.ClientError()],
)
async def test_when_slack_cant_answer_now_a_later_pass_asks_again(error):
    poster, client = make_poster()
    client.conversations_info.side_effect = error
    with pytest.raises(PostFailed) as failed:
        await poster.refusal(SUBSCRIPTION, workspace_token=False)
    assert not failed.value.permanent


async def test_a_member_not_found_in_the_channel_is_refused_after_every_page():
    _, client = make_poster()
    client.conversations_members.side_effect = [
        slack_ok(members=["U2"], response_metadata={"next_cursor": "next"}),
        slack_ok(members=["U3"], response_metadata={"next_cursor": ""}),
    ]
    target = await describe_channel(client, CHANNEL, USER)
    assert target is not None and not target.user_is_member
    assert client.conversations_members.await_count == 2
    assert client.conversations_members.await_args.kwargs["cursor"] == "next"


async def test_a_channel_the_bot_cant_see_is_none_and_a_dm_is_not_asked_about():
    _, client = make_poster()
    client.conversations_info.side_effect = slack_error("channel_not_found")
    assert await describe_channel(client, CHANNEL, USER) is None
    assert await describe_channel(client, "D0AGENT1", USER) is None
    assert client.conversations_info.await_count == 1


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        (Refusal.RECONNECT, "Reconnect with /activity connect"),
        (Refusal.ROLE, "Private role"),
        (Refusal.ARCHIVED, "the channel was archived"),
        (Refusal.GUEST, "guest account"),
        (Refusal.UNCHECKED, "Slack didn't let me check"),
        ("channel_not_found", "Slack refused the post"),
    ],
)
def test_the_subscriber_is_told_why_in_words(reason, says):
    assert says in skipped_day_dm(SUBSCRIPTION, reason).text


async def test_a_dm_slack_refuses_is_logged_not_raised(caplog):
    poster, client = make_poster()
    client.chat_postMessage.side_effect = slack_error("cannot_dm_bot")
    await poster.tell_subscriber(SUBSCRIPTION, Refusal.RECONNECT)
    assert client.chat_postMessage.await_args.kwargs["channel"] == USER
    assert "cannot_dm_bot" in caplog.text


# -- a private digest in the subscriber's own DM -----------------------------------------------

DM = "D0AGENT1"
DM_SUBSCRIPTION = dataclasses.replace(SUBSCRIPTION, channel_id=DM)


def with_dm(client, opened: str = DM) -> None:
    """`conversations.open` (users=<subscriber>) names `opened` as their DM with the bot."""
    client.conversations_open.return_value = slack_ok(channel={"id": opened})


async def test_a_private_digest_may_go_to_the_subscribers_own_dm():
    poster, client = make_poster()
    with_dm(client)
    assert await poster.refusal(DM_SUBSCRIPTION, workspace_token=True) is None
    assert client.conversations_open.await_args.kwargs == {"users": USER}
    client.conversations_info.assert_not_awaited()  # no im:read needed


async def test_a_dm_that_is_not_the_subscribers_own_is_refused_before_any_reading():
    """The stored DM isn't the one Slack opens for the subscriber (someone else's, or tampered
    with in the database): refused, never posted to."""
    poster, client = make_poster()
    with_dm(client, opened="D0SOMEONE")
    assert await poster.refusal(DM_SUBSCRIPTION, workspace_token=True) == Refusal.NOT_YOUR_DM
    assert "your DM with Activity" in skipped_day_dm(DM_SUBSCRIPTION, Refusal.NOT_YOUR_DM).text


async def test_describe_target_names_a_dm_only_as_its_owners():
    _, client = make_poster()
    with_dm(client)
    target = await describe_target(client, DM, USER)
    assert target is not None and target.dm_of == USER and not target.is_channel
    with_dm(client, opened="D0U0OTHER")
    assert await describe_target(client, DM, USER) is None
    assert await describe_target(client, CHANNEL, USER) is not None  # a channel: as before


async def test_when_slack_cant_open_the_dm_now_a_later_pass_asks_again():
    poster, client = make_poster()
    client.conversations_open.side_effect = slack_error("ratelimited", 429)
    with pytest.raises(PostFailed) as failed:
        await poster.refusal(DM_SUBSCRIPTION, workspace_token=True)
    assert failed.value.permanent is False


async def test_a_private_digest_is_posted_as_who_to_call_today():
    poster, client = make_poster()
    await poster.post(DM, dataclasses.replace(DIGEST, channel_id=DM))
    kwargs = client.chat_postMessage.await_args.kwargs
    assert kwargs["channel"] == DM and kwargs["text"].startswith("Who to call today")
