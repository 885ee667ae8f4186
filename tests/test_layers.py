"""The package's layers import one way, lower to higher, and no module-level import cycle exists."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hf_decision"
# Lower layers first: a module may import its own layer and the layers before it, never a later one.
LAYERS = [
    ("objectives", "resources"),
    ("models",),
    ("data",),
    ("agents", "tabular"),
    ("cards",),
    ("collection", "evaluation"),
    ("trainers",),
    ("plots", "aggregation"),
    ("hub", "export"),
    ("commands",),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.Module, module: str, top_level_only: bool) -> set[str]:
    """hf_decision modules a module imports (a `from X import Y` of a submodule Y counts as `X.Y`)."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("hf_decision"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hf_decision"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    found.discard(module)
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package root, which registers and re-exports


def test_every_subpackage_and_module_has_a_layer():
    assert {layer(m) for m in MODULES} - {None} <= set(RANK)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) is not None))
def test_imports_run_from_lower_layers_to_higher_ones(module):
    own = layer(module)
    upward = [
        target
        for target in imported_modules(TREES[module], module, top_level_only=False)
        if layer(target) is not None and layer(target) != own and RANK[layer(target)] > RANK[own]
    ]
    assert not upward, f"{module} ({own}) imports a higher layer: {upward}"


def test_objectives_import_nothing_else_from_the_package():
    for module in (m for m in MODULES if layer(m) == "objectives"):
        others = [t for t in imported_modules(TREES[module], module, False) if layer(t) != "objectives"]
        assert not others, f"{module} imports {others}"


def test_no_import_cycle_at_module_level():
    graph = {m: imported_modules(TREES[m], m, top_level_only=True) & MODULES.keys() for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_importing_the_models_loads_no_environment_or_collection_code():
    code = (
        "import sys, hf_decision.models; "
        "loaded = [m for m in ('gymnasium', 'hf_decision.collection', 'hf_decision.trainers', 'hf_decision.data') "
        "if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
