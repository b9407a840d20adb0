"""Flexmls misbehaving, through the sandbox's fault injection: a lookup, a page flip, a digest.

Every request ends in either the right answer or exactly one clear message (counted at the
response URL once the bot's work has settled): no traceback, no silence, no duplicate reply.
A digest pass that Flexmls breaks leaves the day undelivered, and a later pass posts it once;
contacts missed mid-pass are read again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

import activity.digests
from activity.digests import PassReport, run_pass, schedule_for, stored_digest
from devtools.sandbox import Sandbox
from devtools.slack_standin.messages import texts
from handlers.poster import SlackPoster
from storage import delivery, list_subscriptions, record_lookup
from tests.helpers.reliability import REFUSED, ReliabilityStack, oauth_connect
from tests.helpers.stack import OAUTH_ENV

AGENT = "U0AGENT1"
TEAM = "T0STANDIN"
SALES = "C0SALES"
DATA = "/v1/contacts*"  # every contact read (search, contact, activity, listings); not OAuth
ANSWER = "the right answer"

# What each clear message must say (a fragment of its text).
RATE = "rate-limiting"
DOWN = "isn't answering"
GARBLED = "didn't understand"
EXPIRED = "has expired"
INVALID = "isn't valid"
ROLE = "Private role"
RECONNECT = "/activity connect"


@dataclass(frozen=True)
class Fault:
    """One way Flexmls misbehaves and what the user must see, once or for good."""

    name: str
    rule: dict[str, Any] | None  # a sandbox fault rule (route/times added per test); None: refused
    once: str | None  # outcome when the fault happens once (None: no such case)
    always: str  # outcome when the fault persists
    oauth: bool = False  # the user connects their own account through OAuth first
    env: dict[str, str] = field(default_factory=dict)
    also: tuple[str, ...] = ()  # more fragments the message must carry

    def __str__(self) -> str:
        return self.name


FAULTS = [
    Fault("429-retry-after", {"kind": "rate_limit", "retry_after": 1}, ANSWER, RATE),
    Fault("503-1510", {"kind": "unavailable"}, ANSWER, DOWN),  # spark_api.md §9: 1550 is 429
    Fault("500", {"kind": "status", "status": 500}, ANSWER, DOWN),
    Fault("hang", {"kind": "hang", "delay_ms": 5000}, ANSWER, DOWN),
    Fault("refused", None, None, DOWN, env={"SPARK_API_URL": REFUSED}),
    Fault("malformed-json", {"kind": "malformed"}, GARBLED, GARBLED),
    Fault("no-D-envelope", {"kind": "no_envelope"}, GARBLED, GARBLED),
    Fault("401-1020", {"kind": "status", "status": 401, "code": 1020}, ANSWER, EXPIRED,
          oauth=True, env=OAUTH_ENV, also=(RECONNECT,)),
    # 1000 on an OAuth token: one refresh first (spark_api.md §9), so once is answered.
    Fault("401-1000", {"kind": "status", "status": 401, "code": 1000}, ANSWER, INVALID,
          oauth=True, env=OAUTH_ENV, also=(RECONNECT,)),
    Fault("403-1500", {"kind": "status", "status": 403, "code": 1500}, ROLE, ROLE),
]  # fmt: skip
BY_NAME = {fault.name: fault for fault in FAULTS}
CASES = [
    pytest.param(fault, times, id=f"{fault}-{'once' if times else 'always'}")
    for fault in FAULTS
    for times in (1, None)
    if times is None or fault.once is not None
]


@pytest.fixture
def bot_env(request) -> dict[str, str]:
    """The settings the test's `fault` needs (e.g. OAuth, or a Spark URL nobody answers)."""
    callspec = getattr(request.node, "callspec", None)
    fault = callspec.params.get("fault") if callspec is not None else None
    return fault.env if isinstance(fault, Fault) else {}


def refreshes(stack: ReliabilityStack) -> int:
    return sum(r.path in ("/openid/token", "/v1/oauth2/grant") for r in stack.sandbox.requests)


