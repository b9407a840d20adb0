"""OAuth link hijack ("Trust", item 1): a connect link forwarded to someone else.

Agent A asks for a connect link and sends it to agent V; V signs in at Flexmls as Blake Broker.
Before the fix the callback stored V's tokens under A at once. Now the callback stores nothing
and shows a page naming the Slack user (A) the account would be linked to; only a "Link" POST
with the page's one-time signed form token stores it, and A is told by DM.

Name spoofing: A copies V's real and display name, so a page naming "Val Victim (@val)" would
fool V. The page names the Slack user by the unique @name and user id, compares the Slack and
Flexmls e-mails (warning unless they match), "Link" re-checks the user with Slack, and the
Slack member whose e-mail the Flexmls account has is told by DM. Pasted tokens can't take a
Flexmls account another member has linked either.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from html.parser import HTMLParser

import httpx
import pytest

from devtools.sandbox import DEMO_ACCOUNT_ID, SECOND_ACCOUNT_ID, SECOND_AGENT_TOKEN
from devtools.slack_standin.messages import texts
from storage import get_connection
from tests.helpers.connect import paste_and_wait
from tests.helpers.stack import OAUTH_ENV, button

pytestmark = pytest.mark.parametrize("bot_env", [OAUTH_ENV])

TEAM = "T0STANDIN"
ASKER, VICTIM, HOLDER = "U0ASKER", "U0VICTIM", "U0HOLDER"  # A, V, and B who already has a link
FORM = "application/x-www-form-urlencoded"


class ConfirmForms(HTMLParser):
    """The forms on the confirmation page: {button value: (action, form_token)}."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, tuple[str, str]] = {}
        self._action = self._token = ""
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            assert values.get("method") == "post"
            self._action, self._token = values.get("action", ""), ""
        elif tag == "input" and values.get("name") == "form_token":
            self._token = values.get("value", "")
        elif tag == "button" and values.get("name") == "action":
            self.forms[values["value"]] = (self._action, self._token)


@pytest.fixture
def people(stack):
    """Three Slack users the stand-in knows, with real names and handles."""
    stack.slack.set_user(ASKER, real_name="Ada Asker", name="ada")
    stack.slack.set_user(VICTIM, real_name="Val Victim", name="val")
    stack.slack.set_user(HOLDER, real_name="Hal Holder", name="hal")


def connection(stack, user_id: str):
    services = stack.bot.services
    return get_connection(services.db, services.cipher, TEAM, user_id)


def dms_to(stack, user_id: str) -> list[dict]:
    return [r.body for r in stack.slack.calls("chat.postMessage") if r.body["channel"] == user_id]


async def connect_url(stack, user_id: str) -> str:
    reply = await stack.reply_to(
        (await stack.sender.command("connect", user_id=user_id)).response_url
    )
    return button(reply, "connect_oauth")["url"]


async def sign_in(stack, link: str, account_id: str = SECOND_ACCOUNT_ID) -> httpx.Response:
    """Whoever holds `link` signs in at Flexmls as `account_id` and lands on our callback."""
    async with httpx.AsyncClient() as http:
        authorize = await http.get(
            link + "&" + urllib.parse.urlencode({"sandbox_account": account_id})
        )
        assert authorize.status_code == 302
        return await http.get(authorize.headers["location"])


async def forwarded_sign_in(stack, account_id: str = SECOND_ACCOUNT_ID) -> httpx.Response:
    """A asks for a link and forwards it; V opens it and signs in at Flexmls: nothing stored yet."""
    before = connection(stack, ASKER)
    page = await sign_in(stack, await connect_url(stack, ASKER), account_id)
    assert connection(stack, ASKER) == before, "the callback linked the sign-in without asking"
    return page


def form_of(page: httpx.Response, choice: str = "Link") -> tuple[str, str]:
    forms = ConfirmForms(page.text).forms
    assert choice in forms, f"no {choice!r} form on the page: {page.text[:300]}"
    return forms[choice]


async def post(stack, path: str, body: str | bytes, content_type: str = FORM) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            urllib.parse.urljoin(stack.bot.url, path),
            content=body,
            headers={"Content-Type": content_type},
        )


async def choose(stack, page: httpx.Response, choice: str, token: str | None = None):
    path, real_token = form_of(page, choice)
    body = urllib.parse.urlencode(
        {"form_token": real_token if token is None else token, "action": choice}
    )
    return await post(stack, path, body)


