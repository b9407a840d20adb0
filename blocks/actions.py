"""Action ids, the patterns handlers register, and strict encoding of button values.

An action id is a stable prefix plus an optional `:suffix` that keeps it unique within its
block (`listings_page:next`, `open_card:3`); handlers match the prefix with the `*_RE` patterns.

Button values come back from Slack in the click payload and may be forged or truncated, so they
are parsed strictly: anything but exactly the documented format raises `BadActionValue`.

- `share_card`, `refresh_card`, `open_card`: the contact id.
- `contact_pick`: a `ContactPick`: the bare contact id (open the card, what every picker sent
  before intents), or `p1|<viewed|shared>|<contact id>` (open that list of the contact, for
  `/activity viewed <name>` that needed a picker). Nothing else: an unknown intent is refused.
- `listings_page`: a `ListingsCursor` as `v1|<viewed|shared>|<contact id>|<page>`. The action
  ids `listings_page:prev|next|first` move; `listings_page:stay_prev|stay_next` are the
  placeholders that keep Back and Next in place at either end (their cursor is the page shown).
- `listing_link` (`listing_link:<n>`): a URL button ("View listing" in Flexmls); the click is
  only acked.
- `digest_open` (`digest_open:<n>`): the contact id; a click opens that contact's card
  ephemerally for whoever clicked, with their own Flexmls access.
- `digest_more` (`digest_more`, `digest_more:prev`, `digest_more:next`, `digest_more:first`):
  a `DigestCursor` as `d2|<subscription id>|<YYYY-MM-DD>|<page>|<signature>`, the signature an
  HMAC-SHA256 (base64url) over the rest and the digest's channel id, so a value only works for
  the digest it was made for, clicked in that digest's channel. Unsigned `d1|…` values (from
  before signing) are refused like any forgery.
- `alert_card`, `alert_viewed` (on an "Active now" DM): the contact id; a click opens the card,
  or the first page of the listings viewed, as a new private message for whoever clicked, read
  with their own Flexmls access (the alert DM stays as it is, to be updated).
- `alert_snooze`, `alert_stop`: a `WatchAction` as `a1|<watcher's user id>|<contact id>`; the
  click is refused unless the clicking user is the watcher, and only ever changes the clicking
  user's own watch. In the App Home each watch has a Stop watching button `alert_stop:home_<n>`
  with the same value (the Home is then re-published without it).
- `alert_setting` (`alert_setting:<name>`, in the App Home): a `SettingChoice` as
  `s1|<user id>|<setting name>|<on|off>`; refused unless the clicking user is the one named,
  and only ever changes the clicking user's own setting.
- `connect_oauth`: a URL button (opens the Flexmls sign-in); Slack still sends a click payload,
  which handlers only ack. `connect_paste`: opens the paste-token modal. `disconnect`: the value
  "me" (the clicking user's own tokens are forgotten, whoever rendered the button).
- The paste-token modal: `callback_id` `connect_token`; the token is read from
  `view.state.values["token_input"]["token"]`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from slack_sdk.models.blocks import ButtonElement, ConfirmObject, PlainTextObject

from activity.models import LIST_KINDS, ListKind
from blocks.message import (
    ACTION_ID,
    BUTTON_TEXT,
    CONFIRM_BUTTON,
    CONFIRM_TEXT,
    CONFIRM_TITLE,
    MOBILE_LABEL,
)
from blocks.text import clean, truncate

PICK_CONTACT = "contact_pick"
LISTINGS_PAGE = "listings_page"
SHARE_CARD = "share_card"
REFRESH_CARD = "refresh_card"
OPEN_CARD = "open_card"
CONNECT_OAUTH = "connect_oauth"
CONNECT_PASTE = "connect_paste"
DISCONNECT = "disconnect"
DIGEST_OPEN = "digest_open"
DIGEST_MORE = "digest_more"
LISTING_LINK = "listing_link"
ALERT_CARD = "alert_card"
ALERT_VIEWED = "alert_viewed"
ALERT_SNOOZE = "alert_snooze"
ALERT_STOP = "alert_stop"
ALERT_SETTING = "alert_setting"
OPEN_FLEXMLS = "open_flexmls"  # a URL button: the browser does the work, the click is only acked

TOKEN_MODAL_CALLBACK = "connect_token"
TOKEN_INPUT_BLOCK = "token_input"
TOKEN_INPUT_ACTION = "token"


def _prefix_pattern(prefix: str) -> re.Pattern[str]:
    # `\Z`, not `$`: `$` would also accept a trailing newline.
    return re.compile(rf"^{re.escape(prefix)}(:.*)?\Z")


PICK_CONTACT_RE = _prefix_pattern(PICK_CONTACT)
LISTINGS_PAGE_RE = _prefix_pattern(LISTINGS_PAGE)
SHARE_CARD_RE = _prefix_pattern(SHARE_CARD)
REFRESH_CARD_RE = _prefix_pattern(REFRESH_CARD)
OPEN_CARD_RE = _prefix_pattern(OPEN_CARD)
CONNECT_OAUTH_RE = _prefix_pattern(CONNECT_OAUTH)
CONNECT_PASTE_RE = _prefix_pattern(CONNECT_PASTE)
DISCONNECT_RE = _prefix_pattern(DISCONNECT)
DIGEST_OPEN_RE = _prefix_pattern(DIGEST_OPEN)
DIGEST_MORE_RE = _prefix_pattern(DIGEST_MORE)
LISTING_LINK_RE = _prefix_pattern(LISTING_LINK)
OPEN_FLEXMLS_RE = _prefix_pattern(OPEN_FLEXMLS)
ALERT_CARD_RE = _prefix_pattern(ALERT_CARD)
ALERT_VIEWED_RE = _prefix_pattern(ALERT_VIEWED)
ALERT_SNOOZE_RE = _prefix_pattern(ALERT_SNOOZE)
ALERT_STOP_RE = _prefix_pattern(ALERT_STOP)
ALERT_SETTING_RE = _prefix_pattern(ALERT_SETTING)

CURSOR_VERSION = "v1"
MAX_PAGE = 100_000
MAX_VALUE = 200
_CONTACT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PAGE = re.compile(r"[1-9][0-9]{0,5}")

DIGEST_CURSOR_VERSION = "d2"
MAX_SUBSCRIPTION_ID = 1_000_000_000
MAX_DIGEST_PAGE = 10_000
MAX_DIGEST_VALUE = 120
MIN_DIGEST_KEY = 16  # bytes: a shorter (or empty) key would make the signature guessable
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding
_SUBSCRIPTION_ID = re.compile(r"[1-9][0-9]{0,9}")
_DIGEST_PAGE = re.compile(r"[1-9][0-9]{0,4}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadActionValue(ValueError):
    """A button value that is not exactly what we put there (forged, truncated, outdated)."""


def is_contact_id(value: object) -> bool:
    """True when `value` is a contact id we are willing to put in (or accept from) a button."""
    return isinstance(value, str) and _CONTACT_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class ListingsCursor:
    """Which page of which list of which contact a listings button shows."""

    kind: ListKind
    contact_id: str
    page: int

    def __post_init__(self) -> None:
        if self.kind not in LIST_KINDS:
            raise BadActionValue(f"unknown list kind {self.kind!r}")
        if not is_contact_id(self.contact_id):
            raise BadActionValue("contact id is not a valid id")
        if (
            not isinstance(self.page, int)
            or isinstance(self.page, bool)
            or not 1 <= self.page <= MAX_PAGE
        ):
            raise BadActionValue(f"page must be an int in 1..{MAX_PAGE}")


def encode_cursor(cursor: ListingsCursor) -> str:
    """`v1|<kind>|<contact_id>|<page>`: the value of a `listings_page` button."""
    return f"{CURSOR_VERSION}|{cursor.kind}|{cursor.contact_id}|{cursor.page}"


def decode_cursor(value: object) -> ListingsCursor:
    """The cursor in a `listings_page` button value; `BadActionValue` for anything else."""
    if not isinstance(value, str):
        raise BadActionValue("button value is not text")
    if len(value) > MAX_VALUE:
        raise BadActionValue("button value is too long")
    parts = value.split("|")
    if len(parts) != 4:
        raise BadActionValue("button value has the wrong shape")
    version, kind, contact_id, page = parts
    if version != CURSOR_VERSION:
        raise BadActionValue("button value has an unknown version")
    if kind not in LIST_KINDS:
        raise BadActionValue("button value has an unknown list kind")
    if _PAGE.fullmatch(page) is None:
        raise BadActionValue("button value has a bad page number")
    return ListingsCursor(kind=kind, contact_id=contact_id, page=int(page))


PickIntent = Literal["card", "viewed", "shared", "watch"]
PICK_INTENTS = ("viewed", "shared", "watch")  # the intents carried in a `p1|…` value
PICK_VERSION = "p1"
MAX_PICK_VALUE = 80


@dataclass(frozen=True)
class ContactPick:
    """A picker's Choose button: which contact, and what the agent asked for about them."""

    contact_id: str
    intent: PickIntent = "card"

    def __post_init__(self) -> None:
        if self.intent != "card" and self.intent not in PICK_INTENTS:
            raise BadActionValue(f"unknown intent {self.intent!r}")
        if not is_contact_id(self.contact_id):
            raise BadActionValue("contact id is not a valid id")


