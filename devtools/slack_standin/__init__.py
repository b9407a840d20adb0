"""An offline stand-in for Slack: its Web API and response URLs, and signed Slack requests.

Tests, the local console and benchmarks run the bot against this on 127.0.0.1:

* `SlackStandin` (async) / `SlackStandinThread` (its own loop in a daemon thread) serve
  Slack's Web API under `.api_url` (the bot's `base_url`) and response URLs from
  `new_response_url()`, record every request as a `Received`, and inject faults.
* `SlackSender` and the payload builders send slash commands, block actions and events to the
  bot's real `/slack/events` endpoint, signed exactly as Slack signs them (`sign`).
"""

from .requests import (
    DEFAULT_API_APP_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_COMMAND,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    ResponseUrlSource,
    Sent,
    SlackSender,
    app_home_opened_event,
    app_mention_event,
    block_action_body,
    event_callback_body,
    message_changed_event,
    message_event,
    new_event_id,
    new_trigger_id,
    sign,
    slash_command_body,
    url_verification_body,
)
from .server import (
    DEFAULT_BOT_ID,
    DEFAULT_BOT_TOKEN,
    MAX_RESPONSE_URL_USES,
    Fault,
    Received,
    SlackStandin,
    SlackStandinThread,
)

__all__ = [
    "DEFAULT_API_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_COMMAND",
    "DEFAULT_TEAM_ID",
    "DEFAULT_USER_ID",
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "MAX_RESPONSE_URL_USES",
    "Fault",
    "Received",
    "ResponseUrlSource",
    "Sent",
    "SlackSender",
    "SlackStandin",
    "SlackStandinThread",
    "app_home_opened_event",
    "app_mention_event",
    "block_action_body",
    "event_callback_body",
    "message_changed_event",
    "message_event",
    "new_event_id",
    "new_trigger_id",
    "sign",
    "slash_command_body",
    "url_verification_body",
]
