"""Who is asking: the installed team's members, guests, and people from other organisations."""

from __future__ import annotations

import pytest

from handlers.people import (
    People,
    Person,
    asker_of,
    is_foreign,
    person_from_user,
    request_teams,
    time_zone,
)


@pytest.mark.parametrize(
    ("teams", "foreign"),
    [
        (["T1", None, "T1"], False),
        ([None, None], False),
        (["T1", "T2"], True),
        (["T2"], True),
    ],
)
def test_is_foreign(teams, foreign):
    assert is_foreign("T1", teams) is foreign


def test_without_an_installed_team_nothing_is_called_foreign():
    assert is_foreign("", ["T2"]) is False


def test_request_teams_reads_every_place_slack_puts_one():
    body = {
        "team_id": "A",
        "user_team": "B",
        "team": {"id": "C"},
        "user": {"id": "U1", "team_id": "D"},
        "event": {"type": "app_mention", "user_team": "E", "source_team": "G", "team": "F"},
    }
    assert request_teams(body) == ["A", "B", "C", "D", "E", "G", "F"]
    dm = {"event": {"type": "message", "channel_type": "im", "team": "T0OUTSIDE"}}
    assert "T0OUTSIDE" in request_teams(dm)  # a DM's own team counts too


def test_request_teams_tolerates_odd_shapes():
    assert set(request_teams({"team": "x", "user": ["y"], "event": 3, "team_id": 7})) == {None}


@pytest.mark.parametrize(
    ("user", "guest"),
    [
        ({"id": "U1", "team_id": "T1"}, False),
        ({"id": "U1", "team_id": "T1", "is_restricted": True}, True),
        ({"id": "U1", "team_id": "T1", "is_ultra_restricted": True}, True),
    ],
)
def test_person_from_user(user, guest):
    person = person_from_user(user)
    assert person.guest is guest and person.team_id == "T1"


def test_a_request_the_gate_did_not_see_counts_as_a_strangers():
    assert asker_of({}).stranger is True


class FakeClient:
    """Stands in for AsyncWebClient.users_info: counts calls, answers or raises."""

    def __init__(self, answer: dict | Exception) -> None:
        self.answer = answer
        self.calls = 0

    async def users_info(self, *, user: str) -> dict:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"ok": True, "user": {"id": user, **self.answer}}


async def test_people_are_asked_about_once_and_cached():
    client = FakeClient({"team_id": "T1", "is_restricted": True})
    people = People()
    first = await people.get(client, "U1")  # type: ignore[arg-type]
    second = await people.get(client, "U1")  # type: ignore[arg-type]
    assert first == second and first.guest and client.calls == 1


async def test_when_slack_fails_the_person_is_treated_as_a_guest_and_not_cached():
    client = FakeClient(TimeoutError())
    people = People()
    person = await people.get(client, "U1")  # type: ignore[arg-type]
    assert person.guest and not person.known
    client.answer = {"team_id": "T1"}
    assert (await people.get(client, "U1")).guest is False  # type: ignore[arg-type]
    assert client.calls == 2


async def test_without_a_client_nobody_is_trusted():
    assert (await People().get(None, "U1")).guest is True


@pytest.mark.parametrize(
    ("user", "outsider", "member"),
    [
        ({"id": "U1", "team_id": "T1"}, False, True),
        ({"id": "U1", "team_id": "T2"}, True, False),
        ({"id": "U1", "team_id": "T1", "is_stranger": True}, True, False),
        ({"id": "U1", "team_id": "T1", "deleted": True}, True, False),
        ({"id": "U1", "team_id": "T1", "is_restricted": True}, False, False),
        ({"id": "U1"}, False, False),  # Slack didn't say which team: not certainly a member
        ({"id": "U1", "team_id": None}, False, False),
    ],
)
def test_outsiders_and_members(user, outsider, member):
    person = person_from_user(user)
    assert person.outsider("T1") is outsider
    assert person.member_of("T1") is member


def test_an_unknown_person_is_never_a_member():
    assert Person("U1", "T1", guest=False, known=False).member_of("T1") is False


def test_without_an_installed_team_nobody_is_certainly_a_member():
    assert person_from_user({"id": "U1", "team_id": "T1"}).member_of("") is False


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("America/Denver", "America/Denver"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        (None, "UTC"),
        ("", "UTC"),
        ("Mars/Olympus_Mons", "UTC"),
        ("../../etc/passwd", "UTC"),
        ("localtime", "UTC"),
        (" America/Denver", "UTC"),
        (7, "UTC"),
        ("A" * 200, "UTC"),
    ],
)
def test_the_time_zone_comes_from_users_info_or_falls_back_to_utc(tz, expected):
    user = {"id": "U1", "team_id": "T1"} | ({} if tz is None else {"tz": tz})
    assert person_from_user(user).tz == expected
    assert time_zone(tz) == expected


async def test_an_unknown_person_is_in_utc():
    assert (await People().get(None, "U1")).tz == "UTC"
