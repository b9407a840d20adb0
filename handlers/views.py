"""The paste-a-token modal: check the text at once, then validate with Flexmls after the ack.

What can be judged without the network (empty, too long, spaces) is answered inline within
the 3-second ack. Validating with Flexmls takes a round trip, so the modal is first switched
to "Checking…", then updated: back to the form with an inline error, or to "Connected".
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

import redaction
from activity.connections import TokenRejected, check_token_text, connect_personal
from activity.services import Services
from blocks import (
    TOKEN_INPUT_ACTION,
    TOKEN_INPUT_BLOCK,
    TOKEN_MODAL_CALLBACK,
    checking_modal,
    connected_dm,
    connected_modal,
    token_modal,
)
from handlers.oauth import newly_linked, tell_email_owners
from handlers.people import asker_of

OUTSIDERS_REFUSED = "Sorry, Activity only works for members of this workspace."
SLACK_UNKNOWN = "I couldn't check your Slack account just now. Try again in a minute."


def _pasted(view: object) -> str | None:
    if not isinstance(view, dict):
        return None
    values = ((view.get("state") or {}).get("values") or {}).get(TOKEN_INPUT_BLOCK) or {}
    value = (values.get(TOKEN_INPUT_ACTION) or {}).get("value")
    return value if isinstance(value, str) else None


def register(app: AsyncApp, services: Services) -> None:
    async def on_token_submitted(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        text = _pasted(view)
        asker = asker_of(context)
        if asker.stranger:
            await ack(response_action="errors", errors={TOKEN_INPUT_BLOCK: OUTSIDERS_REFUSED})
            return
        try:
            redaction.remember(check_token_text(text))  # from this moment, never in a log line
        except TokenRejected as refusal:
            await ack(response_action="errors", errors={TOKEN_INPUT_BLOCK: str(refusal)})
            return
        await ack(response_action="update", view=checking_modal())
        user = body.get("user") or {}
        user_id = user.get("id", "")
        team_id = user.get("team_id") or (body.get("team") or {}).get("id") or ""
        view_id = view.get("id")
        person = await asker.people.get(client, user_id)
        if person.outsider(asker.installed_team) or not person.known:
            refusal = OUTSIDERS_REFUSED if person.known else SLACK_UNKNOWN
            await client.views_update(view_id=view_id, view=token_modal(error=refusal))
            return
        is_new = newly_linked(services, team_id, user_id)
        try:
            account = await connect_personal(services, team_id, user_id, text)
        except TokenRejected as refusal:
            await client.views_update(view_id=view_id, view=token_modal(error=str(refusal)))
            return
        except Exception:
            logger.exception("Could not store a pasted token")
            await client.views_update(
                view_id=view_id, view=token_modal(error="Something went wrong. Try again.")
            )
            return
        await client.views_update(view_id=view_id, view=connected_modal(account.name))
        await client.chat_postMessage(
            channel=user_id, **connected_dm(account.name, "personal").as_kwargs()
        )
        if is_new(account.id):
            await tell_email_owners(client, account, team_id, user_id)

    app.view(TOKEN_MODAL_CALLBACK)(on_token_submitted)
