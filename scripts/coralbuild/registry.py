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
    """The value of `attribute`, a literal assigned at the top of the module `module_name`, read
    from its source without importing it: a declaration of an entry whose module imports heavy
    libraries (a dataset format: numpy, Pillow), read at planning time for nothing."""
    with open(importlib.util.find_spec(module_name).origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == attribute
                                                for target in node.targets):
            return ast.literal_eval(node.value)
    raise AttributeError(f"{module_name} declares no {attribute}")
