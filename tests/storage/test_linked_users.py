"""Which Slack users of a team are linked to a Flexmls account (the "already linked" check)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlite_utils import Database

from storage import Connection, TokenCipher, mark_broken, save_connection, users_linked_to

from .support import NOW

BLAKE, AVERY = "20170508184520217510000000", "20190311152147663820000000"


def connection(**changes: object) -> Connection:
    base = Connection(
        team_id="T1",
        user_id="U1",
        access_token="a",
        refresh_token="r",
        expires_at=NOW + timedelta(hours=1),
        spark_user_id=BLAKE,
        spark_user_name="Blake Broker",
        kind="oauth",
        status="ok",
        connected_at=NOW,
        updated_at=NOW,
    )
    return dataclasses.replace(base, **changes)


def test_nobody_is_linked_in_an_empty_database(db: Database) -> None:
    assert users_linked_to(db, "T1", BLAKE) == []


def test_linked_users_are_per_team_and_include_broken_connections(
    db: Database, cipher: TokenCipher
) -> None:
    save_connection(db, cipher, connection(user_id="U2"))
    save_connection(db, cipher, connection(user_id="U1"))
    save_connection(db, cipher, connection(user_id="U3", spark_user_id=AVERY))
    save_connection(db, cipher, connection(team_id="T2", user_id="U9"))
    mark_broken(db, "T1", "U2", NOW)
    assert users_linked_to(db, "T1", BLAKE) == ["U1", "U2"]
    assert users_linked_to(db, "T1", AVERY) == ["U3"]
    assert users_linked_to(db, "T2", BLAKE) == ["U9"]
    assert users_linked_to(db, "T3", BLAKE) == []


def test_a_connection_without_a_flexmls_id_matches_nothing(
    db: Database, cipher: TokenCipher
) -> None:
    save_connection(db, cipher, connection(spark_user_id=None))
    assert users_linked_to(db, "T1", "") == []
    assert users_linked_to(db, "T1", BLAKE) == []
