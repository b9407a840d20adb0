"""The picker (several contacts match) and the no-match reply."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activity.models import Candidates
from blocks import ContactPick, contact_picker, decode_contact_id, decode_pick, no_match
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    assert_no_formatting_from,
    assert_valid_message,
    block_types,
    buttons,
    make_contact,
)


def candidates(n: int, total: int | None = None, query: str = "jane doe") -> Candidates:
    contacts = tuple(
        make_contact(f"Jane Doe {i}", contact_id=f"C{i}", email=f"jane{i}@example.org")
        for i in range(1, n + 1)
    )
    return Candidates(query=query, contacts=contacts, total=n if total is None else total)


def test_typical_picker() -> None:
    message = contact_picker(
        Candidates(
            query="jane doe",
            contacts=(
                make_contact("Jane Doe", contact_id="C1"),
                make_contact("Jane Doe", contact_id="C2", email="jd@work.example", phone=None),
                make_contact("Jane Doe", contact_id="C3", email=None, phone=None),
            ),
            total=3,
        )
    )
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "3 contacts match “jane doe”"
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert [s["text"]["text"] for s in sections] == [
        "*Jane Doe*\njane@example.org · 303-555-0142",
        "*Jane Doe*\njd@work.example",
        "*Jane Doe*\n_no e-mail or phone on file_",
    ]
    assert [s["accessory"]["action_id"] for s in sections] == ["contact_pick"] * 3
    assert [decode_contact_id(s["accessory"]["value"]) for s in sections] == ["C1", "C2", "C3"]
    assert {s["accessory"]["text"]["text"] for s in sections} == {"Choose"}
    assert message.text == "3 contacts match “jane doe”: Jane Doe, Jane Doe, Jane Doe"


def test_twenty_five_candidates_fit_without_a_note() -> None:
    message = contact_picker(candidates(25))
    assert_valid_message(message)
    assert block_types(message) == ["header"] + ["section"] * 25
    assert len(buttons(message)) == 25


@pytest.mark.parametrize("n", [25, 26, 40])
def test_more_matches_than_shown(n: int) -> None:
    message = contact_picker(candidates(n, total=40))
    assert_valid_message(message)
    assert len(buttons(message)) == 25
    assert message.blocks[0]["text"]["text"] == "40 contacts match “jane doe”"
    assert message.blocks[-1]["elements"][0]["text"] == (
        "Showing 25 of 40: add a last name or e-mail to narrow it down"
    )


def test_one_candidate_is_singular() -> None:
    message = contact_picker(candidates(1))
    assert message.blocks[0]["text"]["text"] == "1 contact matches “jane doe”"


def test_long_query_is_cut_inside_the_quotes() -> None:
    message = contact_picker(candidates(2, query="q" * 5000))
    assert_valid_message(message)
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= 150
    assert header.startswith("2 contacts match “qqq") and header.endswith("…”")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_and_queries(name: str) -> None:
    contacts = (
        make_contact(name, contact_id="C1", email=name, phone=name),
        make_contact("Plain", contact_id="C2"),
    )
    message = contact_picker(Candidates(query=name, contacts=contacts, total=2))
    assert_valid_message(message)
    assert_no_formatting_from(name, message)


def test_contact_id_unfit_for_a_button_gets_no_button() -> None:
    bad = make_contact("Odd", contact_id="has space")
    message = contact_picker(Candidates("odd", (bad, make_contact(contact_id="C2")), 2))
    assert_valid_message(message)
    assert [decode_contact_id(b["value"]) for b in buttons(message)] == ["C2"]


@settings(max_examples=40, deadline=None)
@given(
    query=st.text(max_size=200),
    names=st.lists(st.text(max_size=200), min_size=1, max_size=30),
    extra=st.integers(min_value=0, max_value=1000),
)
def test_any_names_give_a_valid_picker(query: str, names: list[str], extra: int) -> None:
    contacts = tuple(make_contact(n, contact_id=f"C{i}") for i, n in enumerate(names))
    message = contact_picker(Candidates(query, contacts, len(contacts) + extra))
    assert_valid_message(message)


def test_no_match() -> None:
    message = no_match("jane doe")
    assert_valid_message(message)
    assert message.text == "No contact matches “jane doe”."
    tips = message.blocks[-1]["elements"][0]["text"]
    for tip in ("/activity jane", "e-mail", "phone number", "contact id"):
        assert tip in tips


@pytest.mark.parametrize("query", HOSTILE_NAMES)
def test_no_match_with_hostile_queries(query: str) -> None:
    message = no_match(query)
    assert_valid_message(message)
    assert_no_formatting_from(query, message)


# -- the picker keeps what the agent asked for (`/activity viewed jane`) ---------------------


@pytest.mark.parametrize(
    ("intent", "purpose"),
    [
        ("viewed", "Pick one to see the listings they viewed"),
        ("shared", "Pick one to see the listings shared with them"),
    ],
)
def test_a_picker_for_a_list_says_so_and_its_buttons_carry_the_intent(intent, purpose) -> None:
    message = contact_picker(candidates(3), intent=intent)
    assert_valid_message(message)
    assert block_types(message) == ["header", "context", "section", "section", "section"]
    assert message.blocks[1]["elements"][0]["text"] == purpose
    assert f"({purpose.lower()})" in message.text
    picks = [decode_pick(b["value"]) for b in buttons(message)]
    assert picks == [ContactPick(f"C{i}", intent) for i in (1, 2, 3)]
    assert [b["value"] for b in buttons(message)] == [f"p1|{intent}|C{i}" for i in (1, 2, 3)]


def test_a_plain_picker_still_sends_the_bare_contact_id() -> None:
    message = contact_picker(candidates(2))
    assert [b["value"] for b in buttons(message)] == ["C1", "C2"]
    assert [decode_pick(b["value"]) for b in buttons(message)] == [
        ContactPick("C1"),
        ContactPick("C2"),
    ]


def test_an_unknown_intent_is_refused() -> None:
    with pytest.raises(ValueError):
        contact_picker(candidates(2), intent="liked")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", HOSTILE_NAMES)
def test_hostile_names_in_a_picker_for_a_list(text: str) -> None:
    contacts = tuple(make_contact(text, contact_id=f"C{i}") for i in range(1, 26))
    message = contact_picker(Candidates(text, contacts, 40), intent="viewed")
    assert_valid_message(message)
    assert_no_formatting_from(text, message)


def test_no_match_offers_close_names_as_picker_buttons() -> None:
    close = [
        make_contact("Janet Doe", contact_id="C1"),
        make_contact("Jane Doerr", contact_id="C2"),
        make_contact("Jane Doe", contact_id="C3"),
        make_contact("Jan Dow", contact_id="C4"),  # a fourth is never shown
    ]
    message = no_match("janet dow", close)
    assert_valid_message(message)
    assert message.text == (
        "No contact matches “janet dow”. Did you mean Janet Doe, Jane Doerr or Jane Doe?"
    )
    offered = buttons(message)
    assert [b["text"]["text"] for b in offered] == ["Janet Doe", "Jane Doerr", "Jane Doe"]
    assert [decode_contact_id(b["value"]) for b in offered] == ["C1", "C2", "C3"]
    assert len({b["action_id"] for b in offered}) == 3
    assert all(b["action_id"].startswith("contact_pick:") for b in offered)
    assert block_types(message) == ["section", "section", "actions", "context"]


def test_no_match_with_one_suggestion_reads_naturally() -> None:
    message = no_match("zoe obrein", [make_contact("Zoë O'Brien", contact_id="C1")])
    assert message.text.endswith("Did you mean Zoë O'Brien?")


def test_no_match_skips_suggestions_whose_id_could_not_be_a_button() -> None:
    message = no_match("x", [make_contact("Forged", contact_id="../../etc")])
    assert_valid_message(message)
    assert buttons(message) == [] and "Did you mean" not in message.text


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_no_match_suggestions_with_hostile_names(name: str) -> None:
    message = no_match("q", [make_contact(name, contact_id="C1")])
    assert_valid_message(message)
    assert_no_formatting_from(name, message)


def test_did_you_mean_after_viewed_opens_the_viewed_listings() -> None:
    close = [make_contact("Janet Doe", contact_id="C1"), make_contact("Jane Doe", contact_id="C2")]
    message = no_match("janet dow", close, intent="viewed")
    assert_valid_message(message)
    assert [decode_pick(b["value"]) for b in buttons(message)] == [
        ContactPick("C1", "viewed"),
        ContactPick("C2", "viewed"),
    ]