def encode_pick(pick: ContactPick) -> str:
    """The card: the bare contact id; a list: `p1|<viewed|shared>|<contact id>`."""
    if pick.intent == "card":
        return pick.contact_id
    return f"{PICK_VERSION}|{pick.intent}|{pick.contact_id}"


def decode_pick(value: object) -> ContactPick:
    """The `ContactPick` in a `contact_pick` value; `BadActionValue` for anything else."""
    if not isinstance(value, str) or len(value) > MAX_PICK_VALUE:
        raise BadActionValue("button value is not a pick")
    if is_contact_id(value):
        return ContactPick(value)
    parts = value.split("|")
    if len(parts) != 3 or parts[0] != PICK_VERSION:
        raise BadActionValue("button value has the wrong shape")
    _, intent, contact_id = parts
    if intent not in PICK_INTENTS:  # "card" travels as the bare id, never in this form
        raise BadActionValue("button value has an unknown intent")
    return ContactPick(contact_id, intent)  # type: ignore[arg-type]


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class DigestCursor:
    """Which page of which day's digest of which subscription a `digest_more` button shows."""

    subscription_id: int
    local_date: dt.date
    page: int

    def __post_init__(self) -> None:
        if not _int_in(self.subscription_id, 1, MAX_SUBSCRIPTION_ID):
            raise BadActionValue(f"subscription id must be an int in 1..{MAX_SUBSCRIPTION_ID}")
        # A datetime is a date too, but its isoformat() carries a time: refuse it.
        if not isinstance(self.local_date, dt.date) or isinstance(self.local_date, dt.datetime):
            raise BadActionValue("local date must be a date")
        if not _int_in(self.page, 1, MAX_DIGEST_PAGE):
            raise BadActionValue(f"page must be an int in 1..{MAX_DIGEST_PAGE}")


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_DIGEST_KEY:
        raise ValueError("digest cursors need a secret key of at least 16 bytes")


