"""Button clicks (`handlers/actions.py`): how a click becomes a `Turn`, what the listener does in
which order, each button's work with good and hostile values, and which work every button the
renderers emit reaches. Spec'd mocks only: no Slack, no Spark, no database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from unittest.mock import ANY, MagicMock, create_autospec

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from sqlite_utils import Database

import handlers.actions as actions
import handlers.home as home_module
from activity import connections
from activity.auth import Credential, TokenKeeper
from activity.connections import Disconnection
from activity.digests import cursor_key, stored_digest
from activity.lookup import contact_card
from activity.models import Access, Candidates, ConnectionStatus
from activity.services import Services
from blocks import (
    CONNECT_OAUTH_RE,
    LISTING_LINK_RE,
    OPEN_FLEXMLS_RE,
    BadActionValue,
    ContactPick,
    DigestCursor,
    ListingsCursor,
    Message,
    card_message,
    connect_prompt,
    contact_picker,
    digest_message,
    digest_page,
    disconnected,
    encode_cursor,
    encode_digest_cursor,
    encode_pick,
    home_view,
    internal_error,
    listings_message,
    recent_message,
    stale_button,
    status_message,
    stranger_refused,
    token_modal,
)
from blocks.actions import MAX_PAGE
from handlers.dispatch import SUBCOMMANDS, show_listings
from handlers.home import publish_home
from handlers.people import ASKER, Asker, People
from handlers.turn import Turn
from spark.budget import Priority
from storage import list_subscriptions
from storage.lookups import RecentLookup
from tests.helpers.blocks import (
    DIGEST_DAY,
    NOW,
    make_card,
    make_contact,
    make_digest,
    make_entry,
    make_subscription,
    make_view,
    view_buttons,
)
from tests.helpers.turn import TEAM, person

USER = "U1"  # `person()`'s user
CHANNEL = "C123"  # where `make_digest` and `make_subscription` post by default
OTHER_CHANNEL = "C0OTHER"
CONTACT = "20090816141725963238000000"  # `make_contact()`'s id
TRIGGER = "1337.42.trigger"
RESPONSE_URL = "https://hooks.slack.com/actions/T0STANDIN/1/secret"
KEY = b"digest-cursor-key-for-the-tests!"
OWN = Credential("own-token-123456", workspace=False)
LOG = logging.getLogger(__name__)


class Slack:
    """The Slack side of one click: Bolt's `ack` and `respond`, the Web API, and `users.info`.

    Every awaited call appends its name to `order`, so a test can say what happened when.
    """

    def __init__(self) -> None:
        self.order: list[str] = []
        ok = WebhookResponse(url=RESPONSE_URL, status_code=200, body="ok", headers={})
        self.ack = create_autospec(AsyncAck().__call__, side_effect=self.noting("ack"))
        respond = AsyncRespond(response_url=RESPONSE_URL).__call__
        self.respond = create_autospec(respond, side_effect=self.noting("respond", ok))
        # The Web API methods a click uses are autospec'd (signature-checked) one by one:
        # autospeccing all of AsyncWebClient's ~270 methods costs half a second per test.
        self.client = MagicMock(spec=AsyncWebClient)
        web = AsyncWebClient()
        for method in ("chat_postMessage", "views_open", "views_publish"):
            spied = create_autospec(getattr(web, method), side_effect=self.noting(method))
            setattr(self.client, method, spied)
        self.people = create_autospec(People, instance=True)
        self.people.get.side_effect = self.noting("users.info", person())

    def noting(self, name: str, result: object = None) -> Callable[..., object]:
        def effect(*args: object, **kwargs: object) -> object:
            self.order.append(name)
            return result

        return effect

    def replies(self) -> list[dict[str, Any]]:
        """What went to the response URL, in order (the keyword arguments of each call)."""
        return [call.kwargs for call in self.respond.await_args_list]

    def dms(self) -> list[dict[str, Any]]:
        """What went through chat.postMessage, in order."""
        return [call.kwargs for call in self.client.chat_postMessage.await_args_list]

    def texts(self) -> list[str]:
        """Every message the clicker was sent, either way."""
        return [sent["text"] for sent in self.replies() + self.dms()]


def shown(sent: dict[str, Any]) -> dict[str, Any]:
    """The message part of a `respond` / `chat_postMessage` call (no routing options)."""
    return {"text": sent["text"], "blocks": sent["blocks"]}


def click(
    value: object = CONTACT,
    *,
    action: str = "open_card:1",
    channel: object = CHANNEL,
    channel_name: object = "sales",
    ephemeral: bool = False,
    trigger_id: object = TRIGGER,
) -> dict[str, Any]:
    """A block_actions payload for a button on a message, as Slack sends it."""
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "standin"},
        "user": {"id": USER, "team_id": TEAM},
        "trigger_id": trigger_id,
        "response_url": RESPONSE_URL,
        "container": {"type": "message", "channel_id": channel, "is_ephemeral": ephemeral},
        "channel": {"id": channel, "name": channel_name},
        "actions": [{"type": "button", "action_id": action, "value": value}],
    }


def home_click(value: object = CONTACT, *, action: str = "open_card:1") -> dict[str, Any]:
    """A click in the App Home: no channel and no response URL."""
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "standin"},
        "user": {"id": USER, "team_id": TEAM},
        "trigger_id": TRIGGER,
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home"},
        "actions": [{"type": "button", "action_id": action, "value": value}],
    }


@pytest.fixture
def slack() -> Slack:
    return Slack()


@pytest.fixture
def services() -> Any:
    keeper = create_autospec(TokenKeeper, instance=True)
    keeper.own_credential.return_value = OWN
    keeper.workspace_credential.return_value = None
    services = create_autospec(Services, instance=True)
    services.keeper = keeper
    services.db = create_autospec(Database, instance=True)
    return services


def asker(slack: Slack, *, stranger: bool = False) -> Asker:
    return Asker(TEAM, stranger, slack.people, asyncio.Semaphore(1))


def turn_of(services: Any, slack: Slack, body: dict[str, Any]) -> Turn:
    return actions.click_turn(services, body, slack.respond, slack.client, LOG, asker(slack))


async def press(
    services: Any,
    slack: Slack,
    work: actions.Work,
    body: dict[str, Any],
    *,
    stranger: bool = False,
) -> None:
    """Run `work` behind the real listener, as Bolt would for this click."""
    context = AsyncBoltContext({ASKER: asker(slack, stranger=stranger)})
    on_click = actions.listener(services, work)
    await on_click(
        ack=slack.ack,
        body=body,
        respond=slack.respond,
        client=slack.client,
        context=context,
        logger=LOG,
    )


ACCESS = Access(TEAM, USER, OWN.token, workspace=False)


# -- click_turn: one way to fill a Turn from any click --------------------------------------


def test_a_click_is_served_at_click_priority_as_the_clicking_user(services, slack):
    turn = turn_of(services, slack, click())
    assert turn.priority is Priority.CLICK
    assert (turn.team_id, turn.user_id) == (TEAM, USER)
    assert (turn.channel_id, turn.channel_name, turn.trigger_id) == (CHANNEL, "sales", TRIGGER)
    assert turn.client is slack.client and turn.services is services


def test_the_team_comes_from_the_payload_team_else_the_users_team(services, slack):
    body = click()
    body["team"] = None
    body["user"]["team_id"] = "T0HOME"
    assert turn_of(services, slack, body).team_id == "T0HOME"


@pytest.mark.parametrize(
    ("channel", "container", "expected"),
    [
        ({"id": "C0CHAN", "name": "sales"}, {"channel_id": "C0CONT"}, "C0CHAN"),
        (None, {"channel_id": "C0CONT"}, "C0CONT"),
        ({"id": {"id": "C0CHAN"}}, {"channel_id": "C0CONT"}, "C0CONT"),  # forged shape
        ({"id": ["C0CHAN"]}, {"channel_id": 42}, ""),
        ({"id": None}, {"type": "view"}, ""),
    ],
    ids=["channel", "container", "forged-channel", "both-forged", "none"],
)
def test_the_channel_is_the_channels_id_else_the_containers(
    services, slack, channel, container, expected
):
    body = click()
    body["channel"], body["container"] = channel, container
    assert turn_of(services, slack, body).channel_id == expected


@pytest.mark.parametrize("forged", [None, 42, ["x"], {"id": "x"}, 1.5, True])
def test_a_trigger_id_or_channel_name_that_is_not_text_reads_as_empty(services, slack, forged):
    turn = turn_of(services, slack, click(trigger_id=forged, channel_name=forged))
    assert turn.trigger_id == "" and turn.channel_name == ""


@pytest.mark.parametrize(
    ("container", "expected"),
    [({"is_ephemeral": True}, True), ({"is_ephemeral": False}, False), ({}, False)],
)
def test_in_ephemeral_follows_the_container(services, slack, container, expected):
    body = click()
    body["container"] = {"type": "message", "channel_id": CHANNEL, **container}
    assert turn_of(services, slack, body).in_ephemeral is expected


async def test_with_a_response_url_the_answer_replaces_the_click_and_notices_do_not(
    services, slack
):
    turn = turn_of(services, slack, click())
    assert turn.respond is slack.respond
    answer, notice = disconnected(was_connected=True), internal_error()
    await turn.reply(answer)
    await turn.notify(notice)
    replied, noticed = slack.replies()
    assert replied == {**answer.as_kwargs(), "response_type": "ephemeral", "replace_original": True}
    assert noticed == {
        **notice.as_kwargs(),
        "response_type": "ephemeral",
        "replace_original": False,
    }
    slack.client.chat_postMessage.assert_not_awaited()


async def test_without_a_response_url_app_home_replies_go_to_the_users_dm(services, slack):
    turn = turn_of(services, slack, home_click())
    assert turn.respond is None and turn.channel_id == ""
    answer, notice = disconnected(was_connected=True), internal_error()
    await turn.reply(answer)
    await turn.notify(notice)
    assert slack.dms() == [
        {"channel": USER, **answer.as_kwargs()},
        {"channel": USER, **notice.as_kwargs()},
    ]
    slack.respond.assert_not_awaited()


# -- listener: ack, then the gate, then the work, inside the error net -----------------------


async def test_ack_comes_first_then_the_gate_then_the_work(services, slack):
    work = create_autospec(actions.open_card, side_effect=slack.noting("work"))
    await press(services, slack, work, click("some-value"))
    assert slack.order == ["ack", "users.info", "work"]
    slack.ack.assert_awaited_once_with()
    turn, value = work.await_args.args
    assert isinstance(turn, Turn) and turn.priority is Priority.CLICK
    assert value == "some-value"


async def test_ack_comes_first_even_when_the_work_fails(services, slack):
    work = create_autospec(actions.open_card, side_effect=RuntimeError("boom"))
    await press(services, slack, work, click())
    assert slack.order[0] == "ack" and slack.order.count("ack") == 1


async def test_a_stranger_is_refused_and_the_work_never_runs(services, slack):
    work = create_autospec(actions.open_card)
    await press(services, slack, work, click(), stranger=True)
    slack.ack.assert_awaited_once_with()
    work.assert_not_awaited()
    slack.people.get.assert_not_awaited()  # refused on the gate's finding, before any I/O
    assert slack.texts() == [stranger_refused().text]
    assert slack.replies()[0]["replace_original"] is False  # a notice: the message stays


async def test_someone_slack_says_is_from_another_team_is_refused(services, slack):
    slack.people.get.side_effect = None
    slack.people.get.return_value = person(team_id="T0OTHER")
    work = create_autospec(actions.open_card)
    await press(services, slack, work, click())
    work.assert_not_awaited()
    assert slack.texts() == [stranger_refused().text]


async def test_a_failure_in_the_work_becomes_exactly_one_friendly_message(services, slack):
    work = create_autospec(actions.open_card, side_effect=RuntimeError("boom"))
    await press(services, slack, work, click())
    assert slack.texts() == [internal_error().text]
    assert slack.replies()[0]["replace_original"] is False


@pytest.mark.parametrize("field", ["channel", "container", "team", "user"])
async def test_a_payload_part_of_the_wrong_shape_still_gets_one_message(
    services, slack, core_card, field
):
    body = click()
    body[field] = "C123"  # a string where Slack sends an object
    await press(services, slack, actions.open_card, body)
    assert len(slack.texts()) == 1


async def test_the_url_button_is_only_acked():
    ack = create_autospec(AsyncAck().__call__)
    await actions.just_ack(ack)
    ack.assert_awaited_once_with()


# -- the work of each button -----------------------------------------------------------------


@pytest.fixture
def core_card(monkeypatch) -> Any:
    spy = create_autospec(contact_card, return_value=make_card())
    monkeypatch.setattr(actions, "contact_card", spy)
    return spy


FORGED_CONTACT_IDS = [
    "",
    None,
    42,
    True,
    ["C1"],
    {"id": "C1"},
    "A" * 65,
    "A" * 5000,
    "C1|v1",
    "C1\n",
    "../C1",
    "C 1",
    "<@U1>",
]


@pytest.mark.parametrize(
    ("own", "workspace", "expected"),
    [
        (OWN, None, ACCESS),
        (
            None,
            Credential("ws-token-123456", workspace=True),
            Access(TEAM, USER, "ws-token-123456", workspace=True),
        ),
    ],
    ids=["own", "workspace"],
)
async def test_open_card_looks_up_the_clicked_contact_with_the_clickers_access(
    services, slack, core_card, own, workspace, expected
):
    services.keeper.own_credential.return_value = own
    services.keeper.workspace_credential.return_value = workspace
    await press(services, slack, actions.open_card, click(CONTACT, channel_name="sales"))
    core_card.assert_awaited_once_with(services, expected, contact_id=CONTACT)
    (replied,) = slack.replies()
    assert shown(replied) == card_message(make_card(), share_to="#sales").as_kwargs()
    assert replied["response_type"] == "ephemeral" and replied["replace_original"] is True


@pytest.mark.parametrize("value", FORGED_CONTACT_IDS)
async def test_open_card_refuses_a_value_that_is_not_a_contact_id(services, slack, value):
    with pytest.raises(BadActionValue):
        await actions.open_card(turn_of(services, slack, click(value)), value)


@pytest.mark.parametrize("work", [actions.open_card, actions.share, actions.digest_card])
@pytest.mark.parametrize("value", FORGED_CONTACT_IDS)
async def test_a_forged_contact_id_is_a_stale_button_and_nothing_is_looked_up(
    services, slack, core_card, work, value
):
    await press(services, slack, work, click(value))
    core_card.assert_not_awaited()
    assert slack.texts() == [stale_button().text]


@pytest.fixture
def listings(monkeypatch) -> Any:
    spy = create_autospec(show_listings)
    monkeypatch.setattr(actions, "show_listings", spy)
    return spy


@pytest.mark.parametrize(("kind", "page"), [("viewed", 1), ("shared", 3), ("viewed", MAX_PAGE)])
async def test_a_listings_button_shows_the_page_its_cursor_names(
    services, slack, listings, kind, page
):
    value = encode_cursor(ListingsCursor(kind, CONTACT, page))
    await press(services, slack, actions.page_listings, click(value, action="listings_page:next"))
    listings.assert_awaited_once_with(ANY, kind, CONTACT, page)
    turn = listings.await_args.args[0]
    assert isinstance(turn, Turn) and turn.user_id == USER
    assert slack.texts() == []


FORGED_CURSORS = [
    None,
    7,
    "",
    "v1|viewed|C1",
    "v1|viewed|C1|2|x",
    "v2|viewed|C1|2",
    "v1|liked|C1|2",
    "v1|viewed|C 1|2",
    "v1|viewed|C1|0",
    "v1|viewed|C1|-1",
    "v1|viewed|C1|02",
    "v1|viewed|C1|1000000",
    "v1|viewed|C1|2\n",
    f"v1|viewed|{'A' * 65}|1",
    f"v1|viewed|{'A' * 300}|1",
]


@pytest.mark.parametrize("value", FORGED_CURSORS)
async def test_a_forged_listings_cursor_fetches_nothing(services, slack, listings, value):
    await press(services, slack, actions.page_listings, click(value, action="listings_page:next"))
    listings.assert_not_awaited()
    assert slack.texts() == [stale_button().text]


# -- contact_pick: the picker's Choose keeps what the agent asked for -----------------------


async def test_a_plain_pick_opens_the_card_with_the_clickers_access(services, slack, core_card):
    await press(services, slack, actions.pick_contact, click(CONTACT, action="contact_pick"))
    core_card.assert_awaited_once_with(services, ACCESS, contact_id=CONTACT)
    (replied,) = slack.replies()
    assert shown(replied) == card_message(make_card(), share_to="#sales").as_kwargs()


@pytest.mark.parametrize("kind", ["viewed", "shared"])
async def test_a_pick_for_a_list_opens_that_list_not_the_card(
    services, slack, core_card, listings, kind
):
    value = encode_pick(ContactPick(CONTACT, kind))
    assert value == f"p1|{kind}|{CONTACT}"
    await press(services, slack, actions.pick_contact, click(value, action="contact_pick"))
    listings.assert_awaited_once_with(ANY, kind, CONTACT)
    turn = listings.await_args.args[0]
    assert isinstance(turn, Turn) and turn.user_id == USER  # served as the clicker
    core_card.assert_not_awaited()


FORGED_PICKS = [
    *FORGED_CONTACT_IDS,
    "p1|card|" + CONTACT,  # the card travels as the bare id only
    "p1|liked|" + CONTACT,
    "p1|favorites|" + CONTACT,
    "p1|VIEWED|" + CONTACT,
    "p2|viewed|" + CONTACT,
    "p1|viewed",
    "p1|viewed|",
    "p1|viewed|" + CONTACT + "|2",
    "p1|viewed|../../my/account",
    "p1|viewed|C 1",
    "p1|viewed|" + "A" * 65,
    "p1|viewed|" + CONTACT + "\n",
    "v1|viewed|" + CONTACT + "|1",  # a listings cursor is not a pick
    "p1||" + CONTACT,
]


@pytest.mark.parametrize("value", FORGED_PICKS)
async def test_a_forged_pick_is_a_stale_button_and_nothing_is_read(
    services, slack, core_card, listings, value
):
    await press(services, slack, actions.pick_contact, click(value, action="contact_pick"))
    core_card.assert_not_awaited()
    listings.assert_not_awaited()
    assert slack.texts() == [stale_button().text]


async def test_share_posts_a_new_public_copy_and_leaves_the_private_card(
    services, slack, core_card
):
    await press(services, slack, actions.share, click(CONTACT, action="share_card"))
    core_card.assert_awaited_once_with(services, ACCESS, contact_id=CONTACT)
    (posted,) = slack.replies()
    assert posted["response_type"] == "in_channel" and posted["replace_original"] is False
    assert shown(posted) == card_message(make_card(), shared_by=USER).as_kwargs()
    assert "jane@example.org" not in str(posted["blocks"])  # the shared copy leaves it out


async def test_share_without_a_response_url_falls_back_to_the_reply(services, slack, core_card):
    await press(services, slack, actions.share, home_click(CONTACT, action="share_card"))
    slack.respond.assert_not_awaited()
    assert slack.dms() == [
        {"channel": USER, **card_message(make_card(), shared_by=USER).as_kwargs()}
    ]


async def test_paste_token_opens_the_modal_on_the_clicks_trigger(services, slack):
    await press(services, slack, actions.paste_token, click("paste", action="connect_paste"))
    slack.client.views_open.assert_awaited_once_with(trigger_id=TRIGGER, view=token_modal())
    assert slack.texts() == []


@pytest.fixture
def forgetting(monkeypatch) -> tuple[Any, Any]:
    disconnect = create_autospec(connections.disconnect, return_value=Disconnection(True, 2))
    monkeypatch.setattr(actions.connections, "disconnect", disconnect)
    home = create_autospec(publish_home)
    monkeypatch.setattr(home_module, "publish_home", home)
    return disconnect, home


async def test_disconnect_in_a_channel_forgets_the_clicker_and_answers_in_place(
    services, slack, forgetting
):
    disconnect, home = forgetting
    await press(services, slack, actions.forget, click("me", action="disconnect"))
    disconnect.assert_called_once_with(services, TEAM, USER)
    (replied,) = slack.replies()
    assert shown(replied) == disconnected(was_connected=True, digests_paused=2).as_kwargs()
    assert replied["replace_original"] is True
    home.assert_not_awaited()


@pytest.mark.parametrize(("own", "show"), [(OWN, True), (None, False)], ids=["own", "none"])
async def test_disconnect_in_the_app_home_republishes_the_home_tab(
    services, slack, forgetting, own, show
):
    disconnect, home = forgetting
    services.keeper.own_credential.return_value = own
    await press(services, slack, actions.forget, home_click("me", action="disconnect"))
    disconnect.assert_called_once_with(services, TEAM, USER)
    expected = disconnected(was_connected=True, digests_paused=2)
    assert slack.dms() == [{"channel": USER, **expected.as_kwargs()}]
    home.assert_awaited_once_with(services, slack.client, TEAM, USER, show_lookups=show, tz="UTC")


async def test_a_digest_card_is_a_new_private_message_for_the_clicker(services, slack, core_card):
    body = click(CONTACT, action="digest_open:2", channel_name="morning-digest")
    await press(services, slack, actions.digest_card, body)
    core_card.assert_awaited_once_with(services, ACCESS, contact_id=CONTACT)
    (posted,) = slack.replies()
    assert posted["response_type"] == "ephemeral" and posted["replace_original"] is False
    assert shown(posted) == card_message(make_card(), share_to="#morning-digest").as_kwargs()


@dataclass
class Digests:
    """The core calls `digest_more` makes, spec'd, and the subscription posted in `CHANNEL`."""

    key: Any
    subscriptions: Any
    stored: Any
    here: Any


