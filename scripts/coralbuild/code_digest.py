"""The code a script runs: the script and every module of the package it imports, directly or
not. Each rule's inputs list the digest of these files (rule code_digest), so that an edit of any
code a job runs reruns that job, and only the jobs that run it. Standard library only: read while
Snakemake builds the DAG.
"""

import ast
import functools
import os
import re

PACKAGE = "coralbuild"


def code_files(script):
    """The script and every file of the package it imports, directly or not.

    Listed as a rule's inputs, they make an edit of any code a job runs rerun that job and
    only the jobs that run it.
    """
    script = os.path.normpath(script)
    package_dir = os.path.join(os.path.dirname(script), PACKAGE)
    found, pending = set(), [script]
    while pending:
        for module in _imported_package_files(pending.pop(), package_dir):
            if module not in found:
                found.add(module)
                pending.append(module)
    return [script] + sorted(found)


# What names a package module in a script's text: `from coralbuild.x import a, b` (a and b may be
# modules), `import coralbuild.x`, and a module named in a string ("coralbuild.measure.measurement",
# run with python -m). A regular expression rather than the syntax tree: it reads the whole package
# about 15 times faster, and this runs at every DAG build.
_IMPORTS = re.compile(rf"""^[ \t]*from[ \t]+({PACKAGE}[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)
                         |^[ \t]*import[ \t]+({PACKAGE}[\w.]*)
                         |["']({PACKAGE}\.[\w.]+)["']""", re.MULTILINE | re.VERBOSE)


# Paths as strings and os.path rather than pathlib: this runs at every DAG build, and pathlib's
# objects cost about as much as the reading itself.
@functools.lru_cache(maxsize=None)  # every rule asks; read each file once per DAG build
def _imported_package_files(source, package_dir):
    names = set()
    with open(source, encoding="utf-8") as text:
        for module, imported, plain, named in _IMPORTS.findall(text.read()):
            if module:
                names.add(module)
                for alias in imported.strip("()").split(","):
                    if alias.split():
                        names.add(f"{module}.{alias.split()[0]}")
            names.update(name for name in (plain, named) if name)
    files = set()
    for parts in (name.split(".") for name in names):
        if parts[0] == PACKAGE:
            files.update(_module_files(package_dir, tuple(parts[1:])))
    return frozenset(files)


@functools.lru_cache(maxsize=None)  # the same modules are imported from many files
def _module_files(package_dir, parts):
    """The files importing `coralbuild.<parts>` runs: each package's __init__.py on the way and
    the module itself; a trailing name that is not a module (a function, a class) is skipped."""
    files, folder = [os.path.join(package_dir, "__init__.py")], package_dir
    for part in parts:
        init = os.path.join(folder, part, "__init__.py")
        if os.path.isfile(init):
            folder = os.path.join(folder, part)
            files.append(init)
            if _is_registry(init):  # its modules are imported by name, on first use
                files += sorted(os.path.join(folder, name) for name in os.listdir(folder)
                                if name.endswith(".py") and not name.startswith("."))  # as glob's *.py
        elif os.path.isfile(os.path.join(folder, f"{part}.py")):
            files.append(os.path.join(folder, f"{part}.py"))
            break
        else:
            break
    return tuple(files)


@functools.lru_cache(maxsize=None)
def _is_registry(init_file):
    """A package whose __init__ finds its modules itself (a call handed its own `__path__`:
    registry.entries or registry.declared, or pkgutil.iter_modules): every module in it is one of
    the registry's entries, imported by name."""
    with open(init_file, encoding="utf-8") as text:
        tree = ast.parse(text.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(isinstance(argument, ast.Name) and argument.id == "__path__"
                                              for argument in node.args):
            return True
    return False
