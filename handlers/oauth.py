"""`/spark/oauth/callback`: where Flexmls sends the browser back after sign-in.

`GET` stores nothing. It checks `state`, exchanges the code and shows a confirmation page that
names the Flexmls account, the Slack user and the Slack workspace it would be linked to, with
"Link" and "Cancel". Only `POST` "Link" (carrying the page's one-time signed form token) stores
the connection, and the Slack user is then told by DM. A replayed, forged or expired state or
form token gets an error page and stores nothing. Every page is `no-store`, sends no referrer,
can't be framed and runs no script.

Display and real names can be copied from a colleague, so the page names the Slack user by
`@name` and user id, shows both accounts' e-mails masked, and warns unless they are the same.
"Link" asks `users.info` again and refuses a deactivated user, a stranger or another team's
user (403). Once linked, another member whose e-mail the Flexmls account has
(`users.lookupByEmail`) is told by DM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activity.connections import (
    LINK_TTL,
    AlreadyLinked,
    LinkOffer,
    LinkRejected,
    PendingLink,
    PendingLinks,
    SlackAccount,
    SlackUserRefused,
    StateRejected,
    begin_oauth,
    cancel_link,
    check_link_user,
    claim_state,
    confirm_link,
    link_owner,
    matching_email,
    members_to_warn,
)
from activity.services import Services
from blocks import link_confirm_page, linked_dm, oauth_result_page
from blocks.connection import linked_elsewhere_dm
from blocks.pages import CSP, LinkConfirmation
from spark import Account, RefreshFailed, SparkError
from spark.oauth import OAuthConfigError
from storage import get_connection

CALLBACK_PATH = "/spark/oauth/callback"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": f"{CSP}; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
AGAIN = "Run /activity connect in Slack to try again."
SLACK_DOWN = "Nothing was linked yet. Go back and press Link again in a minute."
MAX_EMAIL_LOOKUPS = 5  # Flexmls e-mails looked up in Slack after a link
log = logging.getLogger(__name__)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text, status=status, content_type="text/html", headers=dict(PAGE_HEADERS)
    )


def _page(ok: bool, title: str, detail: str, status: int = 200) -> web.Response:
    return _html(oauth_result_page(ok=ok, title=title, detail=detail), status)


def _form_action(services: Services) -> str:
    """Our callback path as the browser sees it (behind a proxy it may differ from ours)."""
    path = urllib.parse.urlsplit(services.settings.spark_redirect_uri or "").path
    return path if path.startswith("/") else CALLBACK_PATH


def _slack_account(user: dict[str, Any]) -> SlackAccount:
    """A `users.info` / `users.lookupByEmail` user, read tolerantly."""

    def text(value: Any) -> str | None:
        return (value.strip() or None) if isinstance(value, str) else None

    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    return SlackAccount(
        user_id=text(user.get("id")) or "",
        team_id=text(user.get("team_id")) or "",
        username=text(user.get("name")),
        email=text(profile.get("email")),
        deleted=bool(user.get("deleted")),
        stranger=bool(user.get("is_stranger")),
        bot=bool(user.get("is_bot")),
    )


async def _slack_user(client: AsyncWebClient, user_id: str) -> SlackAccount | None:
    """`users.info` for `user_id`; None when Slack doesn't know them.

    Any other failure (Slack down, rate limited) raises: the caller decides how to fail.
    """
    try:
        user = (await client.users_info(user=user_id)).get("user")
    except SlackApiError as error:
        if error.response.get("error") == "user_not_found":
            return None
        raise
    return _slack_account(user) if isinstance(user, dict) else None


async def _page_user(client: AsyncWebClient, user_id: str) -> SlackAccount | None:
    """The Slack user for the page; None when Slack can't tell us (the page shows the id)."""
    try:
        return await _slack_user(client, user_id)
    except Exception as error:
        log.warning("users.info failed for the link page (%s)", type(error).__name__)
        return None


