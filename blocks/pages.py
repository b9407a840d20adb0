"""Small HTML pages the browser shows at the end of the Flexmls sign-in (OAuth callback).

Self-contained pages: UTF-8, readable on a phone, inline CSS, no scripts, no external
resources, and `no-referrer`, so the authorization code in the callback URL never leaks to
another site. Everything shown is HTML-escaped. `link_confirm_page` asks before a Flexmls
account is linked to a Slack user; its two forms post back to our own callback path only.

The Slack user is named by what its owner can't change to look like someone else: the unique
workspace username (`@name`), the user id and, when Slack shares it, the account's e-mail
(masked). Display and real names are left out: anyone can copy a colleague's.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from blocks.text import clean, truncate

TITLE_LIMIT = 200
DETAIL_LIMIT = 2000
NAME_LIMIT = 120
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"

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
.ask .mark { background: #1264a3; }
dl { margin: 1rem 0; }
dt { color: #616061; font-size: .875rem; }
dd { margin: 0 0 .6rem; font-weight: 600; overflow-wrap: anywhere; }
.actions { display: flex; gap: .75rem; margin-top: 1.25rem; }
.actions form { margin: 0; }
button { font: inherit; font-weight: 600; padding: .5rem 1.25rem; border-radius: 6px;
  border: 1px solid #bbbabb; background: #fff; color: #1d1c1d; cursor: pointer; }
button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
h1 { font-size: 1.3rem; line-height: 1.3; margin: 1rem 0 .5rem; overflow-wrap: anywhere; }
p { margin: 0 0 .75rem; overflow-wrap: anywhere; }
.app { color: #616061; font-size: .875rem; margin-top: 1.25rem; }
.same { color: #007a5a; font-weight: 600; }
.warning { margin: 1rem 0 0; padding: .75rem 1rem; border-radius: 8px; font-weight: 600;
  border-left: 4px solid #e8912d; background: #fdf1e3; color: #1d1c1d; }
@media (prefers-color-scheme: dark) {
  body { background: #1a1d21; color: #d1d2d3; }
  main { background: #222529; box-shadow: none; }
  .same { color: #2eb67d; }
  .warning { background: #3b2a14; color: #f2e3cf; }
  .app, dt { color: #9a9b9e; }
  button { background: #222529; color: #d1d2d3; }
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
    return _document(
        safe_title,
        state,
        mark,
        f"""{body}
<p class="app">Activity bot for Slack</p>""",
    )


def _document(safe_title: str, state: str, mark: str, content: str) -> str:
    """The one page shell: no-referrer, noindex, the CSP, the style, a mark and the title.

    `safe_title` and `content` are HTML already escaped by the caller.
    """
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{safe_title} · Activity bot</title>
<style>
{_STYLE}
</style>
</head>
<body>
<main class="{state}">
<div class="mark" aria-hidden="true">{mark}</div>
<h1>{safe_title}</h1>
{content}
</main>
</body>
</html>
"""


MASK = "•••"
SAME_EMAIL_LINE = "✓ The same e-mail is on this Slack account and this Flexmls account."


def mask_email(address: str | None) -> str | None:
    """ "ada@brokerage.com" → "a•••@brokerage.com"; None for what isn't an e-mail address."""
    local, at, domain = clean(address or "").rpartition("@")
    if not at or not local or not domain or " " in local or " " in domain:
        return None
    return f"{local[0]}{MASK}@{domain}"


@dataclass(frozen=True)
class LinkConfirmation:
    """What the "Link this Flexmls account?" page names, and the form it posts back.

    E-mails are given in full and masked on the page; `same_email` says whether the Slack
    account's e-mail is one of the Flexmls account's (without it, the page warns).
    """

    flexmls_name: str
    slack_user_id: str
    slack_username: str | None  # `user.name`: unique in the workspace, unlike display names
    workspace: str
    form_token: str
    form_action: str  # our callback path, as the browser sees it
    minutes: int = 10
    flexmls_email: str | None = None
    slack_email: str | None = None
    same_email: bool = False


def _handle(page: LinkConfirmation) -> str:
    """ "@ada", or the user id when Slack didn't tell us the username."""
    name = clean(page.slack_username or "").lstrip("@")
    return f"@{name}" if name else page.slack_user_id


def _slack_user(page: LinkConfirmation) -> str:
    """ "@ada (U0ASKER)": the unique username and the user id; the id alone without a name."""
    handle = _handle(page)
    if handle == page.slack_user_id:
        return handle
    return f"{handle} ({page.slack_user_id})" if page.slack_user_id else handle


def _entry(label: str, value: str) -> str:
    return f"<dt>{label}</dt>\n<dd>{value}</dd>"


def _email_entry(label: str, address: str | None) -> list[str]:
    masked = mask_email(address)
    return [_entry(label, _text(masked, NAME_LIMIT, MASK))] if masked else []


def _check(page: LinkConfirmation) -> str:
    """The ✓ line when the e-mails match; otherwise the warning shown above the buttons."""
    if page.same_email:
        return f'<p class="same">{html.escape(SAME_EMAIL_LINE)}</p>'
    handle = _text(_handle(page), NAME_LIMIT, "the Slack user above")
    return (
        '<p class="warning" role="alert">⚠ Press Link only if you asked for this link '
        f"yourself, in Slack, signed in as {handle}. Whoever asked for it will be able to read "
        "this Flexmls account's contacts.</p>"
    )


def _form(page: LinkConfirmation, action: str, *, primary: bool) -> str:
    token = html.escape(page.form_token, quote=True)
    target = html.escape(page.form_action, quote=True)
    css = ' class="primary"' if primary else ""
    return (
        f'<form method="post" action="{target}">'
        f'<input type="hidden" name="form_token" value="{token}">'
        f'<button type="submit" name="action" value="{action}"{css}>{action}</button>'
        "</form>"
    )


def link_confirm_page(page: LinkConfirmation) -> str:
    """ "Link this Flexmls account?": the account, the Slack user, the workspace, Link/Cancel."""
    entries = [
        _entry("Flexmls account", _text(page.flexmls_name, NAME_LIMIT, "Your Flexmls account")),
        *_email_entry("Flexmls e-mail", page.flexmls_email),
        _entry("Slack user", _text(_slack_user(page), NAME_LIMIT * 2, "a Slack user")),
        *_email_entry("Slack e-mail", page.slack_email),
        _entry("Slack workspace", _text(page.workspace, NAME_LIMIT, "this Slack workspace")),
    ]
    details = "\n".join(entries)
    title = "Link this Flexmls account?"
    return _document(
        title,
        "ask",
        "?",
        f"""<dl>
{details}
</dl>
<p>Activity bot will read Flexmls contacts with this account for that Slack user.</p>
{_check(page)}
<div class="actions">
{_form(page, "Link", primary=True)}
{_form(page, "Cancel", primary=False)}
</div>
<p class="app">This page works once and expires in {page.minutes} minutes.
Activity bot for Slack</p>""",
    )
