"""Declared channels: `conversations.info` and `conversations.members` answer as Slack does."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_standin import SlackStandin, SlackStandinThread
from tests.helpers.standin import api_error


async def test_without_declarations_every_channel_has_the_bot_and_the_default_user(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    info = (await client.conversations_info(channel="C0ANYTHING"))["channel"]
    assert info["is_member"] is True and info["is_private"] is False
    assert info["is_ext_shared"] is False and info["is_shared"] is False
    members = await client.conversations_members(channel="C0ANYTHING")
    assert members["members"] == ["U0BOT", "U0AGENT1"]
    assert members["response_metadata"]["next_cursor"] == ""
    standin.set_user("U0ADMIN", is_admin=True)  # a declared user is in every channel too
    assert "U0ADMIN" in (await client.conversations_members(channel="C0ANYTHING"))["members"]
    dm = await client.conversations_members(channel="D0AGENT1")
    assert sorted(dm["members"]) == ["U0AGENT1", "U0BOT"]


async def test_once_declared_only_declared_channels_exist(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.set_channel("C0SALES", name="sales", members=["U0AGENT1"])
    info = (await client.conversations_info(channel="C0SALES"))["channel"]
    assert (info["name"], info["is_channel"], info["is_member"]) == ("sales", True, True)
    for call in (
        client.conversations_info(channel="C0GENERAL"),
        client.conversations_members(channel="C0GENERAL"),
    ):
        assert await api_error(call) == "channel_not_found"
    dm = (await client.conversations_info(channel="D0AGENT1"))["channel"]  # DMs always exist
    assert dm["is_im"] is True


async def test_a_private_channel_the_bot_is_not_in_is_not_found(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.set_channel("C0SECRET", private=True, bot_member=False, members=["U0AGENT1"])
    standin.set_channel("C0CLOSED", private=True, members=["U0AGENT1"])
    standin.set_channel("C0OPEN", bot_member=False, members=["U0AGENT1"])
    for call in (
        client.conversations_info(channel="C0SECRET"),
        client.conversations_members(channel="C0SECRET"),
    ):
        assert await api_error(call) == "channel_not_found"
    closed = (await client.conversations_info(channel="C0CLOSED"))["channel"]
    assert closed["is_private"] is True and closed["is_member"] is True
    assert (await client.conversations_members(channel="C0CLOSED"))["members"] == [
        "U0BOT",
        "U0AGENT1",
    ]
    public = (await client.conversations_info(channel="C0OPEN"))["channel"]
    assert public["is_member"] is False  # a public channel is visible to the bot anyway
    assert (await client.conversations_members(channel="C0OPEN"))["members"] == ["U0AGENT1"]


async def test_sharing_flags(standin: SlackStandin, client: AsyncWebClient) -> None:
    standin.set_channel("C0EXT", ext_shared=True)
    standin.set_channel("C0ORG", org_shared=True)
    standin.set_channel("C0OLD", archived=True, topic={"value": "old"})
    ext = (await client.conversations_info(channel="C0EXT"))["channel"]
    assert ext["is_ext_shared"] is True and ext["is_shared"] is True
    org = (await client.conversations_info(channel="C0ORG"))["channel"]
    assert org["is_org_shared"] is True and org["is_ext_shared"] is False
    old = (await client.conversations_info(channel="C0OLD"))["channel"]
    assert old["is_archived"] is True and old["topic"] == {"value": "old"}


async def test_members_page_with_a_cursor(standin: SlackStandin, client: AsyncWebClient) -> None:
    people = [f"U0P{n:04d}" for n in range(250)]
    standin.set_channel("C0BIG", members=people)
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await client.conversations_members(channel="C0BIG", limit=100, cursor=cursor)
        seen += page["members"]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and seen == ["U0BOT", *people]
    assert len((await client.conversations_members(channel="C0BIG"))["members"]) == 100


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "bWVtYmVyczo5OTk5"}, "invalid_cursor"),  # "members:9999": past the end
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 1001}, "invalid_limit"),
        ({"limit": "many"}, "invalid_limit"),
    ],
)
async def test_bad_member_paging_arguments(
    standin: SlackStandin, client: AsyncWebClient, arguments: dict, error: str
) -> None:
    standin.set_channel("C0SALES", members=["U0AGENT1"])
    assert await api_error(client.conversations_members(channel="C0SALES", **arguments)) == error


async def test_only_channel_ids_can_be_declared(standin: SlackStandin) -> None:
    for bad in ("D0AGENT1", "U0AGENT1", "C"):
        with pytest.raises(ValueError):
            standin.set_channel(bad)


def test_the_threaded_stand_in_declares_channels_too() -> None:
    with SlackStandinThread() as thread:
        channel = thread.set_channel("C0SALES", private=True)
        assert channel.private and channel.visible
