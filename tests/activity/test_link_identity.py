"""Who a Flexmls account may be linked to: e-mail comparison, the Slack user re-check at "Link",
whom to warn afterwards, and "already linked to another member" on the paste-token path too."""

from __future__ import annotations

import pytest

from activity.connections import (
    ALREADY_LINKED,
    LinkRejected,
    PendingLinks,
    SlackAccount,
    SlackUserRefused,
    TokenRejected,
    begin_oauth,
    check_link_user,
    confirm_link,
    connect_personal,
    link_owner,
    matching_email,
    members_to_warn,
    new_state,
)
from devtools.sandbox import DEMO_TOKEN, SECOND_ACCOUNT_ID, SECOND_AGENT_TOKEN
from storage import get_connection

TEAM, USER, OTHER = "T1", "U1", "U2"
BLAKE = ("blake.broker@example.com", "blake@home.example")


@pytest.mark.parametrize(
    ("slack", "expected"),
    [
        ("blake.broker@example.com", "blake.broker@example.com"),
        ("Blake.Broker@EXAMPLE.com", "blake.broker@example.com"),
        ("  blake@home.example ", "blake@home.example"),  # any of the Flexmls addresses
        ("val@example.com", None),
        ("blake.broker", None),
        ("", None),
        (None, None),
    ],
)
def test_emails_match_whole_and_case_insensitively(slack: str | None, expected) -> None:
    assert matching_email(slack, BLAKE) == expected


def test_nothing_matches_an_account_without_emails() -> None:
    assert matching_email("blake.broker@example.com", ()) is None
    for not_an_address in ("x", "@", "x@", "@x"):
        assert matching_email(not_an_address, (not_an_address,)) is None


MEMBER = SlackAccount("U1", TEAM, "ada")


@pytest.mark.parametrize(
    "user",
    [
        None,  # users.info: user_not_found
        SlackAccount("U1", TEAM, "ada", deleted=True),
        SlackAccount("U1", TEAM, "ada", stranger=True),
        SlackAccount("U1", "T0OTHER", "ada"),
        SlackAccount("U1", "", "ada"),  # Slack didn't say which team: not this one
    ],
)
def test_only_a_live_member_of_the_links_team_can_be_linked(user) -> None:
    with pytest.raises(SlackUserRefused):
        check_link_user(user, TEAM)
    check_link_user(MEMBER, TEAM)


def test_the_members_to_warn_are_other_live_members_each_once() -> None:
    owners = [
        SlackAccount("U1", TEAM),  # the linked user themself
        SlackAccount("U2", TEAM),
        SlackAccount("U2", TEAM),  # two Flexmls e-mails, one Slack member
        SlackAccount("U3", "T0OTHER"),
        SlackAccount("U4", TEAM, deleted=True),
        SlackAccount("U5", TEAM, stranger=True),
        SlackAccount("B6", TEAM, bot=True),
        SlackAccount("U7", TEAM),
    ]
    assert members_to_warn(owners, TEAM, "U1") == ["U2", "U7"]
    assert members_to_warn([], TEAM, "U1") == []


async def test_link_owner_reads_a_live_token_without_using_it(services, sandbox):
    pending = PendingLinks()
    code = sandbox.state.issue_code(SECOND_ACCOUNT_ID, "http://127.0.0.1/cb")
    offer = await begin_oauth(services, pending, new_state(services, TEAM, USER), code)
    assert link_owner(services, pending, offer.form_token) == (TEAM, USER)
    assert len(pending) == 1
    confirm_link(services, pending, offer.form_token)
    with pytest.raises(LinkRejected, match="already used"):
        link_owner(services, pending, offer.form_token)
    with pytest.raises(LinkRejected, match="isn't valid"):
        link_owner(services, pending, "junk")


async def test_a_pasted_token_for_an_account_another_member_has_is_refused(services):
    await connect_personal(services, TEAM, OTHER, SECOND_AGENT_TOKEN)
    before = get_connection(services.db, services.cipher, TEAM, OTHER)
    with pytest.raises(TokenRejected) as refusal:
        await connect_personal(services, TEAM, USER, SECOND_AGENT_TOKEN)
    assert str(refusal.value) == ALREADY_LINKED
    assert get_connection(services.db, services.cipher, TEAM, USER) is None
    assert get_connection(services.db, services.cipher, TEAM, OTHER) == before


async def test_pasting_your_own_account_again_or_in_another_team_is_fine(services):
    await connect_personal(services, TEAM, OTHER, SECOND_AGENT_TOKEN)
    await connect_personal(services, TEAM, OTHER, SECOND_AGENT_TOKEN)  # the same member again
    await connect_personal(services, "T2", USER, SECOND_AGENT_TOKEN)  # another workspace
    await connect_personal(services, TEAM, USER, DEMO_TOKEN)  # another Flexmls account
    assert get_connection(services.db, services.cipher, TEAM, USER).kind == "personal"