@pytest.fixture
def digests(monkeypatch) -> Digests:
    here = make_subscription(7, channel_id=CHANNEL)
    elsewhere = make_subscription(3, channel_id=OTHER_CHANNEL)
    posted = make_digest(tuple(make_entry(i) for i in range(1, 26)), subscription_id=7)
    found = Digests(
        key=create_autospec(cursor_key, return_value=KEY),
        subscriptions=create_autospec(list_subscriptions, return_value=[elsewhere, here]),
        stored=create_autospec(stored_digest, return_value=posted),
        here=here,
    )
    monkeypatch.setattr(actions, "cursor_key", found.key)
    monkeypatch.setattr(actions, "list_subscriptions", found.subscriptions)
    monkeypatch.setattr(actions, "stored_digest", found.stored)
    return found


def more(
    subscription_id: int = 7, page: int = 1, *, channel: str = CHANNEL, key: bytes = KEY
) -> str:
    """A `digest_more` value signed the way the digest renderer signs it."""
    cursor = DigestCursor(subscription_id, DIGEST_DAY, page)
    return encode_digest_cursor(cursor, key=key, channel_id=channel)


def tampered(value: str, page: str) -> str:
    version, subscription_id, day, _, signature = value.split("|")
    return "|".join((version, subscription_id, day, page, signature))