async def prepare(stack: ReliabilityStack, fault: Fault, times: int | None, route: str = DATA):
    """Connect the user if the fault needs it, then switch the fault on."""
    if fault.oauth:
        await oauth_connect(stack, AGENT)
    if fault.rule is not None:
        stack.sandbox.add_fault(**fault.rule, route=route, times=times)


def assert_one_clear_message(messages: list[dict[str, Any]], fault: Fault, expected: str) -> None:
    assert len(messages) == 1, [texts(m)[:120] for m in messages]
    body = texts(messages[0])
    assert expected in body, body
    for fragment in fault.also:
        assert fragment in body, body
    assert_no_internals(messages[0])
    assert messages[0].get("replace_original") is not True  # what the user was looking at stays


def assert_no_internals(message: dict[str, Any]) -> None:
    body = texts(message)
    for leak in (
        "Traceback",
        "Error(",
        "Exception",
        "127.0.0.1",
        "http://",
        "sbx-",
        "[request",
        "HTTP 5",
        "code 10",
    ):
        assert leak not in body, f"{leak!r} in {body!r}"


# -- a lookup: /activity <email> ----------------------------------------------------------------


@pytest.mark.parametrize(("fault", "times"), CASES)
async def test_a_lookup_ends_in_the_card_or_one_clear_message(stack, fault, times):
    janet = stack.contact("janet_doe")
    await prepare(stack, fault, times)
    before = refreshes(stack)
    sent = await stack.sender.command(janet.primary_email)
    assert sent.response.status_code == 200
    await stack.reply_to(sent.response_url, timeout=10)
    await stack.settle()
    messages = stack.responses(sent.response_url)
    expected = fault.once if times else fault.always
    if expected != ANSWER:
        assert_one_clear_message(messages, fault, expected)
        return
    assert len(messages) == 1, [texts(m)[:120] for m in messages]  # no notice for a short wait
    (card,) = messages
    assert card["blocks"][0]["text"]["text"] == janet.display_name
    assert janet.primary_email in texts(card) and "listings viewed" in texts(card)
    assert_no_internals(card)
    if fault.name == "401-1020":
        assert refreshes(stack) == before + 1  # refreshed once, then the request replayed


# -- a page flip: listings_page:next ------------------------------------------------------------


async def flip(stack: ReliabilityStack, cursor: str) -> tuple[str, list[dict[str, Any]]]:
    clicked = await stack.sender.action("listings_page:next", cursor)
    assert clicked.response.status_code == 200
    await stack.reply_to(clicked.response_url, timeout=10)
    await stack.settle()
    assert clicked.response_url is not None
    return clicked.response_url, stack.responses(clicked.response_url)


@pytest.mark.parametrize(("fault", "times"), CASES)
async def test_a_page_flip_ends_in_the_page_or_one_clear_message(stack, fault, times):
    heavy = stack.contact("heavy_viewer")
    cursor = f"v1|viewed|{heavy.id}|2"
    await prepare(stack, fault, times)
    before = refreshes(stack)
    _, messages = await flip(stack, cursor)
    expected = fault.once if times else fault.always
    if expected != ANSWER:
        assert_one_clear_message(messages, fault, expected)
        return
    assert len(messages) == 1, [texts(m)[:120] for m in messages]
    (page,) = messages
    assert page["replace_original"] is True
    assert "Page 2 of" in texts(page) and heavy.display_name in texts(page)
    assert_no_internals(page)
    if fault.name == "401-1020":
        assert refreshes(stack) == before + 1
    # The same click once Flexmls behaves renders exactly the same page.
    stack.sandbox.clear_faults()
    _, healthy = await flip(stack, cursor)
    assert healthy[0]["blocks"] == page["blocks"]


# -- the rate-limiting notice: only when the wait is noticeable -----------------------------------


