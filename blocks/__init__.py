"""Pure Block Kit renderers: plain dataclasses in, a validated `Message` out.

Every renderer returns a `Message` (fallback `text` plus `blocks` dicts built with
`slack_sdk.models.blocks` and validated by it). No I/O, no Slack client, no clock.
"""

from blocks.actions import (
    CONNECT_OAUTH,
    CONNECT_OAUTH_RE,
    CONNECT_PASTE,
    CONNECT_PASTE_RE,
    DISCONNECT,
    DISCONNECT_RE,
    LISTINGS_PAGE,
    LISTINGS_PAGE_RE,
    OPEN_CARD,
    OPEN_CARD_RE,
    PICK_CONTACT,
    PICK_CONTACT_RE,
    REFRESH_CARD,
    REFRESH_CARD_RE,
    SHARE_CARD,
    SHARE_CARD_RE,
    TOKEN_INPUT_ACTION,
    TOKEN_INPUT_BLOCK,
    TOKEN_MODAL_CALLBACK,
    BadActionValue,
    ListingsCursor,
    decode_contact_id,
    decode_cursor,
    encode_cursor,
)
from blocks.card import contact_card
from blocks.connection import (
    ConnectionStatus,
    checking_modal,
    connect_prompt,
    connected_dm,
    connected_modal,
    connection_status,
    disconnected,
    token_modal,
)
from blocks.help import help_message
from blocks.home import home_view
from blocks.listings import listing_page
from blocks.message import Message
from blocks.pages import oauth_result_page
from blocks.picker import contact_picker, no_match
from blocks.problems import (
    internal_error,
    invalid_input,
    not_connected,
    problem,
    retrying_notice,
    spark_problem,
    stale_button,
)
from blocks.recent import recent_lookups
from blocks.text import count_with_delta, escape_mrkdwn, money, number, plain, truncate

__all__ = [
    "CONNECT_OAUTH",
    "CONNECT_OAUTH_RE",
    "CONNECT_PASTE",
    "CONNECT_PASTE_RE",
    "DISCONNECT",
    "DISCONNECT_RE",
    "TOKEN_INPUT_ACTION",
    "TOKEN_INPUT_BLOCK",
    "TOKEN_MODAL_CALLBACK",
    "ConnectionStatus",
    "checking_modal",
    "connect_prompt",
    "connected_dm",
    "connected_modal",
    "connection_status",
    "disconnected",
    "home_view",
    "oauth_result_page",
    "token_modal",
    "LISTINGS_PAGE",
    "LISTINGS_PAGE_RE",
    "OPEN_CARD",
    "OPEN_CARD_RE",
    "PICK_CONTACT",
    "PICK_CONTACT_RE",
    "REFRESH_CARD",
    "REFRESH_CARD_RE",
    "SHARE_CARD",
    "SHARE_CARD_RE",
    "BadActionValue",
    "ListingsCursor",
    "Message",
    "contact_card",
    "contact_picker",
    "count_with_delta",
    "decode_contact_id",
    "decode_cursor",
    "encode_cursor",
    "escape_mrkdwn",
    "help_message",
    "internal_error",
    "invalid_input",
    "listing_page",
    "money",
    "no_match",
    "not_connected",
    "number",
    "plain",
    "problem",
    "recent_lookups",
    "retrying_notice",
    "spark_problem",
    "stale_button",
    "truncate",
]
