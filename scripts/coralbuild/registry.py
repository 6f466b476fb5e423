"""The one way a registry package finds its entries: every module of the package is an entry,
named by its file and imported on first use, so that reading a registry (the Snakefile and the
stage table do) costs nothing; or, where a module declares several entries (the architectures:
one module of Keras applications), the entries each module declares; or one literal an entry
declares, read from its source (`constant`). Standard library only;
runs in Coral's Python 3.9 stack too.

code_digest.py recognises a registry by its call given `__path__`: the digest of a script that
reads one covers every module of the package."""

import ast
import functools
import importlib
import importlib.util
import pkgutil
import re


def entries(package_name, package_path):
    """name -> importable module name of every module of the package at `package_path`."""
    return {module.name: f"{package_name}.{module.name}" for module in pkgutil.iter_modules(package_path)}


def load(registry, name):
    """The module of entry `name` of `registry` (an entries() dict)."""
    return importlib.import_module(registry[name])


def declared(package_name, package_path, attribute):
    """name -> entry, merged from the dict named `attribute` of every module of the package at
    `package_path` that has one (modules are imported: theirs must be cheap to import)."""
    merged = {}
    for module in entries(package_name, package_path).values():
        merged.update(getattr(importlib.import_module(module), attribute, {}))
    return merged


@functools.lru_cache(maxsize=None)
def constant(module_name, attribute):
    """The value of `attribute`, a literal assigned on one line of its own, at the start of the line,
    in the module `module_name` (`TASK = "detect"`; the first such line counts, so no docstring or
    comment line of the module may start with it), read from its source without importing it: a declaration of
    an entry whose module imports heavy libraries (a dataset format: numpy, Pillow), read at
    planning time for nothing. A regular expression, not the syntax tree: this runs at every DAG
    build, and parsing a module costs milliseconds."""
    with open(importlib.util.find_spec(module_name).origin, encoding="utf-8") as source:
        found = re.search(rf"^{re.escape(attribute)}\s*=\s*([^#\n]+)", source.read(), re.MULTILINE)
    if found is None:
        raise AttributeError(f"{module_name} declares no {attribute}")
    return ast.literal_eval(found.group(1).strip())
