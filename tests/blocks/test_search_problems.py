"""The message for a kind of search the agent's Flexmls doesn't allow."""

import pytest

from blocks import search_unavailable
from spark.search import SearchUnavailable
from spark.sparkql import QueryKind
from tests.helpers.blocks import assert_valid_message


@pytest.mark.parametrize(
    ("kind", "words", "instead"),
    [
        (QueryKind.PHONE, "Searching by phone number isn't available", "name or e-mail"),
        (QueryKind.NAME, "Searching by name isn't available", "e-mail"),
        (QueryKind.EMAIL, "Searching by e-mail isn't available", "name"),
    ],
)
def test_search_unavailable_says_which_kind_and_what_to_try(kind, words, instead):
    message = search_unavailable(SearchUnavailable(kind, request_id="req-secret"))
    assert_valid_message(message)
    assert words in message.text and instead in message.text
    assert "req-secret" not in str(message.blocks) + message.text
