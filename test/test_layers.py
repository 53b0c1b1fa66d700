"""How grau's modules may import each other (ARCHITECTURE.md: imports go one way).

Read from the source with `ast`, so a rule breaks here, by name, instead of
as a circular import at start-up or as a service that quietly needs Flask.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GRAU = Path(__file__).resolve().parent.parent / "grau"
RESOURCES = ("accounts", "body_stats", "catalog", "moods", "nutrition", "ops", "plans", "workouts")


def _module_name(path: Path) -> str:
    parts = path.relative_to(GRAU.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules imported at a module's top level (imports inside functions are lazy on purpose)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(path): _imports(path) for path in sorted(GRAU.rglob("*.py"))}


def _grau_imports(module: str) -> set[str]:
    return {name for name in MODULES[module] if name in MODULES and name != module}


def test_no_module_imports_itself_back():
    """The module graph has no cycle: each module can be read after those it imports."""
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = (*path[path.index(module) :], module)
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for imported in _grau_imports(module):
            visit(imported, (*path, module))
        done.add(module)

    for module in MODULES:
        visit(module, ())


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def test_resource_packages_depend_one_way():
    """Between resources, dependencies form a tree: workouts uses the catalog, never back."""
    uses = {
        resource: {
            _package(imported)
            for module in MODULES
            if _package(module) == resource
            for imported in _grau_imports(module)
            if _package(imported) in RESOURCES and _package(imported) != resource
        }
        for resource in RESOURCES
    }
    for resource, used in uses.items():
        for other in used:
            assert resource not in uses[other], f"{resource} and {other} import each other"


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if m.endswith(".service") or m.startswith("grau.core")],
)
def test_services_and_core_never_import_flask(module):
    assert not {name for name in MODULES[module] if name.split(".")[0] in ("flask", "werkzeug")}