def allow_waits(stack: ReliabilityStack, seconds: float) -> None:
    """Let the Spark client wait out a Retry-After of up to `seconds` (the fast policy won't)."""
    spark = stack.bot.services.spark
    spark.retry = dataclasses.replace(spark.retry, deadline=seconds + 1)


@pytest.mark.parametrize(("retry_after", "notice"), [(0, False), (1, False), (2, True)])
async def test_a_noticeable_rate_limit_wait_is_announced_once_then_answered(
    stack, retry_after, notice
):
    janet = stack.contact("janet_doe")
    allow_waits(stack, retry_after)
    stack.sandbox.add_fault(kind="rate_limit", route=DATA, retry_after=retry_after, times=1)
    sent = await stack.sender.command(janet.primary_email)
    await stack.reply_to(sent.response_url, timeout=10)
    await stack.settle()
    messages = stack.responses(sent.response_url)
    assert len(messages) == (2 if notice else 1), [texts(m)[:80] for m in messages]
    if notice:
        assert f"rate-limiting us, retrying in {retry_after} s" in texts(messages[0])
    assert messages[-1]["blocks"][0]["text"]["text"] == janet.display_name


async def test_a_page_flip_with_both_reads_rate_limited_announces_the_wait_once(stack):
    heavy = stack.contact("heavy_viewer")
    # The contact and the page are read concurrently; both wait 2 s on a 429.
    allow_waits(stack, 2)
    stack.sandbox.add_fault(kind="rate_limit", route=DATA, retry_after=2, times=2)
    _, messages = await flip(stack, f"v1|viewed|{heavy.id}|2")
    assert len(messages) == 2, [texts(m)[:80] for m in messages]
    notice, page = messages
    # The clicked page is the asker's own (ephemeral): the notice takes its place, then the page
    # takes the notice's (handlers.turn: one notice per turn, replaced by the answer).
    assert RATE in texts(notice) and notice["replace_original"] is True
    assert "Page 2 of" in texts(page) and page["replace_original"] is True
    assert stack.sandbox.stats["rate_limited"] == 2


# -- digests --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_resume(monkeypatch) -> None:
    """The pass pauses before re-reading contacts Flexmls failed on; 1 s is long for a test."""
    monkeypatch.setattr(activity.digests, "RESUME_AFTER_S", 0.05)


FOLLOWED = ("janet_doe", "heavy_viewer", "sean_obrien")
HOT_TAG = "tag:Hot Lead"


async def run_digests(stack: ReliabilityStack) -> PassReport:
    services = stack.bot.services
    return await run_pass(services, SlackPoster(stack.bot.bot_client, services))


def follow(stack: ReliabilityStack) -> list[str]:
    """The agent looked these contacts up yesterday: they are the "recent" digest's scope."""
    ids = []
    for name in FOLLOWED:
        contact = stack.contact(name)
        record_lookup(
            stack.bot.services.db,
            team_id=TEAM,
            user_id=AGENT,
            contact_id=contact.id,
            display_name=contact.display_name,
            query=contact.display_name,
            now=stack.clock() - dt.timedelta(days=1),
        )
        ids.append(contact.id)
    return ids


async def subscribe(stack: ReliabilityStack, scope: str = "recent") -> None:
    sent = await stack.sender.command(f"digest add <#{SALES}|sales> 08:00 {scope}")
    reply = await stack.reply_to(sent.response_url)
    assert "<#C0SALES>" in texts(reply), texts(reply)


def posted(stack: ReliabilityStack) -> list[dict[str, Any]]:
    """Digests Slack accepted in the channel."""
    return [
        r.body
        for r in stack.slack.calls("chat.postMessage")
        if r.body.get("channel") == SALES and r.ok
    ]


def dms(stack: ReliabilityStack) -> list[dict[str, Any]]:
    return [r.body for r in stack.slack.calls("chat.postMessage") if r.body.get("channel") == AGENT]