async def _workspace(client: AsyncWebClient, team_id: str) -> str:
    """The workspace's name: `team.info` (needs `team:read`), else `auth.test`, else the id."""
    with contextlib.suppress(Exception):
        name = ((await client.team_info(team=team_id)).get("team") or {}).get("name")
        if isinstance(name, str) and name.strip():
            return name
    with contextlib.suppress(Exception):
        auth = await client.auth_test()
        if auth.get("team_id") == team_id and isinstance(auth.get("team"), str):
            return auth["team"]
    return team_id


async def _confirmation(
    services: Services, client: AsyncWebClient, offer: LinkOffer
) -> LinkConfirmation:
    user, workspace = await asyncio.gather(
        _page_user(client, offer.user_id), _workspace(client, offer.team_id)
    )
    slack_email = user.email if user else None
    same = matching_email(slack_email, offer.account.emails)
    return LinkConfirmation(
        flexmls_name=offer.account.name,
        flexmls_email=same or offer.account.email,
        slack_user_id=offer.user_id,
        slack_username=user.username if user else None,
        slack_email=slack_email,
        same_email=same is not None,
        workspace=workspace,
        form_token=offer.form_token,
        form_action=_form_action(services),
        minutes=int(LINK_TTL.total_seconds() // 60),
    )


async def _email_owner(client: AsyncWebClient, address: str) -> SlackAccount | None:
    """The Slack user with this e-mail (`users.lookupByEmail`); None when none or on any error."""
    try:
        user = (await client.users_lookupByEmail(email=address)).get("user")
    except Exception as error:  # users_not_found, missing scope, Slack down: nobody to tell
        log.info("users.lookupByEmail found nobody (%s)", type(error).__name__)
        return None
    return _slack_account(user) if isinstance(user, dict) else None


def newly_linked(services: Services, team_id: str, user_id: str) -> Callable[[str], bool]:
    """Before linking: a test, for after it, of whether the account is new to this user.

    Re-linking the account one already had warns nobody again (one alert per real change).
    """
    previous = get_connection(services.db, services.cipher, team_id, user_id)
    before = previous.spark_user_id if previous is not None else None
    return lambda account_id: account_id != before


async def tell_email_owners(
    client: AsyncWebClient, account: Account, team_id: str, user_id: str
) -> None:
    """DM each other member who has the Flexmls account's e-mail, once, that it was linked."""
    addresses = list(dict.fromkeys(account.emails))[:MAX_EMAIL_LOOKUPS]
    owners = await asyncio.gather(*(_email_owner(client, a) for a in addresses))
    found = [owner for owner in owners if owner is not None]
    message = linked_elsewhere_dm(account.name, user_id)
    for member in members_to_warn(found, team_id, user_id):
        try:
            await client.chat_postMessage(channel=member, **message.as_kwargs())
        except Exception:
            log.exception("Linked, but could not tell the owner of the Flexmls e-mail")


async def _check_user(client: AsyncWebClient, team_id: str, user_id: str) -> None:
    """`SlackUserRefused` unless Slack says `user_id` is a live member of `team_id` right now."""
    check_link_user(await _slack_user(client, user_id), team_id)


async def _form_fields(request: web.Request) -> tuple[str, str] | None:
    """(form_token, action) from a browser form post; None for any other body."""
    if request.content_type != FORM_CONTENT_TYPE:
        return None
    try:
        form = await request.post()
    except (ValueError, LookupError):  # undecodable bytes, an unknown charset
        return None
    token, action = form.get("form_token"), form.get("action")
    if not isinstance(token, str) or not isinstance(action, str):
        return None
    return token, action


class SignInPages:
    """The OAuth callback (GET: the confirmation page) and its form (POST: Link or Cancel)."""

    def __init__(self, services: Services, client: AsyncWebClient) -> None:
        self.services = services
        self.client = client
        self.pending = PendingLinks()

    async def callback(self, request: web.Request) -> web.Response:
        query = request.query
        state = query.get("state", "")
        if query.get("error"):
            with contextlib.suppress(StateRejected):
                claim_state(self.services, state)  # a refused sign-in still uses up its link
            return _page(False, "Flexmls wasn't connected", f"Nothing was stored. {AGAIN}")
        try:
            offer = await begin_oauth(self.services, self.pending, state, query.get("code", ""))
        except StateRejected as refusal:
            return _page(False, "This link can't be used", str(refusal), status=400)
        except RefreshFailed:
            return _page(
                False,
                "Flexmls didn't accept the sign-in",
                "The sign-in code was rejected. Run /activity connect in Slack again.",
                status=400,
            )
        except OAuthConfigError:
            log.error("Flexmls rejected our OAuth client credentials: check SPARK_CLIENT_ID/SECRET")
            return _page(
                False,
                "Flexmls sign-in is misconfigured",
                "Tell your Slack admin: the app's Flexmls client settings were rejected.",
                status=502,
            )
        except SparkError as error:
            log.warning("OAuth callback failed talking to Flexmls (%s)", type(error).__name__)
            return _page(
                False, "Couldn't reach Flexmls", f"Flexmls didn't answer. {AGAIN}", status=502
            )
        return _html(link_confirm_page(await _confirmation(self.services, self.client, offer)))

    async def decide(self, request: web.Request) -> web.Response:
        fields = await _form_fields(request)
        if fields is None or fields[1] not in ("Link", "Cancel"):
            return _page(
                False, "This page can't be used", f"Nothing was linked. {AGAIN}", status=400
            )
        token, action = fields
        if action == "Cancel":
            return self._cancel(token)
        return await self._link(token)

    def _cancel(self, token: str) -> web.Response:
        try:
            cancel_link(self.services, self.pending, token)
        except LinkRejected as refusal:
            return _page(False, "Nothing was linked", str(refusal), status=400)
        return _page(
            True, "Nothing was linked", "Flexmls was not connected. You can close this tab."
        )

    async def _link(self, token: str) -> web.Response:
        """Store the link, after checking the form, the Slack user (again) and the account."""
        services, client = self.services, self.client
        try:
            team_id, user_id = link_owner(services, self.pending, token)
        except LinkRejected as refusal:
            return _page(False, "Nothing was linked", str(refusal), status=400)
        try:
            await _check_user(client, team_id, user_id)
        except SlackUserRefused as refusal:
            with contextlib.suppress(LinkRejected):
                cancel_link(services, self.pending, token)  # the sign-in's tokens are dropped
            return _page(False, "This Slack account can't be linked", str(refusal), status=403)
        except Exception as error:  # Slack unreachable: the page still works in a minute
            log.warning("users.info failed at Link (%s)", type(error).__name__)
            return _page(False, "Couldn't check with Slack", SLACK_DOWN, status=503)
        is_new = newly_linked(services, team_id, user_id)
        try:
            link = confirm_link(services, self.pending, token)
        except AlreadyLinked as refusal:
            return _page(False, "Already linked to someone else", str(refusal), status=409)
        except LinkRejected as refusal:
            return _page(False, "Nothing was linked", str(refusal), status=400)
        await self._tell_linked(link, first_time=is_new(link.account.id))
        return _page(
            True,
            f"Connected as {link.account.name}",
            "You can close this tab and go back to Slack.",
        )

    async def _tell_linked(self, link: PendingLink, *, first_time: bool) -> None:
        """A DM to the person who linked; the e-mail's owner hears of a new account once."""
        try:
            await self.client.chat_postMessage(
                channel=link.user_id, **linked_dm(link.account.name).as_kwargs()
            )
        except Exception:
            log.exception("Linked, but could not DM the user")
        if first_time:
            await tell_email_owners(self.client, link.account, link.team_id, link.user_id)


def routes(services: Services, client: AsyncWebClient) -> list[web.RouteDef]:
    pages = SignInPages(services, client)
    # No HEAD: a HEAD request would run the callback and use up the state for nothing.
    return [
        web.get(CALLBACK_PATH, pages.callback, allow_head=False),
        web.post(CALLBACK_PATH, pages.decide),
    ]
