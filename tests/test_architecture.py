"""The shape of the code, checked: dependencies point down (handlers -> bot -> store), no import cycle (not even
one hidden in a function), migrations stand alone, and no module or function grows past what a reader takes in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "store")
# The composition root: the only modules of `bot` that wire the handlers in.
COMPOSITION_ROOT = {"bot.runtime.app", "bot.runtime.cli"}
LONGEST_MODULE, LONGEST_FUNCTION = 400, 60


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every project module `name` imports, at the top, inside a function or under TYPE_CHECKING."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for target in targets:
            # `from bot.slack import alert` names a module; `from bot.slack.alert import x` names its module.
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                imported.add(target)
    return imported


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_the_store_imports_neither_rules_nor_handlers():
    wrong = {(m, i) for m, deps in GRAPH.items() if _layer(m) == "store" for i in deps if _layer(i) != "store"}
    assert wrong == set()


def test_the_rules_import_no_handler_except_in_the_composition_root():
    wrong = {
        (m, i)
        for m, deps in GRAPH.items()
        if _layer(m) == "bot" and m not in COMPOSITION_ROOT
        for i in deps
        if _layer(i) == "handlers"
    }
    assert wrong == set()


def test_handlers_go_through_the_rules_never_straight_to_the_store():
    wrong = {(m, i) for m, deps in GRAPH.items() if _layer(m) == "handlers" for i in deps if _layer(i) == "store"}
    assert wrong == set()


def test_there_is_no_import_cycle():
    # Tarjan's strongly connected components, iteratively; any component of two or more is a cycle.
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


def test_migrations_import_nothing_of_the_live_code():
    for path in (ROOT / "store" / "migrations" / "versions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n and n.split(".")[0] in PACKAGES for n in names), f"{path.name} imports {names}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_or_function_is_too_long_to_read(name):
    source = MODULES[name].read_text()
    assert len(source.splitlines()) <= LONGEST_MODULE, f"{name} has {len(source.splitlines())} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= LONGEST_FUNCTION, f"{name}.{node.name} has {length} lines"


def test_the_checks_above_see_what_they_check():
    # Guards against a walk that finds nothing and so passes: the graph holds the known edges.
    assert "store.models" in GRAPH["bot.lifecycle.stages"] | GRAPH["store.handoff"]
    assert "bot.lifecycle.qualification" in GRAPH["handlers.qualification"]
    assert "handlers" in GRAPH["bot.runtime.app"]
    assert len(MODULES) > 80
