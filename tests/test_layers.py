"""The package's layers: imports point down the loop, no cycles, no module over 500 lines,
and the definition and data layers load without torch (the CLI's cheap verbs stay fast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import formulate

ROOT = Path(formulate.__file__).parent
LAYERS = [
    {"errors", "units"},
    {"spec"},
    {"data"},
    {"model"},
    {"plan"},
    {"lab"},
    {"backtest"},
    {"report"},
    {"cli", "ui", "demo", "testing", "api"},
]
"""Bottom to top: a module may import its own layer's modules and those below, never above."""


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name != "formulate":
            out[name] = path
    return out


def _imports(path: Path, runtime_only: bool) -> set[str]:
    """formulate modules imported anywhere in the file (functions included); with
    ``runtime_only``, module-level imports only, those under ``if TYPE_CHECKING`` included
    (a cycle hidden from the interpreter is still one for a reader and a type checker)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = list(ast.walk(tree))
    if runtime_only:
        nodes = [*tree.body, *(n for s in tree.body if isinstance(s, ast.If) for n in s.body)]
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("formulate.")}


def test_imports_point_down_the_loop() -> None:
    modules = _modules()
    upward = []
    for name, path in modules.items():
        for target in _imports(path, runtime_only=False):
            if target not in modules or target == name:
                continue
            if _layer(target) > _layer(name):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {
        name: {t for t in _imports(path, runtime_only=True) if t in modules and t != name}
        for name, path in modules.items()
    }
    # a package's __init__ re-exports its submodules: only edges between files count
    graph = {n: {t for t in targets if not n.startswith(t + ".")} for n, targets in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_no_module_over_500_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_definition_and_data_layers_import_no_torch() -> None:
    code = (
        "import sys, formulate, formulate.spec, formulate.data, formulate.cli.common; "
        "bad = [m for m in ('torch', 'botorch', 'gpytorch') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