def _digest_signature(cursor: DigestCursor, key: bytes, channel_id: str) -> str:
    signed = (
        f"{DIGEST_CURSOR_VERSION}|{cursor.subscription_id}|{cursor.local_date.isoformat()}|"
        f"{cursor.page}|{channel_id}"
    )
    mac = hmac.new(key, signed.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def encode_digest_cursor(cursor: DigestCursor, *, key: bytes, channel_id: str) -> str:
    """`d2|<subscription id>|<YYYY-MM-DD>|<page>|<signature>`: a `digest_more` button value.

    `key` is the digest-cursor key (see `activity.digests.cursor_key`) and `channel_id` the
    channel the digest is posted in: the value is valid only for clicks from that channel.
    """
    _check_key(key)
    return (
        f"{DIGEST_CURSOR_VERSION}|{cursor.subscription_id}|{cursor.local_date.isoformat()}|"
        f"{cursor.page}|{_digest_signature(cursor, key, channel_id)}"
    )


def decode_digest_cursor(value: object, *, key: bytes, channel_id: str) -> DigestCursor:
    """The cursor in a `digest_more` button value clicked in `channel_id`.

    `BadActionValue` for anything but a value `encode_digest_cursor` made with this key for
    this channel: forged, tampered, truncated, unsigned (`d1|…`) or clicked elsewhere.
    """
    _check_key(key)
    if not isinstance(value, str):
        raise BadActionValue("button value is not text")
    if len(value) > MAX_DIGEST_VALUE:
        raise BadActionValue("button value is too long")
    parts = value.split("|")
    if len(parts) != 5:
        raise BadActionValue("button value has the wrong shape")
    version, subscription_id, day, page, signature = parts
    if version != DIGEST_CURSOR_VERSION:
        raise BadActionValue("button value has an unknown version")
    if _SUBSCRIPTION_ID.fullmatch(subscription_id) is None:
        raise BadActionValue("button value has a bad subscription id")
    if _ISO_DATE.fullmatch(day) is None:
        raise BadActionValue("button value has a bad date")
    try:
        local_date = dt.date.fromisoformat(day)
    except ValueError:
        raise BadActionValue("button value has a bad date") from None
    if _DIGEST_PAGE.fullmatch(page) is None:
        raise BadActionValue("button value has a bad page number")
    if _SIGNATURE.fullmatch(signature) is None:
        raise BadActionValue("button value has a bad signature")
    cursor = DigestCursor(int(subscription_id), local_date, int(page))
    expected = _digest_signature(cursor, key, channel_id)
    if not hmac.compare_digest(signature.encode("ascii"), expected.encode("ascii")):
        raise BadActionValue("button value is not signed for this digest and channel")
    return cursor


WATCH_ACTION_VERSION = "a1"
MAX_WATCH_VALUE = 120
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")


@dataclass(frozen=True)
class WatchAction:
    """Whose watch of which contact a Snooze / Stop watching button acts on."""

    watcher_id: str
    contact_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.watcher_id, str) or not _USER_ID.fullmatch(self.watcher_id):
            raise BadActionValue("watcher is not a user id")
        if not is_contact_id(self.contact_id):
            raise BadActionValue("contact id is not a valid id")


