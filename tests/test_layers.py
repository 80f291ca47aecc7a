"""Imports run one way: pages, the websocket API and the console -> use cases ->
realtime, storage, core. A newcomer can see from a module's imports what it may touch;
this test keeps it so (imports anywhere in a module count, not only at the top)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dispatch", "ops_console", "schemas")

# Each layer, and the module prefixes it must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "schemas": ("dispatch", "ops_console"),
    "dispatch.core": ("dispatch.storage", "dispatch.realtime", "dispatch.usecases", "dispatch.app"),
    "dispatch.planning": ("dispatch.storage", "dispatch.realtime", "dispatch.usecases"),
    "dispatch.storage": ("dispatch.realtime", "dispatch.usecases", "dispatch.socket_api"),
    "dispatch.realtime": (
        "dispatch.usecases",
        "dispatch.socket_api",
        "dispatch.services",
        "dispatch.app",
        "ops_console",
    ),
    "dispatch.usecases": (
        "dispatch.socket_api",
        "dispatch.pages",
        "dispatch.services",
        "dispatch.app",
        "dispatch.cli",
        "ops_console",
    ),
    "dispatch.socket_api": ("dispatch.app", "dispatch.pages", "ops_console"),
    "dispatch.pages": ("dispatch.app", "dispatch.socket_api", "ops_console"),
    "ops_console": ("dispatch.app", "dispatch.cli", "dispatch.server", "dispatch.socket_api"),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_what_stands_above_it(layer: str) -> None:
    wrong = [
        f"{name} imports {target}"
        for name, path in modules().items()
        if within(name, layer)
        for target in imports_of(path)
        if any(within(target, banned) for banned in FORBIDDEN[layer])
    ]
    assert wrong == []


def test_no_import_cycles_between_modules() -> None:
    graph = {
        name: {t for t in imports_of(path) if t in modules()} for name, path in modules().items()
    }
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for start in sorted(graph):
        if start not in seen:
            visit(start, [start])
    assert cycles == []
