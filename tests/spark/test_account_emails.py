"""`/v1/my/account` e-mails: every address, the primary first, tolerant of odd shapes."""

from __future__ import annotations

import pytest

from spark.models import parse_account


def test_every_address_is_kept_with_the_primary_first() -> None:
    account = parse_account(
        {
            "Id": "A1",
            "Name": "Avery Agent",
            "Emails": [
                {"Address": "home@a.co", "Primary": False},
                {"Address": "office@a.co", "Primary": True},
                {"Address": "home@a.co"},
            ],
        }
    )
    assert account.emails == ("office@a.co", "home@a.co")
    assert account.email == "office@a.co"


@pytest.mark.parametrize(
    "emails",
    [
        None,
        "a@b.co",
        {"Address": "a@b.co"},
        [],
        [None, "a@b.co", {"Name": "x"}, {"Address": "********"}, {"Address": ["a@b.co"]}],
    ],
)
def test_missing_or_odd_emails_give_none(emails) -> None:
    account = parse_account({"Id": "A1", "Name": "Avery Agent", "Emails": emails})
    assert (account.emails, account.email) == ((), None)


def test_the_sandbox_account_has_its_email() -> None:
    from devtools.sandbox.data import Account as SandboxAccount

    record = SandboxAccount("A1", "Blake Broker", "blake.broker@example.com", "Mile High").to_json()
    assert parse_account(record).emails == ("blake.broker@example.com",)
