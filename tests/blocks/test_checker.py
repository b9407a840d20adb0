"""The shared checker catches what it claims to catch (so the other tests can fail)."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks import Message
from tests.helpers.blocks import assert_no_formatting_from, assert_valid_message


def section(text: str, block_id: str = "s") -> dict:
    return SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text)).to_dict()


def test_a_clean_message_passes() -> None:
    assert_valid_message(Message("hi", (section("hello <@U0123ABC>"),)))


@pytest.mark.parametrize(
    "message",
    [
        Message("hi", (section("<!channel> look"),)),
        Message("hi", (section("hello <@U123|x>"),)),
        Message("hi", (section("<http://evil|x>"),)),
        Message("<!here>", (section("fine"),)),
        Message("hi", (section("a", "same"), section("b", "same"))),
        Message(
            "hi",
            (
                ActionsBlock(
                    block_id="a",
                    elements=[ButtonElement(text="x" * 31, action_id="a", value="v")],
                ).to_dict(),
            ),
        ),
        Message(
            "hi",
            (
                ActionsBlock(
                    block_id="a",
                    elements=[
                        ButtonElement(text="x", action_id="a", value="v"),
                        ButtonElement(text="y", action_id="a", value="v"),
                    ],
                ).to_dict(),
            ),
        ),
        Message(
            "hi",
            (
                {
                    "type": "section",
                    "block_id": "f",
                    "fields": [{"type": "mrkdwn", "text": "x" * 2001}],
                },
            ),
        ),
        Message("hi", ({"type": "mystery", "block_id": "m"},)),
        Message("hi", (HeaderBlock(block_id="h", text="x").to_dict() | {"extra": 1},)),
    ],
)
def test_bad_messages_fail(message: Message) -> None:
    with pytest.raises(AssertionError):
        assert_valid_message(message)


def test_block_limit_is_checked() -> None:
    message = Message("hi", tuple(section("x", f"b{i}") for i in range(50)))
    assert_valid_message(message)
    with pytest.raises(AssertionError):
        assert_valid_message(message, max_blocks=49)


def test_unneutralised_formatting_is_caught() -> None:
    with pytest.raises(AssertionError):
        assert_no_formatting_from("*bold*", Message("hi", (section("*bold*"),)))


def test_message_refuses_empty_text_and_too_many_blocks() -> None:
    with pytest.raises(ValueError):
        Message(" ", ())
    with pytest.raises(ValueError):
        Message("x" * 3001, ())
    with pytest.raises(ValueError):
        Message("hi", tuple(section("x", f"b{i}") for i in range(51)))


def test_as_kwargs_returns_copies() -> None:
    message = Message("hi", (section("x"),))
    kwargs = message.as_kwargs()
    assert kwargs == {"text": "hi", "blocks": [section("x")]}
    kwargs["blocks"][0]["text"]["text"] = "changed"
    assert message.blocks[0]["text"]["text"] == "x"