def day_state(stack: ReliabilityStack) -> str | None:
    """Today's delivery as "state/outcome" (e.g. "delivered/posted"), None if there is none."""
    services = stack.bot.services
    (subscription,) = list_subscriptions(services.db, TEAM)
    local_date, _ = schedule_for(subscription, stack.clock())
    record = delivery(services.db, subscription.id, local_date)
    return None if record is None else f"{record.state}/{record.outcome}"


def delivered_ids(stack: ReliabilityStack) -> set[str]:
    """The contacts in today's digest as posted (what "More" pages through)."""
    services = stack.bot.services
    (subscription,) = list_subscriptions(services.db, TEAM)
    local_date, _ = schedule_for(subscription, stack.clock())
    digest = stored_digest(services, subscription, local_date)
    assert digest is not None, "no digest was posted today"
    return {entry.contact_id for entry in digest.entries}


@pytest.mark.parametrize(
    "fault",
    [pytest.param(f, id=f.name) for f in FAULTS if f.rule and not f.oauth and f.once != ROLE],
)
async def test_a_one_off_fault_on_one_contact_still_posts_the_digest_once(stack, fault):
    ids = follow(stack)
    await subscribe(stack)
    stack.sandbox.add_fault(**fault.rule, route=f"/v1/contacts/{ids[0]}/activity", times=1)
    report = await run_digests(stack)
    assert report.posted == 1, report.summary()
    (digest,) = posted(stack)
    body = texts(digest)
    assert "Traceback" not in body
    if fault.once == ANSWER:  # retried: nobody is missing
        assert report.failed_contacts == 0 and "could not be read" not in body, body
        assert delivered_ids(stack) == set(ids)
    else:  # not retryable: the gap is said, not hidden
        assert report.failed_contacts == 1 and "1 contact could not be read" in body, body
    assert (await run_digests(stack)).posted == 0 and len(posted(stack)) == 1
    assert dms(stack) == []


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("unavailable", {}),
        ("status", {"status": 500}),
        ("rate_limit", {"retry_after": 0}),
        ("hang", {"delay_ms": 5000}),
    ],
)
async def test_contacts_missed_mid_pass_are_read_again(stack, kind, extra):
    ids = follow(stack)
    await subscribe(stack)
    # Every attempt of the first round fails for one contact; the re-read succeeds.
    route = f"/v1/contacts/{ids[1]}/activity"
    rule = stack.sandbox.add_fault(
        kind=kind, route=route, times=stack.bot.services.spark.retry.attempts, **extra
    )
    report = await run_digests(stack)
    assert rule.remaining == 0  # the first round really did miss the contact
    assert report.posted == 1 and report.failed_contacts == 0, report.summary()
    reads = [r for r in stack.sandbox.requests if r.path == route]
    assert len(reads) == stack.bot.services.spark.retry.attempts + 1
    assert delivered_ids(stack) == set(ids) and len(posted(stack)) == 1


PASS_BREAKERS = [pytest.param(f, id=f.name) for f in FAULTS if not f.oauth and f.name != "403-1500"]


async def flexmls_comes_back(stack: ReliabilityStack, fault: Fault) -> Sandbox | None:
    """End the fault: clear the rule, or start Flexmls on the port that refused connections."""
    if fault.rule is not None:
        stack.sandbox.clear_faults()
        return None
    port = int(stack.bot.services.settings.spark_api_url.rsplit(":", 1)[1])
    revived = Sandbox("127.0.0.1", port, clock=stack.clock)
    await revived.start()
    return revived


@pytest.mark.parametrize("fault", PASS_BREAKERS)
async def test_a_fault_that_breaks_the_pass_leaves_the_day_to_a_later_pass(stack, fault):
    await subscribe(stack, HOT_TAG)  # the pass must list the tagged contacts first
    if fault.rule is not None:
        stack.sandbox.add_fault(**fault.rule, route="/v1/contacts/tags/*", times=None)
    report = await run_digests(stack)
    assert report.posted == 0 and report.retry_later == 1, report.summary()
    assert posted(stack) == [] and dms(stack) == []
    assert day_state(stack) in (None, "claimed/None")  # neither delivered nor skipped
    revived = await flexmls_comes_back(stack, fault)
    try:
        stack.clock.advance(minutes=1)
        report = await run_digests(stack)
        assert report.posted == 1 and report.failed_contacts == 0, report.summary()
        assert report.contacts > 25  # more than one page of tagged contacts
        assert (await run_digests(stack)).posted == 0
    finally:
        if revived is not None:
            await revived.stop()
    assert len(posted(stack)) == 1 and dms(stack) == []
    assert day_state(stack) == "delivered/posted"