@pytest.mark.parametrize("in_ephemeral", [False, True], ids=["from-digest", "from-page"])
async def test_more_shows_the_page_of_the_digest_posted_in_this_channel(
    services, slack, digests, in_ephemeral
):
    body = click(more(page=2), action="digest_more:next", ephemeral=in_ephemeral)
    await press(services, slack, actions.digest_more, body)
    digests.key.assert_called_once_with(services)
    digests.subscriptions.assert_called_once_with(services.db, TEAM)
    digests.stored.assert_called_once_with(services, digests.here, DIGEST_DAY)
    (posted,) = slack.replies()
    expected = digest_page(digests.stored.return_value, 2, cursor_key=KEY)
    assert shown(posted) == expected.as_kwargs()
    # A page clicked on the public digest is new; one clicked on a page replaces that page.
    assert posted["response_type"] == "ephemeral" and posted["replace_original"] is in_ephemeral


@pytest.mark.parametrize(
    ("value", "channel"),
    [
        (more(), None),
        (more(), ""),
        ("d2|7|2026-11-27|1|" + "A" * 43, CHANNEL),
        (tampered(more(page=1), "2"), CHANNEL),
        ("d1|7|2026-11-27|1", CHANNEL),
        (more(channel=OTHER_CHANNEL), CHANNEL),
        (more(key=b"another-key-of-thirty-two-bytes!"), CHANNEL),
        (more(subscription_id=3), CHANNEL),  # signed for here, but subscription 3 posts elsewhere
        (more(subscription_id=8), CHANNEL),  # signed, but no such subscription in this team
        (None, CHANNEL),
        (7, CHANNEL),
        ("d2|" + "7" * 200, CHANNEL),
    ],
    ids=[
        "no-channel",
        "empty-channel",
        "forged-signature",
        "tampered-page",
        "unsigned-d1",
        "signed-for-another-channel",
        "signed-with-another-key",
        "another-channels-subscription",
        "unknown-subscription",
        "none",
        "number",
        "oversized",
    ],
)
async def test_more_refuses_anything_but_this_channels_signed_digest(
    services, slack, digests, value, channel
):
    await press(services, slack, actions.digest_more, click(value, channel=channel))
    digests.stored.assert_not_called()
    assert slack.texts() == [stale_button().text]


