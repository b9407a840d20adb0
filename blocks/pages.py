"""Small HTML pages the browser shows at the end of the Flexmls sign-in (OAuth callback).

One self-contained page: UTF-8, readable on a phone, inline CSS, no scripts, no external
resources, and `no-referrer`, so the authorization code in the callback URL never leaks to
another site. Everything shown is HTML-escaped.
"""

from __future__ import annotations

import html

from blocks.text import clean, truncate

TITLE_LIMIT = 200
DETAIL_LIMIT = 2000

_STYLE = """
:root { color-scheme: light dark; }
body { margin: 0; font: 16px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto,
  Helvetica, Arial, sans-serif; background: #f8f8f8; color: #1d1c1d; }
main { max-width: 32rem; margin: 12vh auto 0; padding: 1.5rem; background: #fff;
  border-radius: 12px; box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }
.mark { width: 2.5rem; height: 2.5rem; border-radius: 50%; color: #fff; font-weight: 700;
  font-size: 1.4rem; line-height: 2.5rem; text-align: center; }
.ok .mark { background: #2eb67d; }
.error .mark { background: #e01e5a; }
h1 { font-size: 1.3rem; line-height: 1.3; margin: 1rem 0 .5rem; overflow-wrap: anywhere; }
p { margin: 0 0 .75rem; overflow-wrap: anywhere; }
.app { color: #616061; font-size: .875rem; margin-top: 1.25rem; }
@media (prefers-color-scheme: dark) {
  body { background: #1a1d21; color: #d1d2d3; }
  main { background: #222529; box-shadow: none; }
  .app { color: #9a9b9e; }
}
""".strip()


def _text(value: str, limit: int, fallback: str) -> str:
    return html.escape(truncate(clean(value or "") or fallback, limit), quote=True)


def oauth_result_page(*, ok: bool, title: str, detail: str) -> str:
    """A complete HTML page: a check mark or a warning sign, the title and the detail."""
    safe_title = _text(title, TITLE_LIMIT, "Activity bot")
    detail_text = truncate(clean(detail or "", single_line=False), DETAIL_LIMIT)
    body = "\n".join(
        f"<p>{html.escape(line, quote=True)}</p>" for line in detail_text.split("\n") if line
    )
    state = "ok" if ok else "error"
    mark = "✓" if ok else "!"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{safe_title} · Activity bot</title>
<style>
{_STYLE}
</style>
</head>
<body>
<main class="{state}">
<div class="mark" aria-hidden="true">{mark}</div>
<h1>{safe_title}</h1>
{body}
<p class="app">Activity bot for Slack</p>
</main>
</body>
</html>
"""
