"""The architecture rules (docs/architecture.md), enforced by parsing the imports.

Every import counts, including those under ``TYPE_CHECKING`` and inside functions: a
type-only arrow still ties the two modules together for a reader and for a refactor.

1. The pipeline core knows no feature: ``pipeline/`` imports only ``wire/`` and the
   error tree; ``wire/`` (neutral types) imports neither the pipeline nor a feature.
2. Providers know no pipeline and no state.
3. HTTP lives in ``api/``: no feature package defines routes, and routes do not import
   the app factory.
And no import circles between modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gateway"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The module a dotted import name lives in (``a.b.Name`` → ``a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str) -> Iterator[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from a.b import c`` is an arrow to ``a.b.c`` if that is a module, else
            # to ``a.b`` (``_resolve``): a package's ``__init__`` is not what is used.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = {_resolve(n) for n in _imported_names(module) if n.startswith("gateway")}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


GRAPH = _graph()


def _package(module: str) -> str:
    """``gateway.cache.stage`` → ``cache``; top-level modules keep their own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _arrows_from(package: str, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        if _package(source) == package
        for target in targets
        if _package(target) in forbidden
    )


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(GRAPH):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


# Everything above the core: every package and top-level module but the neutral ones.
CORE = {"pipeline", "wire", "errors", "gateway"}
FEATURES = {_package(m) for m in MODULES} - CORE


def test_the_graph_sees_the_package() -> None:
    """Guards the guard: a parser that found no arrows would pass every rule."""
    assert "gateway.pipeline.stages" in GRAPH
    assert "gateway.errors" in GRAPH["gateway.pipeline.stages"]


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_pipeline_core_knows_no_feature() -> None:
    assert _arrows_from("pipeline", FEATURES) == []


def test_wire_types_are_neutral() -> None:
    """``wire/`` sits below the pipeline and the providers: it imports neither."""
    assert _arrows_from("wire", FEATURES | {"pipeline"}) == []


def test_providers_know_no_pipeline_and_no_state() -> None:
    assert _arrows_from("providers", {"pipeline", "state"}) == []


def test_only_the_command_line_imports_the_app_factory() -> None:
    """Routes depend on ``api.services.GatewayServices``, stages on what they are
    handed: nothing below the entry points knows ``app.py``."""
    found = [
        arrow
        for package in sorted((FEATURES | CORE) - {"cli", "__main__", "app"})
        for arrow in _arrows_from(package, {"app"})
    ]
    assert found == []


@pytest.mark.parametrize(
    "package", sorted(FEATURES - {"api", "app", "cli", "protocol", "__main__"})
)
def test_feature_packages_hold_no_routes(package: str) -> None:
    """Routes are declared with litestar's handler decorators; only api/ may use them."""
    decorators = {"get", "post", "put", "patch", "delete", "route", "Router"}
    offenders = sorted(
        module
        for module, path in MODULES.items()
        if _package(module) == package
        and any(
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("litestar")
            and any(alias.name in decorators for alias in node.names)
            for node in ast.walk(ast.parse(path.read_text()))
        )
    )
    assert offenders == []


def _kind_comparisons(module: str, kinds: set[str]) -> list[str]:
    """``x == "trtllm"``-style comparisons against a registered provider kind."""
    found = []
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant) and operand.value in kinds:
                    found.append(f"{module}:{node.lineno} compares with {operand.value!r}")
    return found


KIND_PENDING: set[str] = set()


@pytest.mark.parametrize(
    "package",
    [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, reason="issue #17")]
            if name in KIND_PENDING
            else [],
        )
        for name in sorted({_package(m) for m in MODULES} - {"providers", "config"})
    ],
)
def test_provider_kinds_are_named_only_by_providers(package: str) -> None:
    """A capability is declared in the provider's registry row, not tested by name
    elsewhere (``config`` names them only in comments and examples)."""
    from gateway.providers.registry import PROVIDERS

    kinds = set(PROVIDERS)
    found = [
        hit
        for module in MODULES
        if _package(module) == package
        for hit in _kind_comparisons(module, kinds)
    ]
    assert found == []


def test_every_provider_module_is_one_registry_row() -> None:
    from gateway.providers import registry

    modules = {kind.translator.__module__ for kind in registry.PROVIDERS.values()}
    declaring = {
        module
        for module, path in MODULES.items()
        if _package(module) == "providers" and "\nKIND = ProviderKind(" in path.read_text()
    }
    assert declaring == modules


_IMPORT_EACH = """
import importlib, sys
bad = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "gateway" or m.startswith("gateway.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except (ImportError, AttributeError) as exc:
        if "partially initialized" in str(exc):
            bad.append(f"{name}: {exc}")
print("\\n".join(bad))
"""


def test_every_module_imports_first_without_a_circle() -> None:
    """Each module imported first, on a clean slate: arrows through a package's
    ``__init__`` (which the graph above does not follow) must not close a circle at run
    time. One interpreter; gateway's modules are dropped between imports."""
    import os
    import subprocess
    import sys

    names = sorted(m for m in MODULES if m != "gateway.__main__")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, *names], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