@pytest.mark.parametrize("channel", [None, "", 42], ids=["none", "empty", "forged"])
async def test_more_without_a_channel_is_refused_before_anything_is_read(
    services, slack, digests, channel
):
    # Even a value signed for "no channel" and a stored subscription without one don't help.
    digests.subscriptions.return_value = [make_subscription(9, channel_id="")]
    await press(services, slack, actions.digest_more, click(more(9, channel=""), channel=channel))
    digests.key.assert_not_called()
    digests.subscriptions.assert_not_called()
    assert slack.texts() == [stale_button().text]


async def test_more_for_a_day_with_no_stored_digest_is_a_stale_button(services, slack, digests):
    digests.stored.return_value = None
    await press(services, slack, actions.digest_more, click(more()))
    assert slack.texts() == [stale_button().text]


# -- CLICKS: every button the renderers emit reaches exactly one work ------------------------

# The action-id prefixes on buttons already posted in Slack, and the work each must reach:
# renaming one breaks every message still carrying the old id.
from handlers.alerts import snooze_click  # noqa: E402
from handlers.home import setting_click, stop_watching  # noqa: E402

ROUTES: dict[str, actions.Work] = {
    "contact_pick": actions.pick_contact,
    "open_card": actions.open_card,
    "refresh_card": actions.open_card,
    "listings_page": actions.page_listings,
    "share_card": actions.share,
    "connect_paste": actions.paste_token,
    "disconnect": actions.forget,
    "digest_open": actions.digest_card,
    "digest_more": actions.digest_more,
    "alert_card": actions.digest_card,  # a new private card, the alert stays
    "alert_viewed": actions.alert_viewed,
    "alert_snooze": snooze_click,
    "alert_stop": stop_watching,  # on the alert DM, or in the App Home's watch list
    "alert_setting": setting_click,  # the App Home's alert settings
}
URL_BUTTONS = {"connect_oauth", "listing_link"}


