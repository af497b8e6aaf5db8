"""Structure the code promises: no import cycles between mobilezoo's modules (function-level imports included),
and one class per export format behind one interface."""

from __future__ import annotations

import ast
import os

from .conftest import REPO_ROOT


def _module_imports() -> dict[str, set[str]]:
    """mobilezoo module -> the mobilezoo modules it imports anywhere in its source."""
    package = os.path.join(REPO_ROOT, "mobilezoo")
    modules: dict[str, str] = {}
    for folder, _, files in os.walk(package):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                name = os.path.relpath(path, REPO_ROOT)[:-3].replace(os.sep, ".")
                modules[name.removesuffix(".__init__")] = path
    graph = {}
    for name, path in modules.items():
        parent = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.ImportFrom):
                base = parent.split(".")[: len(parent.split(".")) - (node.level - 1)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found.update(t for t in [target, *(f"{target}.{a.name}" for a in node.names)] if t in modules)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in modules)
        graph[name] = found - {name}
    return graph


def test_no_import_cycles():
    graph = _module_imports()
    assert "mobilezoo.weights.hub" in graph and graph["mobilezoo.factory"]  # the walk found the package
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            assert state.get(target) != 1, "import cycle: " + " -> ".join(path + [module, target])
            if target not in state:
                visit(target, path + [module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_packages_import_each_other_one_way():
    """Sub-packages (train, evaluation, sweep, designspace, weights, ...) and the top-level modules depend on each
    other in one direction only: never A -> B and B -> A, function-level imports included."""
    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges: dict[tuple[str, str], tuple[str, str]] = {}
    for module, targets in _module_imports().items():
        for target in targets:
            if unit(module) != unit(target):
                edges.setdefault((unit(module), unit(target)), (module, target))
    both_ways = [(a, b) for (a, b) in edges if (b, a) in edges and a < b]
    assert not both_ways, "; ".join(f"{a} <-> {b} ({edges[(a, b)]} and {edges[(b, a)]})" for a, b in both_ways)
    assert ("mobilezoo.train", "mobilezoo.evaluation") in edges  # the walk sees the intended directions
    assert ("mobilezoo.sweep", "mobilezoo.designspace") in edges and ("mobilezoo.factory", "mobilezoo.weights") in edges


def test_every_format_is_one_class_behind_one_interface():
    from mobilezoo.export.format_base import ExportFormat
    from mobilezoo.export.formats import FORMATS, RUNTIMES

    for name, fmt in FORMATS.items():
        assert isinstance(fmt, ExportFormat) and fmt.name == name and fmt.suffix.startswith(".")
        overridden = {m for m in ("export", "load_runner") if getattr(type(fmt), m) is not getattr(ExportFormat, m)}
        assert overridden == {"export", "load_runner"}, name
    assert set(RUNTIMES) == {"eager", "torchscript", "ptl", "onnxruntime", "executorch", "tflite"}
