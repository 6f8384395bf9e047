"""Find the recipe (or benchmark-suite) modules of a package with pkgutil, without importing them."""
import ast
import importlib
import pkgutil
from importlib.util import find_spec


def find(package: str) -> list[str]:
    """Names of the modules in `package` that are entries (not `common`, not `_private` helpers)."""
    path = find_spec(package).submodule_search_locations
    return sorted(m.name for m in pkgutil.iter_modules(path)
                  if not m.name.startswith("_") and m.name != "common" and not m.ispkg)


def describe(package: str, name: str) -> str:
    """The first line of the module's docstring, read from its source (nothing is imported)."""
    spec = find_spec(f"{package}.{name}")
    source = spec.loader.get_source(spec.name) or ""
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else "(no description)"


def load(package: str, name: str):
    """Import `package.name`."""
    return importlib.import_module(f"{package}.{name}")