def rendered_buttons() -> list[dict[str, Any]]:
    import datetime as dt

    from activity.alert_panel import HomeAlerts
    from activity.alert_settings import SettingsView
    from activity.alerts import ActiveNow, WatchLine, WatchList
    from blocks.alerts import active_now_message
    from storage.alerts import AlertSettings

    """Every button of every message and view a click can come from."""
    digest = make_digest(tuple(make_entry(i) for i in range(1, 46)))
    status = ConnectionStatus(
        connected=True, spark_user_name="Avery Agent", kind="oauth", since=NOW, oauth_available=True
    )
    recent = [RecentLookup(TEAM, USER, CONTACT, "Jane Doe", "jane", NOW)]
    candidates = Candidates("jane", (make_contact(), make_contact("Jane Roe", contact_id="C2")), 2)
    messages: list[Message] = [
        card_message(make_card()),
        contact_picker(candidates),
        contact_picker(candidates, intent="viewed"),  # Choose opens the viewed listings
        recent_message(recent),
        listings_message(make_view()),  # page 2 of 15: Back, Contact card, Next
        listings_message(make_view(page=1)),  # Back's placeholder
        listings_message(make_view(page=15)),  # Next's placeholder
        listings_message(replace(make_view(), links={"L1": "https://flexmls.example/l/L1"})),
        listings_message(make_view((), page=3, total_pages=2, total_rows=15)),  # First page
        digest_message(digest, cursor_key=KEY),  # Card buttons and More
        digest_page(digest, 2, cursor_key=KEY),  # Prev and Next
        digest_page(digest, 9, cursor_key=KEY),  # past the end: First page
        connect_prompt("https://sparkplatform.example/openid/authorize", oauth_available=True),
        status_message(status),  # Disconnect
        active_now_message(ActiveNow(USER, CONTACT, "Jane Doe", 5, NOW, NOW)),  # the alert DM
        contact_picker(candidates, intent="watch"),  # Choose watches
    ]
    home = home_view(
        recent,
        [(s.usage, s.description) for s in SUBCOMMANDS],
        status=status,
        subscriptions=[make_subscription()],
        alerts=HomeAlerts(  # a setting button per on/off setting, Stop watching per watch
            USER,
            SettingsView(AlertSettings(), "UTC"),
            WatchList((WatchLine("Jane Doe", CONTACT, "hot", dt.timedelta(minutes=10), None),)),
            1,
            False,
        ),
    )
    blocks = [block for message in messages for block in message.blocks] + home["blocks"]
    return view_buttons({"blocks": blocks})


