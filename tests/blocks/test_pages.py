"""The HTML page the browser shows at the end of the Flexmls sign-in."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from blocks import oauth_result_page
from blocks.text import clean
from tests.helpers.blocks import HOSTILE_NAMES

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "div", "h1", "p"}


class Page(HTMLParser):
    """What a browser would see: tags with their attributes, and the text of each element."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag != "meta":
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.text.setdefault(self._open[-1], []).append(data.strip())

    def metas(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == "meta"]


def test_success_page() -> None:
    source = oauth_result_page(
        ok=True,
        title="Connected as Avery Agent",
        detail="You can close this tab and go back to Slack.",
    )
    assert source.startswith("<!doctype html>")
    page = Page(source)
    metas = page.metas()
    assert {"charset": "utf-8"} in metas
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in metas
    assert {"name": "referrer", "content": "no-referrer"} in metas
    assert page.text["h1"] == ["Connected as Avery Agent"]
    assert page.text["title"] == ["Connected as Avery Agent · Activity bot"]
    assert "You can close this tab and go back to Slack." in page.text["p"]
    assert ("main", {"class": "ok"}) in page.tags


def test_error_page() -> None:
    page = Page(
        oauth_result_page(
            ok=False,
            title="This link has expired or was already used.",
            detail="Run /activity connect again in Slack.",
        )
    )
    assert ("main", {"class": "error"}) in page.tags
    assert page.text["h1"] == ["This link has expired or was already used."]
    assert "Run /activity connect again in Slack." in page.text["p"]


@pytest.mark.parametrize("ok", [True, False])
def test_the_page_loads_nothing_and_runs_nothing(ok: bool) -> None:
    source = oauth_result_page(ok=ok, title="t", detail="d")
    page = Page(source)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    for _, attrs in page.tags:
        assert not {"src", "href", "action"} & attrs.keys()
        assert not any(name.startswith("on") for name in attrs)
    assert "url(" not in source and "@import" not in source and "<script" not in source.lower()
    csp = next(m for m in page.metas() if m.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in (csp["content"] or "")


HOSTILE_HTML = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</title><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "<a href='javascript:alert(1)'>click</a>",
    "&lt;script&gt; already escaped",
)


@pytest.mark.parametrize("text", HOSTILE_NAMES + HOSTILE_HTML)
def test_hostile_title_and_detail_are_shown_as_text(text: str) -> None:
    source = oauth_result_page(ok=False, title=text, detail=text)
    page = Page(source)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert "<script" not in source.lower()
    shown = clean(text)
    if len(shown) <= 200:
        assert page.text["h1"] == [shown]


def test_long_text_is_cut_and_an_empty_title_has_a_fallback() -> None:
    page = Page(oauth_result_page(ok=True, title="", detail="x" * 10_000))
    assert page.text["h1"] == ["Activity bot"]
    detail = next(p for p in page.text["p"] if p.startswith("x"))
    assert len(detail) == 2000 and detail.endswith("…")


def test_each_line_of_the_detail_is_a_paragraph() -> None:
    page = Page(oauth_result_page(ok=False, title="t", detail="First line.\n\nSecond line."))
    assert page.text["p"][:2] == ["First line.", "Second line."]