def encode_watch_action(action: WatchAction) -> str:
    """`a1|<watcher's user id>|<contact id>`."""
    return f"{WATCH_ACTION_VERSION}|{action.watcher_id}|{action.contact_id}"


def decode_watch_action(value: object, *, clicked_by: str) -> WatchAction:
    """The `WatchAction` in an `alert_snooze`/`alert_stop` value clicked by `clicked_by`;
    `BadActionValue` for anything else, and for a click by anyone but the watcher."""
    if not isinstance(value, str) or len(value) > MAX_WATCH_VALUE:
        raise BadActionValue("button value is not a watch action")
    parts = value.split("|")
    if len(parts) != 3 or parts[0] != WATCH_ACTION_VERSION:
        raise BadActionValue("button value has the wrong shape")
    action = WatchAction(parts[1], parts[2])
    if not is_contact_id(action.contact_id):
        raise BadActionValue("button value names no contact")
    if not clicked_by or not hmac.compare_digest(action.watcher_id, clicked_by):
        raise BadActionValue("only the watcher may change their watch")
    return action


SETTING_VERSION = "s1"
MAX_SETTING_VALUE = 60
_SETTING_NAME = re.compile(r"[a-z]{1,16}")


@dataclass(frozen=True)
class SettingChoice:
    """An App Home alert-setting button: whose setting, which one, and the state asked for."""

    user_id: str
    name: str
    on: bool

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not _USER_ID.fullmatch(self.user_id):
            raise BadActionValue("not a user id")
        if not isinstance(self.name, str) or not _SETTING_NAME.fullmatch(self.name):
            raise BadActionValue("not a setting name")
        if not isinstance(self.on, bool):
            raise BadActionValue("a setting is on or off")


def encode_setting_choice(choice: SettingChoice) -> str:
    """`s1|<user id>|<setting name>|<on|off>`."""
    state = "on" if choice.on else "off"
    return f"{SETTING_VERSION}|{choice.user_id}|{choice.name}|{state}"


def decode_setting_choice(value: object, *, clicked_by: str) -> SettingChoice:
    """The `SettingChoice` in an `alert_setting` value clicked by `clicked_by`; `BadActionValue`
    for anything else, and for a value naming anyone but the clicking user."""
    if not isinstance(value, str) or len(value) > MAX_SETTING_VALUE:
        raise BadActionValue("button value is not a setting")
    parts = value.split("|")
    if len(parts) != 4 or parts[0] != SETTING_VERSION or parts[3] not in ("on", "off"):
        raise BadActionValue("button value has the wrong shape")
    choice = SettingChoice(parts[1], parts[2], parts[3] == "on")
    if not clicked_by or not hmac.compare_digest(choice.user_id, clicked_by):
        raise BadActionValue("only the agent may change their settings")
    return choice


def decode_contact_id(value: object) -> str:
    """The contact id in a `share_card`/`refresh_card`/`open_card`/`digest_open` value."""
    if not is_contact_id(value):
        raise BadActionValue("button value is not a contact id")
    return value  # type: ignore[return-value]


def action_id(prefix: str, suffix: str | int | None = None) -> str:
    """`prefix` or `prefix:suffix` (≤ 255 characters)."""
    result = prefix if suffix is None else f"{prefix}:{suffix}"
    if len(result) > ACTION_ID:
        raise ValueError(f"action id too long: {result[:40]!r}…")
    return result


def button(
    label: str,
    action: str,
    value: str,
    *,
    style: str | None = None,
    accessibility_label: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    """A button whose label fits a phone (≤ 30 characters, cut with "…")."""
    text = truncate(clean(label) or "—", MOBILE_LABEL)
    accessible = truncate(clean(accessibility_label), BUTTON_TEXT) if accessibility_label else None
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=True),
        action_id=action,
        value=value,
        style=style,
        accessibility_label=accessible or None,
        confirm=confirm,
    )


def confirmation(title: str, text: str, *, confirm: str, deny: str = "Cancel") -> ConfirmObject:
    """Slack's "are you sure?" dialog; every part is plain text, cut to Slack's limits."""
    return ConfirmObject(
        title=PlainTextObject(text=truncate(clean(title), CONFIRM_TITLE)),
        text=PlainTextObject(text=truncate(clean(text, single_line=False), CONFIRM_TEXT)),
        confirm=PlainTextObject(text=truncate(clean(confirm), CONFIRM_BUTTON)),
        deny=PlainTextObject(text=truncate(clean(deny), CONFIRM_BUTTON)),
    )
