"""Helpers for the Snakefile: config checks, per-rule settings, and the code each script runs.

Imported while Snakemake builds the DAG, so it must stay light: standard library only.
"""

import ast
import functools
import hashlib
import json
from pathlib import Path

from coralbuild.data.files import STANDARD_FILE_NAMES

PACKAGE = "coralbuild"
NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]*"


class ConfigError(Exception):
    """A config problem; the message names the key."""


def describe_validation_error(error):
    """One line for a jsonschema ValidationError: the key path, then what is wrong."""
    where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"invalid config at {where}: {error.message}"


def check_dataset_sources(datasets):
    """Each dataset names exactly one source, and a local folder must hold its files."""
    for name, settings in datasets.items():
        sources = [key for key in ("path", "url") if key in settings]
        if len(sources) != 1:
            raise ConfigError(f"invalid config at datasets.{name}: give exactly one of 'path' or 'url'")
        if "path" in settings:
            for file_name in file_names(settings).values():
                if not (Path(settings["path"]) / file_name).is_file():
                    raise ConfigError(
                        f"invalid config at datasets.{name}.path: {Path(settings['path']) / file_name} not found"
                    )


def file_names(dataset_settings):
    """The dataset's four file names: the standard MNIST names unless `files` overrides them."""
    return {**STANDARD_FILE_NAMES, **dataset_settings.get("files", {})}


def dataset_inputs(name, settings):
    """Where the prepare step reads each part: the local folder, or the verified download."""
    if "path" in settings:
        folder = Path(settings["path"])
        return {part: str(folder / file_name) for part, file_name in file_names(settings).items()}
    return {part: f"results/{name}/downloads/{file_name}" for part, file_name in file_names(settings).items()}


def download_source(settings, file_name):
    """(url, sha256) of one file of a URL dataset."""
    part = {file: part for part, file in file_names(settings).items()}[file_name]
    return settings["url"].rstrip("/") + "/" + file_name, settings["download_sha256"][part]


def split_settings(settings):
    """What the prepared split depends on: content checksums and split parameters, not where
    the files live (moving the folder does not change the data)."""
    keys = ("sha256", "validation_size", "seed", "max_train_size", "max_test_size")
    return {key: settings.get(key) for key in keys}


def architecture_settings(model_settings):
    return {key: value for key, value in model_settings.items() if key != "train"}


def train_settings(train, model_settings):
    """The train section with the model's own `train` overrides applied."""
    return {**train, **model_settings.get("train", {})}


def prediction_arguments(compile_settings, predict_settings):
    """The prediction command's options: the compiler options that change placement, and the
    predict section."""
    extra = compile_settings.get("extra_args", [])
    arguments = ["--min-runtime-version", str(compile_settings["min_runtime_version"])]
    if "-a" in extra or "--enable_multiple_subgraphs" in extra:
        arguments.append("--multiple-subgraphs")
    if predict_settings["require_full_mapping"]:
        arguments.append("--require-full-mapping")
    return arguments


# The config an artifact depends on, through the stages that lead to it: rule -> config parts.
UPSTREAM_CONFIG = {
    "prepare_dataset": ["dataset"],
    "train": ["dataset", "model"],
    "export_saved_model": ["dataset", "model"],
    "convert_float32": ["dataset", "model"],
    "quantize_int8": ["dataset", "model", "quantize"],
    "predict_edgetpu": ["dataset", "model", "quantize", "compile", "predict"],
    "compile_edgetpu": ["dataset", "model", "quantize", "compile"],
    "evaluate": ["dataset", "model", "quantize"],
    "benchmark_cpu": ["dataset", "model", "quantize", "benchmark"],
    "benchmark_edgetpu": ["dataset", "model", "quantize", "compile", "benchmark"],
}
WHOLE_CONFIG = ["datasets", "models", "train", "quantize", "compile", "predict", "benchmark"]


def upstream_config(config, rule, dataset=None, model=None):
    """The parts of `config` that `rule`'s output depends on, directly or through its inputs."""
    parts = {
        "dataset": lambda: {f"datasets.{dataset}": split_settings(config["datasets"][dataset])},
        "model": lambda: {f"models.{model}": architecture_settings(config["models"][model]),
                          "train": train_settings(config["train"], config["models"][model])},
    }
    chosen = {}
    for part in UPSTREAM_CONFIG.get(rule, WHOLE_CONFIG):
        chosen.update(parts[part]() if part in parts else {part: config[part]})
    return chosen


def config_hash(settings):
    return hashlib.sha256(as_json(settings).encode()).hexdigest()[:16]


def as_json(settings):
    """A stable JSON text, so an unchanged section never looks changed to Snakemake."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


def code_files(script):
    """The script and every file of the package it imports, directly or not.

    Listed as a rule's inputs, they make an edit of any code a job runs rerun that job and
    only the jobs that run it.
    """
    script = Path(script)
    package_dir = script.parent / PACKAGE
    found, pending = set(), [script]
    while pending:
        for module in _imported_package_files(pending.pop(), package_dir):
            if module not in found:
                found.add(module)
                pending.append(module)
    return [str(script)] + sorted(str(path) for path in found)


@functools.lru_cache(maxsize=None)  # every rule asks; parse each file once per DAG build
def _imported_package_files(source, package_dir):
    names = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    files = set()
    for parts in (name.split(".") for name in names):
        if parts[0] == PACKAGE:
            files.update(_module_files(package_dir, parts[1:]))
    return frozenset(files)


def _module_files(package_dir, parts):
    """The files importing `coralbuild.<parts>` runs: each package's __init__.py on the way and
    the module itself; a trailing name that is not a module (a function, a class) is skipped."""
    files, folder = [package_dir / "__init__.py"], package_dir
    for part in parts:
        if (folder / part / "__init__.py").is_file():
            folder = folder / part
            files.append(folder / "__init__.py")
        elif (folder / f"{part}.py").is_file():
            files.append(folder / f"{part}.py")
            break
        else:
            break
    return files
