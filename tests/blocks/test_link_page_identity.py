"""The link page names the Slack user by what can't be copied, masks e-mails, and warns."""

from __future__ import annotations

import dataclasses
import html

import pytest

from blocks import link_confirm_page
from blocks.connection import linked_elsewhere_dm
from blocks.pages import SAME_EMAIL_LINE, LinkConfirmation, mask_email
from tests.helpers.blocks import HOSTILE_NAMES, assert_no_formatting_from, assert_valid_message
from tests.helpers.pages import ALLOWED_TAGS, Parsed

PAGE = LinkConfirmation(
    flexmls_name="Blake Broker",
    flexmls_email="blake.broker@example.com",
    slack_user_id="U0ASKER",
    slack_username="ada",
    slack_email="ada@brokerage.com",
    workspace="Front Range Realty",
    form_token="eyJhIjoxfQ.c2lnbmF0dXJl",
    form_action="/spark/oauth/callback",
)
WARNING = "Press Link only if you asked for this link yourself, in Slack, signed in as @ada."


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("ada@brokerage.com", "a•••@brokerage.com"),
        ("  Val.Victim@Example.COM ", "V•••@Example.COM"),
        ("x@y.co", "x•••@y.co"),
        ("we@ird@host.example", "w•••@host.example"),  # the domain is what follows the last @
    ],
)
def test_an_email_is_masked_to_its_first_letter_and_domain(address: str, masked: str) -> None:
    assert mask_email(address) == masked


@pytest.mark.parametrize("address", [None, "", "   ", "ada", "@brokerage.com", "ada@", "a b@c.d"])
def test_what_is_not_an_email_is_not_shown(address: str | None) -> None:
    assert mask_email(address) is None


def text_of(page: LinkConfirmation) -> str:
    return html.unescape(link_confirm_page(page))


def test_the_page_lists_both_masked_emails_and_never_a_whole_one() -> None:
    parsed = Parsed(link_confirm_page(PAGE))
    assert parsed.dd == [
        "Blake Broker",
        "b•••@example.com",
        "@ada (U0ASKER)",
        "a•••@brokerage.com",
        "Front Range Realty",
    ]
    source = text_of(PAGE)
    assert "blake.broker@" not in source and "ada@" not in source


def test_different_emails_get_the_warning_above_the_buttons() -> None:
    source = text_of(PAGE)
    assert WARNING in source
    assert "Whoever asked for it will be able to read this Flexmls account's contacts." in source
    assert source.index(WARNING) < source.index('value="Link"')
    assert SAME_EMAIL_LINE not in source


def test_the_same_email_gets_the_check_line_and_no_warning() -> None:
    source = text_of(dataclasses.replace(PAGE, same_email=True))
    assert SAME_EMAIL_LINE in source and "Press Link only if" not in source


@pytest.mark.parametrize(
    ("slack_email", "flexmls_email"),
    [(None, "blake.broker@example.com"), ("ada@b.co", None), (None, None)],
)
def test_emails_that_cannot_be_compared_get_the_warning_and_are_left_out(
    slack_email: str | None, flexmls_email: str | None
) -> None:
    page = dataclasses.replace(PAGE, slack_email=slack_email, flexmls_email=flexmls_email)
    source = text_of(page)
    assert WARNING in source
    assert len(Parsed(link_confirm_page(page)).dd) == 3 + (slack_email is not None) + (
        flexmls_email is not None
    )


def test_without_a_username_the_warning_names_the_user_id() -> None:
    source = text_of(dataclasses.replace(PAGE, slack_username=None))
    assert "signed in as U0ASKER." in source


@pytest.mark.parametrize("text", HOSTILE_NAMES + ("<script>alert(1)</script>",))
def test_hostile_emails_and_usernames_stay_text(text: str) -> None:
    page = dataclasses.replace(
        PAGE, slack_username=text, slack_email=f"{text}@{text}", flexmls_email=f"a@{text}"
    )
    source = link_confirm_page(page)
    assert {tag for tag, _ in Parsed(source).tags} <= ALLOWED_TAGS
    assert "<script" not in source


def test_the_email_owner_dm_names_the_account_and_the_linked_user() -> None:
    message = linked_elsewhere_dm("Blake Broker", "U0ASKER")
    assert_valid_message(message)
    assert message.text == (
        "Your Flexmls account Blake Broker was just linked to Slack user <@U0ASKER> in "
        "Activity bot. If that wasn't you, tell a workspace admin; <@U0ASKER> can remove it "
        "with /activity disconnect."
    )


@pytest.mark.parametrize("name", (*HOSTILE_NAMES, ""))
def test_the_email_owner_dm_with_a_hostile_name_or_user_id(name: str) -> None:
    message = linked_elsewhere_dm(name, name or "U0ASKER")
    assert_valid_message(message)
    if name:
        assert_no_formatting_from(name, message)
    assert "tell a workspace admin" in message.text
