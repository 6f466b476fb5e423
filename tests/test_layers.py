"""The package's layers (ARCHITECTURE.md): no import loop between modules, no module importing
from a higher layer, and the planning modules the Snakefile reads at every dry run cheap to import."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCRIPTS

PACKAGE = SCRIPTS / "coralbuild"
# Lowest first. A module may import its own unit and any unit of a lower layer; the domain units
# (one layer) do not import each other.
LAYERS = [
    {"errors", "registry"},  # the one-line error every layer raises; how a registry finds its entries
    {"atomic", "inputs", "statuses", "layout", "defaults", "code_digest", "tasks"},  # foundation: no domain knowledge
    {"yaml_input"},  # YAML files a user writes, read as bounded regular files (inputs)
    {"data", "models", "edgetpu"},  # the domain: datasets, networks, the Edge TPU compiler and placement
    {"measure"},  # running models on data (CPU, Edge TPU)
    {"stages"},  # the stage table: what each rule runs and reads
    {"reporting"},  # tables, figures, manifest, comparison
    {"workflow"},  # planning helpers for the Snakefile
]
LAYER = {unit: index for index, units in enumerate(LAYERS) for unit in units}


def module_name(path):
    parts = path.relative_to(SCRIPTS).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, known):
    """The package modules `path` imports, lazily or not, and the registries' module names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coralbuild"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("coralbuild."):
            names.add(node.value)
    return {name for name in names if name in known}


@pytest.fixture(scope="module")
def graph():
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, modules) - {name} for name, path in modules.items()}


def unit(module):
    """The layer unit of a module: its subpackage, or the module itself at the top."""
    return module.split(".")[1] if "." in module else None


def test_every_unit_has_a_layer(graph):
    assert {unit(module) for module in graph} - {None} == set(LAYER)


def test_no_import_loop_between_modules(graph):
    # Package __init__ files that only document (no imports) are leaves; a loop is a path back to itself.
    state = {}

    def visit(module, path):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                raise AssertionError(f"import loop: {' -> '.join(path + [imported])}")
            if imported not in state:
                visit(imported, path + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_module_imports_a_higher_layer_or_a_sibling_domain(graph):
    wrong = []
    for module, imported in graph.items():
        for target in imported:
            source_unit, target_unit = unit(module), unit(target)
            if None in (source_unit, target_unit) or source_unit == target_unit:
                continue
            if LAYER[target_unit] > LAYER[source_unit] or (LAYER[target_unit] == LAYER[source_unit]):
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong


def test_the_check_sees_a_planted_upward_import(graph):
    """Not vacuous: an import from reporting into the domain is caught."""
    planted = {**graph, "coralbuild.data.split": graph["coralbuild.data.split"] | {"coralbuild.reporting.table"}}
    with pytest.raises(AssertionError):
        test_no_module_imports_a_higher_layer_or_a_sibling_domain(planted)


@pytest.mark.parametrize("module", ["coralbuild.stages", "coralbuild.layout", "coralbuild.statuses",
                                    "coralbuild.code_digest", "coralbuild.data.formats",
                                    "coralbuild.measure.targets", "coralbuild.tasks"])
def test_planning_modules_import_only_the_standard_library(module):
    probe = (f"import sys; sys.path.insert(0, {str(SCRIPTS)!r}); import {module}, json;"
             "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                       check=True).stdout)
    outside = [name for name in loaded if name not in sys.stdlib_module_names and name not in ("coralbuild", "__main__")
               and not name.startswith("_")]
    assert not outside, f"{module} loads {outside}"


def test_the_task_of_each_format_is_read_without_importing_the_formats():
    """A format declares its task (TASK); planning reads it from the source, so that numpy and
    Pillow, which the format modules import, stay unloaded at every dry run."""
    probe = (f"import sys, json; sys.path.insert(0, {str(SCRIPTS)!r}); from coralbuild.data.formats import formats_of_task;"
             "tasks = {task: formats_of_task(task) for task in ('classify', 'detect', 'none')};"
             "print(json.dumps([tasks, sorted({name.split('.')[0] for name in sys.modules})]))")
    tasks, loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                              check=True).stdout)
    assert "numpy" not in loaded and "PIL" not in loaded
    from coralbuild.data.formats import FORMATS, format_module

    imported = {name: format_module(name).TASK for name in FORMATS}  # what the modules say, imported
    assert {task: sorted(name for name in imported if imported[name] == task) for task in tasks} == tasks
    assert {"idx", "image_folder"} <= set(tasks["classify"]) and "yolo" in tasks["detect"] and tasks["none"] == []


def test_every_module_the_benchmark_runs_is_linted_as_python39():
    """The benchmark runs in Coral's Python 3.9 stack too: every module it imports is in
    pyproject.toml's per-file-target-version as py39, so that ruff checks it as 3.9 code."""
    import tomllib

    from coralbuild.code_digest import code_files

    declared = tomllib.loads((SCRIPTS.parent / "pyproject.toml").read_text())["tool"]["ruff"]["per-file-target-version"]
    as_py39 = {path.relative_to(SCRIPTS.parent) for pattern, version in declared.items() if version == "py39"
               for path in SCRIPTS.parent.glob(pattern)}
    runs = {Path(path).resolve().relative_to(SCRIPTS.parent) for path in code_files(SCRIPTS / "benchmark.py")}
    assert runs <= as_py39, sorted(str(path) for path in runs - as_py39)
