"""The console's own handling of typed lines (piped stdin), with the demo sandbox."""

from __future__ import annotations

import io

from rich.console import Console

from console.repl import run_console
from settings import load_settings


async def typed(tmp_path, *lines: str) -> str:
    out = Console(file=io.StringIO(), width=200, highlight=False)
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "activity.db")})
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    assert await run_console(settings, demo=True, stdin=stdin, out=out) == 0
    return out.file.getvalue()


async def test_a_number_with_no_buttons_to_press_is_not_a_contact_search(tmp_path):
    shown = await typed(tmp_path, "1", "help", "42")
    assert shown.count("There's no button") == 2
    assert "There's no button 1 here." in shown
    assert "There's no button 42" in shown  # help has no buttons either
    assert "No contact matches" not in shown
