"""The README's command list is `/activity help`'s, word for word (both come from SUBCOMMANDS)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from handlers.dispatch import SUBCOMMANDS

ROOT = Path(__file__).resolve().parent.parent
COLUMN, WIDTH = 48, 100


def help_as_text() -> list[str]:
    lines: list[str] = []
    for sub in SUBCOMMANDS:
        wrapped = textwrap.wrap(sub.description, WIDTH - COLUMN)
        if len(sub.usage) < COLUMN - 1:
            lines.append(sub.usage.ljust(COLUMN) + wrapped[0])
            wrapped = wrapped[1:]
        else:
            lines.append(sub.usage)
        lines += [" " * COLUMN + line for line in wrapped]
    return lines


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    after = text.split("`/activity help` prints the same list", 1)[1]
    return after.split("```", 2)[1].strip("\n").splitlines()


def test_the_readme_lists_the_commands_help_prints():
    assert readme_commands() == help_as_text()