def routed(action_id: str) -> list[actions.Work]:
    return [work for pattern, work in actions.CLICKS if pattern.search(action_id)]


def test_every_rendered_button_reaches_exactly_one_work_the_right_one():
    for button in rendered_buttons():
        action_id = button["action_id"]
        if action_id.split(":")[0] in URL_BUTTONS:
            assert "url" in button and routed(action_id) == [], action_id
            continue
        assert routed(action_id) == [ROUTES[action_id.split(":")[0]]], action_id


def test_the_renderers_emit_the_action_ids_already_posted_buttons_carry():
    prefixes = {button["action_id"].split(":")[0] for button in rendered_buttons()}
    assert prefixes == {*ROUTES, *URL_BUTTONS}


def test_every_click_pattern_is_reached_by_some_rendered_button():
    ids = [button["action_id"] for button in rendered_buttons()]
    for pattern, work in actions.CLICKS:
        assert any(pattern.search(i) for i in ids), f"{pattern.pattern} ({work.__name__})"


def test_register_wires_the_url_button_and_every_click(services):
    app = create_autospec(AsyncApp, instance=True)
    actions.register(app, services)
    wired = [call.args[0] for call in app.action.call_args_list]
    url_buttons = [CONNECT_OAUTH_RE, LISTING_LINK_RE, OPEN_FLEXMLS_RE]
    assert wired == [*url_buttons, *(pattern for pattern, _ in actions.CLICKS)]


async def test_an_app_home_clicks_still_asking_notice_is_deleted_once_answered(services, slack):
    from blocks.waiting import still_asking

    posted = {"ok": True, "channel": "D0HOME", "ts": "1700000000.000100"}
    slack.client.chat_postMessage.side_effect = slack.noting("chat.postMessage", posted)
    delete = create_autospec(AsyncWebClient().chat_delete, side_effect=slack.noting("chat.delete"))
    slack.client.chat_delete = delete
    turn = turn_of(services, slack, home_click())
    assert turn.notice is not None and turn.notice.remove is not None
    await turn.notice.show(still_asking())
    assert slack.dms()[0]["channel"] == USER
    await turn.notice.remove()
    delete.assert_awaited_once_with(channel="D0HOME", ts="1700000000.000100")