@pytest.mark.parametrize("fault", PASS_BREAKERS)
async def test_a_fault_on_every_contact_leaves_the_day_to_a_later_pass(stack, fault):
    follow(stack)
    await subscribe(stack)  # "recent": the scope comes from our own database, not Flexmls
    if fault.rule is not None:
        stack.sandbox.add_fault(**fault.rule, route="/v1/contacts/*/activity", times=None)
    report = await run_digests(stack)
    assert posted(stack) == [], texts(posted(stack)[0])  # an empty digest hides the outage
    assert report.posted == 0 and report.retry_later == 1, report.summary()
    assert day_state(stack) in (None, "claimed/None")
    revived = await flexmls_comes_back(stack, fault)
    try:
        stack.clock.advance(minutes=1)
        report = await run_digests(stack)
        assert report.posted == 1 and report.contacts == len(FOLLOWED), report.summary()
        assert delivered_ids(stack) == {stack.contact(name).id for name in FOLLOWED}
        assert (await run_digests(stack)).posted == 0
    finally:
        if revived is not None:
            await revived.stop()
    assert len(posted(stack)) == 1 and dms(stack) == []


@pytest.mark.parametrize("fault", [BY_NAME["401-1020"]], ids=str)
async def test_an_expired_token_mid_pass_is_refreshed_and_the_digest_posts_once(stack, fault):
    await oauth_connect(stack, AGENT)
    ids = follow(stack)
    await subscribe(stack)
    before, dms_before = refreshes(stack), len(dms(stack))
    stack.sandbox.add_fault(**fault.rule, route=f"/v1/contacts/{ids[2]}/activity", times=1)
    report = await run_digests(stack)
    assert report.posted == 1 and report.contacts == 3 and report.failed_contacts == 0, (
        report.summary()
    )
    assert refreshes(stack) == before + 1
    assert len(posted(stack)) == 1 and len(dms(stack)) == dms_before
    assert delivered_ids(stack) == set(ids)


@pytest.mark.parametrize("fault", [BY_NAME["401-1020"], BY_NAME["401-1000"]], ids=str)
async def test_dead_access_skips_the_day_with_one_reconnect_dm(stack, fault):
    await oauth_connect(stack, AGENT)
    follow(stack)
    await subscribe(stack)
    stack.sandbox.add_fault(**fault.rule, route=DATA, times=None)
    dms_before = len(dms(stack))  # connecting sent a "connected" DM
    report = await run_digests(stack)
    assert report.posted == 0 and report.skipped == 1, report.summary()
    assert posted(stack) == []
    (dm,) = dms(stack)[dms_before:]
    assert RECONNECT in texts(dm) and "<#C0SALES>" in texts(dm)
    assert day_state(stack) == "delivered/skipped"
    stack.clock.advance(minutes=5)
    assert (await run_digests(stack)).due == 0  # told once, not every minute
    assert len(dms(stack)) == dms_before + 1


@pytest.mark.parametrize("fault", [BY_NAME["403-1500"]], ids=str)
async def test_a_key_without_the_private_role_skips_the_day_with_a_role_dm(stack, fault):
    follow(stack)
    await subscribe(stack)
    stack.sandbox.add_fault(**fault.rule, route=DATA, times=None)
    report = await run_digests(stack)
    assert report.posted == 0 and posted(stack) == [], report.summary()
    (dm,) = dms(stack)
    assert ROLE in texts(dm), texts(dm)
