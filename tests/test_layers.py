"""The shape of the code, checked on its imports (read with ``ast``, function-level imports
included): no import cycle anywhere, layers that import only downwards, features that reach
each other only through their packages, views that query nothing."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "storage", "adr_files")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {
    _module_name(p): p
    for package in PACKAGES
    for p in (ROOT / package).rglob("*.py")
    if "migrations" not in p.parts
}


def _imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names) for every import in the file; names empty for ``import x``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def _edges() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from a import b`` counts as a.b when b is
    a module)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for module, names in _imports(path):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            if len(targets) < len(names) or not names:
                targets.append(module)
            edges[name].update(t for t in targets if t in MODULES and t != name)
    return edges


EDGES = _edges()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> str:
    """The package a module belongs to for layering: each feature, core, engine, the process
    (runtime, with bot.app, the composition root that runtime starts), storage, adr_files."""
    parts = module.split(".")
    if parts[0] != "bot":
        return parts[0]
    if len(parts) > 2 and parts[1] == "features":
        return ".".join(parts[:3])
    if len(parts) == 1 or parts[1] in ("app", "runtime"):
        return "bot.runtime"
    return ".".join(parts[:2])


def test_the_walk_sees_the_whole_tree() -> None:
    assert {"bot.app", "bot.core.render", "bot.engine.dispatcher", "storage.db"} <= set(MODULES)
    assert "bot.features.decisions" in EDGES["bot.app"]


def test_no_module_imports_itself_back() -> None:
    assert _cycles(EDGES) == []


def test_no_package_imports_itself_back() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in EDGES.items():
        for target in targets:
            if _layer(module) != _layer(target):
                packages[_layer(module)].add(_layer(target))
    assert _cycles(packages) == []


# What each layer may never import (prefixes).
FORBIDDEN = {
    "adr_files": ("bot", "storage"),
    "storage": ("bot",),
    "bot.core": ("bot.engine", "bot.features", "bot.runtime", "bot.app"),
    "bot.engine": ("bot.features", "bot.runtime", "bot.app"),
    "bot.features": ("bot.runtime", "bot.app"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    wrong = [
        (module, target)
        for module, targets in EDGES.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert wrong == []


def test_a_feature_reaches_another_only_through_its_package() -> None:
    wrong = [
        (module, target)
        for module, targets in EDGES.items()
        for target in targets
        if module.startswith("bot.features.")
        and target.startswith("bot.features.")
        and _layer(module) != _layer(target)
        and target != _layer(target)
    ]
    assert wrong == []


# Storage modules without a query in them: a view may use them whole.
PURE_STORAGE = {"storage.rules"}


def test_views_query_nothing() -> None:
    """A view builder may read storage's types, constants and pure rules, never a query."""
    views = [name for name in MODULES if name.endswith(".views") or name == "bot.core.blocks"]
    assert len(views) >= 6
    calls = [
        (view, module, name)
        for view in views
        for module, names in _imports(MODULES[view])
        if module.startswith("storage") and module not in PURE_STORAGE
        for name in names or ["(the module)"]
        if not name[:1].isupper() and f"{module}.{name}" not in PURE_STORAGE
    ]
    assert calls == []
