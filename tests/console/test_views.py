"""Modals in the console: rendered, answered on the next line, submitted as Slack would."""

from __future__ import annotations

import io
import json
import urllib.parse

from rich.console import Console

from blocks import token_modal
from console.repl import run_console
from console.views import OpenModal, input_fields, render_view, submission_body
from devtools.sandbox import SECOND_AGENT_TOKEN
from settings import load_settings
from storage import count_connections, open_database


def test_the_token_modal_asks_for_one_text_input():
    view = token_modal()
    (field,) = input_fields(view)
    assert field.label == "Personal access token"
    out = Console(file=io.StringIO(), width=100)
    out.print(render_view(view))
    shown = out.file.getvalue()
    assert "Connect Flexmls" in shown and "type it on the next line" in shown


def test_the_submission_carries_the_typed_value_where_slack_puts_it():
    view = token_modal()
    modal = OpenModal("V123", view, input_fields(view))
    body = submission_body(modal, ["tok en"], user_id="U1", team_id="T1", app_id="A1")
    payload = json.loads(urllib.parse.parse_qs(body)["payload"][0])
    field = modal.fields[0]
    assert payload["type"] == "view_submission" and payload["view"]["id"] == "V123"
    assert payload["view"]["callback_id"] == view["callback_id"]
    state = payload["view"]["state"]["values"][field.block_id][field.action_id]
    assert state == {"type": "plain_text_input", "value": "tok en"}


async def run(tmp_path, lines: str) -> str:
    out = Console(file=io.StringIO(), width=100, highlight=False)
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "activity.db")})
    assert await run_console(settings, demo=True, stdin=io.StringIO(lines), out=out) == 0
    return out.file.getvalue()


async def test_pasting_a_token_in_the_console_connects(tmp_path):
    shown = await run(tmp_path, f"/activity connect\n1\n{SECOND_AGENT_TOKEN}\n")
    assert "type it on the next line" in shown
    assert "Connected as Blake Broker" in shown
    assert "a direct message from the bot" in shown
    assert SECOND_AGENT_TOKEN not in shown  # the console never echoes what was typed
    db = open_database(tmp_path / "demo" / "activity.db")
    assert count_connections(db) == 1


async def test_cancel_closes_the_modal_and_stores_nothing(tmp_path):
    shown = await run(tmp_path, "/activity connect\n1\ncancel\n")
    assert "(modal closed)" in shown
    assert count_connections(open_database(tmp_path / "demo" / "activity.db")) == 0
