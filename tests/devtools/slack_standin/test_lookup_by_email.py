"""`users.info` e-mails and `users.lookupByEmail` in the stand-in (the link page's e-mail checks)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_standin import SlackStandin


async def test_users_info_returns_the_email_a_test_sets(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.set_user("U0VAL", name="val", profile={"email": "val@example.com"})
    user = (await client.users_info(user="U0VAL"))["user"]
    assert user["profile"]["email"] == "val@example.com"
    assert user["profile"]["display_name"] == "val"  # the other profile defaults stay


async def test_lookup_by_email_finds_the_user_in_any_case(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.set_user("U0ADA", name="ada", profile={"email": "ada@example.com"})
    standin.set_user("U0VAL", name="val", profile={"email": "Val@Example.com"})
    user = (await client.users_lookupByEmail(email="val@EXAMPLE.com"))["user"]
    assert (user["id"], user["name"], user["team_id"]) == ("U0VAL", "val", standin.team_id)
    assert standin.calls("users.lookupByEmail")[0].body == {"email": "val@EXAMPLE.com"}


@pytest.mark.parametrize("declare", [False, True])
async def test_lookup_by_email_answers_users_not_found(
    standin: SlackStandin, client: AsyncWebClient, declare: bool
) -> None:
    if declare:
        standin.set_user("U0ADA", name="ada")  # no e-mail
    with pytest.raises(SlackApiError) as caught:
        await client.users_lookupByEmail(email="nobody@example.com")
    assert caught.value.response["error"] == "users_not_found"
