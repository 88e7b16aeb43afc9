"""No import cycles anywhere in nbtrain, counting the imports made inside functions too.

A function-local import hides a cycle instead of removing it: the modules still need each other, and the
order they load in decides whether a call works. This test reads every module's source with ``ast`` (so it
sees imports in functions, which running the code would not), builds the graph of nbtrain's own modules and
fails on any strongly connected group of them.
"""

from __future__ import annotations

import ast
import pathlib

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1] / "nbtrain"
# The packages this test guards: all of nbtrain.
CHECKED_PACKAGES = ("nbtrain",)

# Import edges that may close a cycle, each with the reason it is allowed.
ALLOWED_EDGES = {
    # Model(inputs, outputs) must return a Functional model (the Keras API), so Model.__new__ and
    # Model.from_config name their own subclass; Keras imports it lazily in the same place
    # (keras/src/models/model.py).
    ("nbtrain.models.model", "nbtrain.models.functional"),
}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, pathlib.Path]:
    return {module_name(path): path for path in PACKAGE_ROOT.rglob("*.py")}


def imported_modules(path: pathlib.Path, name: str, modules) -> set[str]:
    """The nbtrain modules a module imports, anywhere in it (at module level or inside functions).

    ``from a import b`` counts as importing the module ``a.b`` when ``b`` is one, else as importing ``a``.
    Parent packages that Python runs on the way (``a/__init__.py`` for ``import a.b``) are not counted.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return (found & set(modules)) - {name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the nbtrain modules it imports."""
    modules = all_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def strongly_connected_groups(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that all reach each other (each of size > 1)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def checked(module: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in CHECKED_PACKAGES)


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "nbtrain.models.functional" in graph["nbtrain.models.model"]  # imported in Model.__new__
    assert "nbtrain.layers.layer" in graph["nbtrain.layers.core"]


def test_strongly_connected_groups_finds_cycles_and_only_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected_groups(graph) == [["a", "b", "c"]]


def test_no_import_cycles_in_nbtrain():
    graph = {source: {target for target in targets if (source, target) not in ALLOWED_EDGES}
             for source, targets in import_graph().items()}
    cycles = [group for group in strongly_connected_groups(graph) if any(checked(m) for m in group)]
    assert cycles == [], (
        f"Import cycles (counting imports inside functions): {cycles}. Move the shared names down into a "
        "module both sides can import, or pass the dependency in; see ALLOWED_EDGES for the one exception.")
