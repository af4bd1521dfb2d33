"""The layout's rules, read off the import statements: core/ stays free of the UI and the scripts,
and inside core/ nothing imports upward (a reader of results may use a runtime, never the reverse)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Lower layers first; a module may import its own layer and those before it.
LAYERS = ("core", "core.runtimes", "core.attacks", "core.experiments", "core.results")
FORBIDDEN = ("streamlit", "app", "pages", "training", "benchmarks", "deploy", "tests")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """The layer of a core module: its sub-package's, or 0 for core's top-level modules."""
    parts = module.split(".")
    return LAYERS.index(".".join(parts[:2])) if ".".join(parts[:2]) in LAYERS else 0


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from core.results import capacity` names the module core.results.capacity
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


CORE_FILES = sorted((REPO / "core").rglob("*.py"))


def test_core_has_its_four_roles():
    packages = {p.parent.name for p in CORE_FILES if p.name == "__init__.py" and p.parent.name != "core"}
    assert packages == {"runtimes", "attacks", "experiments", "results"}


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: module_name(p))
def test_core_imports_neither_the_ui_nor_the_scripts_nor_upward(path):
    own = layer(module_name(path))
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{module_name(path)} imports {name}"
        if top == "core":
            assert layer(name) <= own, f"{module_name(path)} (layer {LAYERS[own]}) imports upward: {name}"


def test_the_layer_order():
    assert layer("core.results.capacity") > layer("core.runtimes.onnx_runtime") > layer("core.specs")
    assert layer("core.attacks") == layer("core.attacks.fgsm") < layer("core.experiments.probes")
