"""What one check found: a row of the `python bot.py check` table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"  # not run: something it depends on failed first


@dataclass(frozen=True)
class CheckResult:
    """One row: what was checked, how it went, what was seen and what to do about it.

    `configuration` marks a failure the operator fixes in `.env` or the Slack/Flexmls app
    settings (exit code 2), as opposed to something being down (exit code 1).
    """

    name: str
    status: Status
    detail: str
    fix: str = ""
    configuration: bool = False

    @classmethod
    def ok(cls, name: str, detail: str) -> CheckResult:
        return cls(name, Status.OK, detail)

    @classmethod
    def warn(cls, name: str, detail: str, fix: str = "") -> CheckResult:
        return cls(name, Status.WARN, detail, fix)

    @classmethod
    def fail(
        cls, name: str, detail: str, fix: str = "", *, configuration: bool = False
    ) -> CheckResult:
        return cls(name, Status.FAIL, detail, fix, configuration)

    @classmethod
    def skip(cls, name: str, detail: str) -> CheckResult:
        return cls(name, Status.SKIP, detail)


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIGURATION = 2


def exit_code(results: Iterable[CheckResult]) -> int:
    """0 when nothing failed; 2 when a failure is a configuration error; else 1."""
    failed = [r for r in results if r.status is Status.FAIL]
    if not failed:
        return EXIT_OK
    return EXIT_CONFIGURATION if any(r.configuration for r in failed) else EXIT_FAILED
