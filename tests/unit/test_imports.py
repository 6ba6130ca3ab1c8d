"""The import graph of parsers, reginspect and tui: no cycle, counting imports inside functions.

import-linter checks the layers but reads a function-level import as any other, and a cycle kept
alive by imports inside functions still leaves modules half-initialised when one is imported
first. So every ``import`` and ``from ... import`` of every module counts here, wherever it is.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Final, NamedTuple

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGES: Final = ("parsers", "reginspect", "tui")
# The CLI opens the TUI lazily, inside a function: the upward imports (pyproject's contract).
LAZY: Final = frozenset(
    {("reginspect.commands.tui", "tui.app"), ("reginspect.commands.plan", "tui.plan_app")}
)


class Edge(NamedTuple):
    source: str
    target: str
    in_function: bool


def modules_of(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted name -> file of every module of the packages under root."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported(name: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Every module an import statement may load: the named ones, their parent packages and, for
    ``from x import y``, ``x.y`` in case y is a module."""
    if isinstance(node, ast.Import):
        named = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name.split(".") if is_package else name.split(".")[:-1]
            anchor = ".".join(package[: len(package) - node.level + 1])
            base = f"{anchor}.{base}" if base else anchor
        named = [base, *(f"{base}.{alias.name}" for alias in node.names)]
    loaded: set[str] = set()
    for dotted in named:
        parts = dotted.split(".")
        loaded.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return sorted(loaded)


class _Imports(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool) -> None:
        self.name, self.is_package = name, is_package
        self.depth = 0
        self.found: list[tuple[str, bool]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._inside(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._inside(node)

    def _inside(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._add(node)

    def _add(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _imported(self.name, self.is_package, node):
            self.found.append((target, self.depth > 0))


def import_edges(root: Path, packages: tuple[str, ...]) -> list[Edge]:
    """Every import of one of the packages' modules by another, module-level or not."""
    modules = modules_of(root, packages)
    edges: list[Edge] = []
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        edges.extend(
            Edge(name, target, in_function)
            for target, in_function in visitor.found
            if target in modules and target != name
        )
    return edges


def find_cycle(edges: list[Edge], allowed: frozenset[tuple[str, str]]) -> list[str] | None:
    """One import cycle as the modules along it, first repeated last; None when there is none."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if (edge.source, edge.target) not in allowed:
            graph.setdefault(edge.source, set()).add(edge.target)
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        on_path = {start}
        pending = [iter(sorted(graph.get(start, ())))]
        while pending:
            target = next(pending[-1], None)
            if target is None:  # every import of path[-1] explored: no cycle through it
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
                continue
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                path.append(target)
                on_path.add(target)
                pending.append(iter(sorted(graph.get(target, ()))))
    return None


def test_no_import_cycle_among_the_project_modules() -> None:
    cycle = find_cycle(import_edges(ROOT, PACKAGES), LAZY)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_declared_lazy_imports_are_the_only_exceptions_and_inside_a_function() -> None:
    edges = import_edges(ROOT, PACKAGES)
    for source, target in LAZY:
        found = [edge for edge in edges if (edge.source, edge.target) == (source, target)]
        assert found, f"{source} no longer imports {target}: drop it from LAZY"
        assert all(edge.in_function for edge in found), f"{source} imports {target} at load time"


def test_parsers_import_only_the_standard_library() -> None:
    outside = set()
    for name, path in modules_of(ROOT, ("parsers",)).items():
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for target, _ in visitor.found:
            top = target.split(".")[0]
            if top not in sys.stdlib_module_names and top not in {"parsers", "__future__"}:
                outside.add((name, target))
    assert outside == set()


def _package(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_through_a_function_level_relative_import_is_found(tmp_path: Path) -> None:
    _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.sub import b\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/b.py": "def f():\n    from ..c import x\n    return x\n",
            "pkg/c.py": "import os\n\n\nasync def g():\n    from . import a\n",
        },
    )
    edges = import_edges(tmp_path, ("pkg",))
    assert Edge("pkg.sub.b", "pkg.c", True) in edges
    assert Edge("pkg.c", "pkg.a", True) in edges
    assert find_cycle(edges, frozenset()) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    assert find_cycle(edges, frozenset({("pkg.c", "pkg.a")})) is None


@pytest.mark.parametrize(
    ("module", "statement", "expected"),
    [
        ("p.m", "import p.q.r", ["p", "p.q", "p.q.r"]),
        ("p.m", "from p.q import r", ["p", "p.q", "p.q.r"]),
        ("p.m", "from . import r", ["p", "p.r"]),
        ("p.s.m", "from ..q import r", ["p", "p.q", "p.q.r"]),
    ],
)
def test_what_an_import_statement_loads(module: str, statement: str, expected: list[str]) -> None:
    node = ast.parse(statement).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    assert _imported(module, False, node) == expected
