"""More generated contacts for benchmarks that need a big book (1,000 watched contacts): the
existing contacts keep their data, the new ones are readable like any other."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from devtools.sandbox import DEMO_ACCOUNT_ID, Brokerage, Sandbox, cached_brokerage
from devtools.sandbox.data import MORE_CONTACTS_MAX, with_more_contacts
from tests.helpers.sandbox import results

DAY = dt.date(2026, 3, 2)


def test_more_contacts_come_after_the_others_which_keep_their_data():
    base = cached_brokerage()
    more = with_more_contacts(base, DEMO_ACCOUNT_ID, 700)
    assert more.contacts[: len(base.contacts)] == base.contacts
    added = more.contacts[len(base.contacts) :]
    assert len(added) == 700 and {c.owner_id for c in added} == {DEMO_ACCOUNT_ID}
    for c in base.contacts[::37]:
        assert more.activity(c.id, DAY) == base.activity(c.id, DAY)
    names = [c.display_name for c in added]  # new names (the demo has namesakes on purpose)
    assert len(set(names)) == 700 and not set(names) & {c.display_name for c in base.contacts}
    emails = [c.primary_email for c in more.contacts if c.primary_email]
    assert len(set(emails)) == len(emails)
    assert len({c.id for c in more.contacts}) == len(more.contacts)
    assert more.contacts_for(DEMO_ACCOUNT_ID)[-700:] == added
    assert [more.activity(c.id, DAY) for c in added[:5]] == [
        with_more_contacts(base, DEMO_ACCOUNT_ID, 700).activity(c.id, DAY) for c in added[:5]
    ]  # the same every time


@pytest.mark.parametrize("count", [0, -1, MORE_CONTACTS_MAX + 1, "5", True, None])
def test_a_bad_count_is_refused(count):
    with pytest.raises(ValueError):
        with_more_contacts(cached_brokerage(), DEMO_ACCOUNT_ID, count)


async def test_the_admin_endpoint_adds_readable_contacts(
    client: httpx.AsyncClient, bare_client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    before: Brokerage = sandbox.state.brokerage
    made = await bare_client.post("/_sandbox/contacts", json={"count": 3})
    assert made.status_code == 201
    ids = made.json()["ids"]
    assert len(ids) == 3 and len(sandbox.state.brokerage.contacts) == len(before.contacts) + 3
    for contact_id in ids:
        rows = results(await client.get(f"/v1/contacts/{contact_id}/activity"))
        assert rows and "ListingsViewed" in rows[0]
    for body in ({"count": 0}, {"count": 2, "account_id": "nobody"}, {"bananas": 1}, [1]):
        refused = await bare_client.post("/_sandbox/contacts", json=body)
        assert refused.status_code == 400, body
    assert cached_brokerage() is before or len(cached_brokerage().contacts) == len(before.contacts)
