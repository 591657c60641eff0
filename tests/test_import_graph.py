"""The layers hold: templates ← blueprints ← services ← routeros, and no module imports itself in a circle.

Read from the source (every ``import`` anywhere in a module, deferred ones included, except those under
``if TYPE_CHECKING:``), so a cycle or an upward import fails here before it bites at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("routeros", "simulators", "webapp")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, top: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            continue
        deferred = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield child, top and not deferred
        yield from _walk(child, top and not deferred)


def imports_of(module: str) -> list[tuple[str, bool]]:
    """``(imported module, at import time?)`` for every import statement of ``module``."""
    path = SOURCES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []
    for node, top in _walk(ast.parse(path.read_text(encoding="utf-8")), True):
        if isinstance(node, ast.Import):
            found.extend((alias.name, top) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from package import submodule`` depends on the submodule; ``from module import name`` on it.
                candidate = f"{base}.{alias.name}"
                found.append((candidate if candidate in SOURCES else base, top))
    return found


GRAPH = {module: imports_of(module) for module in SOURCES}


def _under(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_the_graph_was_read() -> None:
    assert {"routeros.api", "webapp.openapi", "webapp.services.routers", "simulators.routeros"} <= SOURCES.keys()
    assert ("routeros.protocol", True) in GRAPH["routeros.api"]


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("routeros", ("webapp", "simulators", "flask", "werkzeug", "sqlalchemy", "aiohttp")),
        ("simulators", ("webapp",)),
        ("webapp.models", ("webapp.services", "webapp.blueprints", "webapp.forms", "routeros")),
        ("webapp.services", ("webapp.blueprints", "webapp.forms", "webapp.openapi")),
        ("webapp.openapi", ("webapp.blueprints",)),
        # Blueprints call services; the driver's errors are translated once, in services.
        ("webapp.blueprints", ("routeros",)),
    ],
)
def test_layers_point_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _under(module, layer)
        for target, _top in targets
        if _under(target, *forbidden)
    )
    assert wrong == []


def test_only_the_app_factory_reaches_into_the_blueprints() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if not _under(module, "webapp.blueprints") and module != "webapp"
        for target, _top in targets
        if _under(target, "webapp.blueprints")
    )
    assert wrong == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
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
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    """Deferred imports count too: a cycle hidden in a function body is still a cycle of the design."""
    edges = {module: {target for target, _top in targets if target in SOURCES and target != module}
             for module, targets in GRAPH.items()}
    assert _cycles(edges) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_blueprints_share_helpers_not_each_other() -> None:
    """One blueprint never imports another (auth used to borrow a dashboard helper); shared code sits beside them."""
    faces = {module.split(".")[2] for module in SOURCES if _under(module, "webapp.blueprints") and
             module.count(".") >= 2 and (ROOT / "webapp" / "blueprints" / module.split(".")[2]).is_dir()}
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target, _top in targets
        for face in faces
        if _under(module, f"webapp.blueprints.{face}")
        for other in faces - {face}
        if _under(target, f"webapp.blueprints.{other}")
    )
    assert faces >= {"api", "auth", "dashboard"}
    assert wrong == []
