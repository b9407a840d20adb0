"""Reading the HTML pages the bot serves (the OAuth callback's "Link this account?" page)."""

from __future__ import annotations

from html.parser import HTMLParser

# The only tags those pages may contain.
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "div", "h1", "p",
                "dl", "dt", "dd", "form", "input", "button"}  # fmt: skip


class Parsed(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.dd: list[str] = []
        self._in_dd = False
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_dd = tag == "dd"

    def handle_endtag(self, tag: str) -> None:
        self._in_dd = False

    def handle_data(self, data: str) -> None:
        if self._in_dd:
            self.dd.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]
