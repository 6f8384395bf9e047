"""Find the recipe (or benchmark-suite) modules of a package with pkgutil and ast, without importing them."""
import ast
import importlib
import pkgutil
from importlib.util import find_spec


def _tree(package: str, name: str) -> ast.Module:
    spec = find_spec(f"{package}.{name}")
    return ast.parse(spec.loader.get_source(spec.name) or "")


def find(package: str) -> list[str]:
    """Names of the modules in `package` that define a top-level `main` (helpers such as common.py do not)."""
    path = find_spec(package).submodule_search_locations
    return sorted(m.name for m in pkgutil.iter_modules(path) if not m.ispkg and not m.name.startswith("_")
                  and any(isinstance(node, ast.FunctionDef) and node.name == "main"
                          for node in _tree(package, m.name).body))


def describe(package: str, name: str) -> str:
    """The first line of the module's docstring, read from its source (nothing is imported)."""
    doc = (ast.get_docstring(_tree(package, name)) or "").strip()
    return doc.splitlines()[0] if doc else "(no description)"


def load(package: str, name: str):
    """Import `package.name`."""
    return importlib.import_module(f"{package}.{name}")
