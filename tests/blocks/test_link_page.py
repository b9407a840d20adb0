"""The "Link this Flexmls account?" page and the DM sent once an account is linked."""

from __future__ import annotations

import dataclasses

import pytest

from blocks import LinkConfirmation, link_confirm_page, linked_dm
from blocks.text import clean
from tests.helpers.blocks import HOSTILE_NAMES, assert_no_formatting_from, assert_valid_message
from tests.helpers.pages import ALLOWED_TAGS, Parsed

PAGE = LinkConfirmation(
    flexmls_name="Blake Broker",
    slack_user_id="U0ASKER",
    slack_username="ada",
    workspace="Front Range Realty",
    form_token="eyJhIjoxfQ.c2lnbmF0dXJl",
    form_action="/spark/oauth/callback",
)


def test_the_page_names_the_account_the_slack_user_and_the_workspace() -> None:
    page = Parsed(link_confirm_page(PAGE))
    assert page.dd == ["Blake Broker", "@ada (U0ASKER)", "Front Range Realty"]


def test_link_and_cancel_post_the_form_token_back_to_the_callback() -> None:
    page = Parsed(link_confirm_page(PAGE))
    assert page.all("form") == [{"method": "post", "action": "/spark/oauth/callback"}] * 2
    hidden = {"type": "hidden", "name": "form_token", "value": PAGE.form_token}
    assert page.all("input") == [hidden, hidden]
    values = [(b["name"], b["value"]) for b in page.all("button")]
    assert values == [("action", "Link"), ("action", "Cancel")]


def test_the_page_loads_nothing_runs_nothing_and_only_posts_to_itself() -> None:
    source = link_confirm_page(PAGE)
    page = Parsed(source)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    for _, attrs in page.tags:
        assert not {"src", "href"} & attrs.keys()
        assert not any(name.startswith("on") for name in attrs)
    assert "<script" not in source.lower() and "url(" not in source
    csp = next(m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp["content"] and "form-action 'self'" in csp["content"]


@pytest.mark.parametrize(
    ("username", "shown"), [("@ada", "@ada (U0ASKER)"), ("", "U0ASKER"), (None, "U0ASKER")]
)
def test_the_slack_user_falls_back_to_the_user_id(username, shown) -> None:
    page = dataclasses.replace(PAGE, slack_username=username)
    assert Parsed(link_confirm_page(page)).dd[1] == shown


HOSTILE_HTML = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                "</dd></dl><form action=//evil>", "' autofocus onfocus='alert(1)")  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE_NAMES + HOSTILE_HTML)
def test_hostile_names_and_tokens_are_shown_as_text(text: str) -> None:
    hostile = LinkConfirmation(
        flexmls_name=text,
        slack_user_id="U1",
        slack_username=text,
        workspace=text,
        form_token=text,
        form_action=text,
        flexmls_email=f"{text}@{text}",
        slack_email=text,
    )
    source = link_confirm_page(hostile)
    page = Parsed(source)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert len(page.all("form")) == 2 and len(page.all("input")) == 2
    assert all(i["value"] == text for i in page.all("input"))
    assert "<script" not in source.lower() and "<img" not in source
    if len(clean(text)) <= 120:
        assert page.dd[0] == clean(text)


def test_linked_dm_says_which_account_and_what_to_do_if_it_was_not_you() -> None:
    message = linked_dm("Blake Broker")
    assert_valid_message(message)
    assert message.text == (
        "Your Slack account was linked to Flexmls account Blake Broker. "
        "If this wasn't you, run /activity disconnect."
    )
    assert "`/activity disconnect`" in message.blocks[0]["text"]["text"]


@pytest.mark.parametrize("name", (*HOSTILE_NAMES, "", "  "))
def test_linked_dm_with_a_hostile_or_empty_name(name: str) -> None:
    message = linked_dm(name)
    assert_valid_message(message)
    assert_no_formatting_from(name, message)
    assert "If this wasn't you" in message.text
