"""`GET /spark/oauth/callback`: where Flexmls sends the browser back after sign-in.

The page the agent sees is small and final ("Connected as …, you can close this tab", or what
went wrong and what to do); the bot also DMs them in Slack. A replayed, forged or expired state
gets an error page and stores nothing.
"""

from __future__ import annotations

import contextlib
import logging

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from activity.connections import StateRejected, claim_state, complete_oauth
from activity.services import Services
from blocks import connected_dm, oauth_result_page
from spark import RefreshFailed, SparkError
from spark.oauth import OAuthConfigError

CALLBACK_PATH = "/spark/oauth/callback"
log = logging.getLogger(__name__)


def _page(ok: bool, title: str, detail: str, status: int = 200) -> web.Response:
    return web.Response(
        text=oauth_result_page(ok=ok, title=title, detail=detail),
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def routes(services: Services, client: AsyncWebClient) -> list[web.RouteDef]:
    async def callback(request: web.Request) -> web.Response:
        query = request.query
        state = query.get("state", "")
        if query.get("error"):
            with contextlib.suppress(StateRejected):
                claim_state(services, state)  # a refused sign-in still uses up its link
            return _page(False, "Flexmls wasn't connected",
                         "Nothing was stored. Run /activity connect in Slack to try again.")  # fmt: skip
        try:
            _, user_id, account = await complete_oauth(services, state, query.get("code", ""))
        except StateRejected as refusal:
            return _page(False, "This link can't be used", str(refusal), status=400)
        except RefreshFailed:
            return _page(False, "Flexmls didn't accept the sign-in",
                         "The sign-in code was rejected. Run /activity connect in Slack again.", status=400)  # fmt: skip
        except OAuthConfigError:
            log.error("Flexmls rejected our OAuth client credentials: check SPARK_CLIENT_ID/SECRET")
            return _page(False, "Flexmls sign-in is misconfigured",
                         "Tell your Slack admin: the app's Flexmls client settings were rejected.", status=502)  # fmt: skip
        except SparkError as error:
            log.warning("OAuth callback failed talking to Flexmls (%s)", type(error).__name__)
            return _page(False, "Couldn't reach Flexmls",
                         "Flexmls didn't answer. Run /activity connect in Slack to try again.", status=502)  # fmt: skip
        try:
            await client.chat_postMessage(
                channel=user_id, **connected_dm(account.name, "oauth").as_kwargs()
            )
        except Exception:
            log.exception("Connected, but could not DM the user")
        return _page(
            True, f"Connected as {account.name}", "You can close this tab and go back to Slack."
        )

    return [web.get(CALLBACK_PATH, callback)]
