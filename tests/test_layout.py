"""The package's shape: no import cycle among simgan's modules, and simgan imports at the top
of each module (inside a function only in cli/, which keeps `simgan --help` fast, or where
an optional dependency must stay optional)."""

from __future__ import annotations

import ast
from pathlib import Path

import simgan

PACKAGE = Path(simgan.__file__).parent

# module -> why it imports inside a function (an optional extra behind it)
ALLOWED_LOCAL_IMPORTS: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(tree: ast.AST, name: str, is_package: bool) -> list[tuple[str, ast.AST]]:
    """(imported simgan module, node) for every import statement in the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node) for a in node.names if a.name.startswith("simgan")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_package else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            if base.startswith("simgan"):
                found += [(f"{base}.{a.name}", node) for a in node.names] + [(base, node)]
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for target, node in _imports(tree, name, path.name == "__init__.py"):
            if id(node) not in top:
                continue  # function-level imports are checked by the other test
            if target in mods and target != name:
                graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            # a package importing its own submodules is how __init__ names its API
            if n.startswith(m + "."):
                continue
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (c := visit(n)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_no_import_cycle():
    graph = _graph()
    # importing simgan.a.b runs simgan.a first: a submodule depends on its packages too
    for m in list(graph):
        parts = m.split(".")
        for i in range(2, len(parts)):
            parent = ".".join(parts[:i])
            if parent in graph:
                graph[m].add(parent)
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_simgan_imports_at_module_top():
    offenders = []
    for name, path in _modules().items():
        if name.startswith("simgan.cli") or name in ALLOWED_LOCAL_IMPORTS:
            continue
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for _, node in _imports(tree, name, path.name == "__init__.py"):
            if id(node) not in top:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    offenders = sorted(set(offenders))
    assert not offenders, f"{len(offenders)} imports inside functions:\n" + "\n".join(offenders)