async def test_the_callback_stores_nothing_and_names_who_would_be_linked(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    assert page.status_code == 200
    assert connection(stack, ASKER) is None
    assert dms_to(stack, ASKER) == []
    text = page.text
    assert "@ada (U0ASKER)" in text  # the Slack user it would be linked to
    assert "Blake Broker" in text  # the Flexmls account that signed in
    assert "Stand-in Workspace" in text  # auth.test's name: team.info isn't granted here
    assert set(ConfirmForms(text).forms) == {"Link", "Cancel"}
    assert form_of(page)[0] == "/spark/oauth/callback"


async def test_cancel_stores_nothing_and_uses_up_the_page(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    cancelled = await choose(stack, page, "Cancel")
    assert cancelled.status_code == 200 and "Nothing was linked" in cancelled.text
    assert connection(stack, ASKER) is None
    late_link = await choose(stack, page, "Link")  # the tokens were discarded on Cancel
    assert late_link.status_code == 400
    assert connection(stack, ASKER) is None and dms_to(stack, ASKER) == []


async def test_link_stores_under_the_slack_user_and_tells_them(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    linked = await choose(stack, page, "Link")
    assert linked.status_code == 200 and "Connected as Blake Broker" in linked.text
    stored = connection(stack, ASKER)
    assert stored.spark_user_id == SECOND_ACCOUNT_ID and stored.kind == "oauth"
    dm = await stack.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == ASKER
    )
    assert "Blake Broker" in texts(dm.body) and "/activity disconnect" in texts(dm.body)
    assert "wasn't you" in dm.body["text"]


def _tampered(token: str) -> list[str]:
    body, _, signature = token.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields[2] = VICTIM  # same pending sign-in, someone else's Slack user
    other = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return [
        "",
        "junk",
        ".",
        f"{body}.",
        f"{body}.{flipped}",
        f"{other}.{signature}",
        f"{body}.{signature}x",
        token + "." + signature,
    ]


async def test_a_forged_form_token_is_refused(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    _, token = form_of(page)
    for forged in _tampered(token):
        refused = await choose(stack, page, "Link", token=forged)
        assert refused.status_code == 400, forged
        assert "isn't valid" in html.unescape(refused.text)
    assert connection(stack, ASKER) is None and connection(stack, VICTIM) is None
    # None of it used up the real page.
    assert (await choose(stack, page, "Link")).status_code == 200


async def test_a_replayed_form_token_is_refused(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    assert (await choose(stack, page, "Link")).status_code == 200
    first = connection(stack, ASKER)
    await stack.slack.wait_for(lambda r: r.method == "chat.postMessage")
    stack.clock.advance(seconds=30)
    again = await choose(stack, page, "Link")
    assert again.status_code == 400 and "already used" in again.text
    assert connection(stack, ASKER).updated_at == first.updated_at
    assert len(dms_to(stack, ASKER)) == 1


async def test_an_expired_form_token_is_refused(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    stack.clock.advance(minutes=11)
    late = await choose(stack, page, "Link")
    assert late.status_code == 400 and "expired" in late.text
    assert connection(stack, ASKER) is None and dms_to(stack, ASKER) == []


JUNK = [
    ("", FORM),
    ("action=Link", FORM),
    ("form_token=abc", FORM),
    ("form_token=abc&action=Link", FORM),
    ("form_token=abc&action=Delete", FORM),
    (b"\xff\xfe\x00\x81form_token=\xc3&action=Link", FORM),
    ("form_token=abc&action=Link", f"{FORM}; charset=klingon"),
    ('{"form_token": "abc", "action": "Link"}', "application/json"),
    ("--x\r\nContent-Disposition: form-data; name=action\r\n\r\nLink\r\n--", "multipart/form-data; boundary=x"),
    ("%%%&&&===", FORM),
    ("a" * 200_000, FORM),
]  # fmt: skip


async def test_junk_posts_get_a_clear_400_and_store_nothing(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    path, _ = form_of(page)
    for body, content_type in JUNK:
        answer = await post(stack, path, body, content_type)
        assert answer.status_code == 400, (body[:40], content_type, answer.status_code)
        assert "Nothing was linked" in answer.text
        assert answer.headers["cache-control"] == "no-store"
    assert connection(stack, ASKER) is None
    assert (await choose(stack, page, "Link")).status_code == 200  # the real page still works


async def test_an_account_linked_to_another_user_is_refused(stack, bot_env, people):
    holder_page = await sign_in(stack, await connect_url(stack, HOLDER))
    assert (await choose(stack, holder_page, "Link")).status_code == 200
    held = connection(stack, HOLDER)
    await stack.slack.wait_for(lambda r: r.method == "chat.postMessage")
    page = await forwarded_sign_in(stack)  # V signs in with the same Flexmls account
    refused = await choose(stack, page, "Link")
    assert refused.status_code == 409 and "already linked" in refused.text
    assert connection(stack, ASKER) is None and dms_to(stack, ASKER) == []
    still = connection(stack, HOLDER)
    assert (still.access_token, still.refresh_token, still.spark_user_id, still.updated_at) == (
        held.access_token,
        held.refresh_token,
        SECOND_ACCOUNT_ID,
        held.updated_at,
    )
    # Another Flexmls account for A is fine, and so is B linking its own account again.
    other = await forwarded_sign_in(stack, DEMO_ACCOUNT_ID)
    assert (await choose(stack, other, "Link")).status_code == 200
    again = await sign_in(stack, await connect_url(stack, HOLDER))
    assert (await choose(stack, again, "Link")).status_code == 200


async def test_the_confirmation_page_cannot_be_cached_framed_or_scripted(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    headers = page.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    csp = headers["content-security-policy"]
    for directive in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in csp
    assert "script" not in csp and "<script" not in page.text.lower()


async def test_hostile_slack_names_are_escaped_on_the_page(stack, bot_env, people):
    stack.slack.set_user(
        ASKER,
        real_name="<script>alert(1)</script>",
        name='"><img src=x>',
        profile={"email": "<script>@x.co"},
    )
    page = await forwarded_sign_in(stack)
    assert "<script" not in page.text and "<img" not in page.text
    assert "@&quot;&gt;&lt;img src=x&gt;" in page.text
    assert "&lt;•••@x.co" in page.text
    assert set(ConfirmForms(page.text).forms) == {"Link", "Cancel"}


async def test_the_workspace_name_comes_from_team_info_when_slack_allows(stack, bot_env, people):
    stack.slack.add_method(
        "team.info", lambda body: {"team": {"id": TEAM, "name": "Mile High <b>"}}
    )
    page = await forwarded_sign_in(stack)
    assert "Mile High &lt;b&gt;" in page.text


# --------------------------------------------------------------------------------------------
# Name spoofing: A dresses up as V

BLAKE_EMAIL = "blake.broker@example.com"  # the sandbox's e-mail for Blake Broker's account
WARNING = "Press Link only if you asked for this link yourself, in Slack, signed in as @ada."
SAME = "✓ The same e-mail is on this Slack account and this Flexmls account."


def dressed_as_victim(stack, email: str | None = "ada@brokerage.example") -> None:
    """A copies V's real and display name; only the unique `name` (and the id) stay A's."""
    profile = {"real_name": "Val Victim", "display_name": "val"}
    if email is not None:
        profile["email"] = email
    stack.slack.set_user(ASKER, real_name="Val Victim", name="ada", profile=profile)
    stack.slack.set_user(
        VICTIM,
        real_name="Val Victim",
        name="val",
        profile={"display_name": "val", "email": BLAKE_EMAIL},
    )


@pytest.mark.parametrize("asker_email", ["ada@brokerage.example", None])
async def test_a_copied_name_does_not_pass_for_the_victim(stack, bot_env, people, asker_email):
    dressed_as_victim(stack, asker_email)
    page = await forwarded_sign_in(stack)  # V opens A's link and signs in as Blake (V's account)
    text = html.unescape(page.text)
    assert "@ada (U0ASKER)" in text  # what A can't copy: the unique @name and the user id
    assert "Val Victim" not in text and "@val" not in text
    assert "b•••@example.com" in text and BLAKE_EMAIL not in text
    assert ("a•••@brokerage.example" in text) == (asker_email is not None)
    assert WARNING in text and SAME not in text
    assert text.index(WARNING) < text.index('value="Link"')


async def test_the_same_email_on_both_accounts_gets_the_check_line(stack, bot_env, people):
    stack.slack.set_user(
        ASKER, real_name="Ada Asker", name="ada", profile={"email": "Blake.Broker@EXAMPLE.com"}
    )
    page = await forwarded_sign_in(stack)
    text = html.unescape(page.text)
    assert SAME in text and "Press Link only if" not in text


async def test_the_emails_owner_is_told_once_when_someone_else_links_their_account(
    stack, bot_env, people
):
    dressed_as_victim(stack)
    page = await forwarded_sign_in(stack)
    assert (await choose(stack, page, "Link")).status_code == 200  # V was fooled anyway
    assert connection(stack, ASKER).spark_user_id == SECOND_ACCOUNT_ID
    warned = await stack.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == VICTIM
    )
    words = texts(warned.body)
    assert "Blake Broker" in words and f"<@{ASKER}>" in words
    assert "workspace admin" in warned.body["text"] and "/activity disconnect" in words
    await stack.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == ASKER
    )
    replay = await choose(stack, page, "Link")
    assert replay.status_code == 400
    assert len(dms_to(stack, VICTIM)) == 1 and len(dms_to(stack, HOLDER)) == 0
    assert [c.body["email"] for c in stack.slack.calls("users.lookupByEmail")] == [BLAKE_EMAIL]


async def test_linking_your_own_account_warns_nobody(stack, bot_env, people):
    stack.slack.set_user(ASKER, real_name="Ada Asker", name="ada", profile={"email": BLAKE_EMAIL})
    page = await forwarded_sign_in(stack)
    assert (await choose(stack, page, "Link")).status_code == 200
    await stack.slack.wait_for(lambda r: r.method == "users.lookupByEmail")
    await stack.slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert [r.body["channel"] for r in stack.slack.calls("chat.postMessage")] == [ASKER]


@pytest.mark.parametrize(
    "change",
    [{"deleted": True}, {"is_stranger": True}, {"team_id": "T0ELSEWHERE"}],
    ids=["deleted", "stranger", "other-team"],
)
async def test_link_is_refused_when_the_slack_user_is_no_longer_a_member(
    stack, bot_env, people, change
):
    page = await forwarded_sign_in(stack)
    stack.slack.set_user(ASKER, **change)  # deactivated / turned out foreign after the page
    refused = await choose(stack, page, "Link")
    assert refused.status_code == 403
    assert "can't be linked" in html.unescape(refused.text) and "nothing" in refused.text.lower()
    assert refused.headers["cache-control"] == "no-store"
    assert connection(stack, ASKER) is None
    assert stack.slack.calls("chat.postMessage") == []
    stack.slack.set_user(ASKER, deleted=False, is_stranger=False, team_id=TEAM)
    again = await choose(stack, page, "Link")  # the refused sign-in's tokens were dropped
    assert again.status_code == 400 and connection(stack, ASKER) is None


async def test_link_is_refused_when_slack_no_longer_knows_the_user(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    stack.slack.add_method("users.info", lambda body: {"ok": False, "error": "user_not_found"})
    refused = await choose(stack, page, "Link")
    assert refused.status_code == 403 and connection(stack, ASKER) is None


async def test_link_waits_when_slack_cannot_be_asked(stack, bot_env, people):
    page = await forwarded_sign_in(stack)
    stack.slack.add_method("users.info", lambda body: {"ok": False, "error": "ratelimited"})
    later = await choose(stack, page, "Link")
    assert later.status_code == 503 and connection(stack, ASKER) is None
    stack.slack.add_method(
        "users.info",
        lambda body: {"user": {"id": ASKER, "team_id": TEAM, "name": "ada", "deleted": False}},
    )
    assert (await choose(stack, page, "Link")).status_code == 200  # the page still works


async def test_a_pasted_token_cannot_take_an_account_another_member_linked(stack, bot_env, people):
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, HOLDER)  # Blake Broker, for Hal
    held = connection(stack, HOLDER)
    assert held.spark_user_id == SECOND_ACCOUNT_ID
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, ASKER)  # A pastes the same account's token
    updated = stack.slack.calls("views.update")[-1].body["view"]
    assert "already linked to another Slack user" in json.dumps(updated)
    assert updated["callback_id"] == "connect_token"  # the form again, with the error
    assert connection(stack, ASKER) is None and connection(stack, HOLDER) == held
    assert dms_to(stack, ASKER) == []


@pytest.mark.parametrize(
    "query", ["state=abc.%C3%A9&code=x", "error=x&state=abc.%C3%A9", "state=%C3%A9.%C3%A9"]
)
async def test_a_non_ascii_state_is_refused_not_a_500(stack, bot_env, query):
    async with httpx.AsyncClient() as http:
        page = await http.get(f"{stack.bot.url}/spark/oauth/callback?{query}")
    assert page.status_code in (200, 400)
    assert page.headers["cache-control"] == "no-store"


async def test_a_pasted_token_tells_the_emails_owner_too(stack, bot_env, people):
    dressed_as_victim(stack)
    await paste_and_wait(stack, SECOND_AGENT_TOKEN, ASKER)  # Blake Broker's token, pasted by A
    assert connection(stack, ASKER).spark_user_id == SECOND_ACCOUNT_ID
    warned = await stack.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == VICTIM
    )
    assert f"<@{ASKER}>" in texts(warned.body)


async def test_relinking_the_same_account_warns_the_owner_only_once(stack, bot_env, people):
    dressed_as_victim(stack)
    for _ in range(3):
        page = await forwarded_sign_in(stack)
        assert (await choose(stack, page, "Link")).status_code == 200
    await stack.slack.wait_for_count(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == ASKER, 3
    )
    assert len(dms_to(stack, VICTIM)) == 1
