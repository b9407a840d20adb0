"""The shape of the code: no import circles, arrows only point down, `blocks` stays pure.

Reads every import statement of the project (module level and inside functions) with `ast`, so
a lazy import counts as much as a top-level one. The layers, bottom to top:

    settings, redaction
    spark, storage                       (Spark client; SQLite)
    activity                             (the core)
    blocks                               (pure: dataclasses in, Block Kit out)
    setup_check                          (`bot.py check`, start-up failures)
    handlers                             (Bolt listeners)
    runtime → modes → bot                (assembly, run modes, entry point)
    console, devtools                    (tools: the product never imports them, except the
                                          run modes that start them on request)
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = ("bot", "modes", "runtime", "settings", "redaction")
PACKAGES = (
    "spark",
    "storage",
    "activity",
    "blocks",
    "handlers",
    "setup_check",
    "console",
    "devtools",
)

# What each unit may import from the project (besides itself).
ALLOWED: dict[str, set[str]] = {
    "settings": set(),
    "redaction": set(),
    "spark": {"redaction"},
    "storage": {"spark"},
    "activity": {"spark", "storage", "settings", "redaction"},
    "blocks": {"activity", "spark", "storage"},
    "setup_check": {"spark", "storage", "settings", "redaction"},
    "handlers": {"activity", "blocks", "spark", "storage", "settings", "redaction"},
    "runtime": {"handlers", "activity", "blocks", "spark", "storage", "settings", "setup_check"},
    "modes": {
        "runtime",
        "handlers",
        "activity",
        "spark",
        "storage",
        "settings",
        "setup_check",
        "console",
        "devtools",
    },
    "bot": {"modes", "settings", "setup_check", "storage", "redaction"},
    # Tools drive the product from outside; they may use any of it.
    "console": {"runtime", "blocks", "activity", "spark", "storage", "settings", "devtools"},
    "devtools": {
        "activity",
        "blocks",
        "handlers",
        "runtime",
        "spark",
        "storage",
        "settings",
        "setup_check",
        "redaction",
    },
}
# Only these modules may import from devtools/ (they start a tool because someone asked).
MAY_START_TOOLS = {"modes", "console.repl"}
# Libraries that do I/O: the renderers never touch them.
IO_LIBRARIES = ("httpx", "aiohttp", "sqlite_utils", "slack_bolt", "slack_sdk.web", "asyncio")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_LEVEL}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


MODULES = project_modules()


def imports_of(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import in the file, resolved."""
    found: list[tuple[str, list[str]]] = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def edges() -> dict[str, set[str]]:
    """Module → project modules it imports. `from pkg import sub` is an edge to `pkg.sub`
    alone (the package's `__init__` only runs its own imports)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for target, names in imports_of(name, path):
            if target.split(".")[0] not in {m.split(".")[0] for m in MODULES}:
                continue
            submodules = {f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES}
            graph[name] |= submodules
            if not names or len(submodules) < len(names):
                graph[name].add(target)
    return graph


def unit(module: str) -> str:
    return module.split(".")[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_reader_sees_every_kind_of_import():
    graph = edges()
    assert "activity.auth" in graph["activity.services"]  # from activity.auth import …
    assert "handlers.digests" in graph["handlers.dispatch"]  # import handlers.digests as …
    assert "devtools.sandbox" in graph["modes"]  # inside a function
    assert {unit(m) for m in graph["bot"]} <= ALLOWED["bot"]


def test_a_circle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(edges()) == []


def test_imports_only_point_down_the_layers():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in edges().items()
        for target in targets
        if unit(target) != unit(module) and unit(target) not in ALLOWED[unit(module)]
    )
    assert wrong == []


def test_the_product_never_imports_the_tools():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in edges().items()
        for target in targets
        if unit(target) == "devtools"
        and unit(module) not in {"devtools", "console"}
        and module not in MAY_START_TOOLS
    )
    assert wrong == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if unit(m) == "blocks"))
def test_blocks_are_pure(module):
    """Renderers take data types from the layers below, never their functions, and no I/O."""
    for target, names in imports_of(module, MODULES[module]):
        assert not any(target == lib or target.startswith(lib + ".") for lib in IO_LIBRARIES), (
            f"{module} imports {target}"
        )
        if unit(target) in {"activity", "spark", "storage"}:
            source = importlib.import_module(target)
            for name in names:
                value = getattr(source, name)
                assert not (inspect.isfunction(value) or inspect.ismethod(value)), (
                    f"{module} takes the function {target}.{name}"
                )


MAX_FUNCTION_LINES = 60
MAX_ENTRY_POINT_LINES = 120


def test_the_entry_point_stays_small():
    assert len((ROOT / "bot.py").read_text().splitlines()) <= MAX_ENTRY_POINT_LINES


def test_no_function_is_too_long_to_read_at_once():
    """Schema migrations (DDL, written once) are the only exception."""
    long = sorted(
        f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and not (module == "storage.migrations" and node.name.startswith("m0"))
    )
    assert long == []
