"""Helpers for the Snakefile: config checks, per-rule settings, and the code each script runs.

Imported while Snakemake builds the DAG, so it must stay light: no TensorFlow.
"""

import ast
import functools
import hashlib
import json
from pathlib import Path

from coralbuild.data.formats import DEFAULT_FORMAT, FORMATS, dataset_format, idx
from coralbuild.models.architectures import ARCHITECTURES
from coralbuild.errors import ConfigError  # noqa: F401 (the Snakefile catches it)

PACKAGE = "coralbuild"
NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]*"


def describe_validation_error(error):
    """One line for a jsonschema ValidationError: the key path, then what is wrong."""
    where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"invalid config at {where}: {error.message}"


def check_dataset_sources(datasets):
    """Each dataset's source as its format requires (files present, folder layout)."""
    for name, settings in datasets.items():
        if settings.get("format", DEFAULT_FORMAT) not in FORMATS:
            raise ConfigError(f"invalid config at datasets.{name}.format: unknown format "
                              f"{settings['format']!r} (known: {', '.join(sorted(FORMATS))})")
        dataset_format(settings).check_config(name, settings)


def check_models(config):
    """Each model names a known architecture and known datasets, whose images it can take."""
    for name, settings in config["models"].items():
        if settings["architecture"] not in ARCHITECTURES:
            raise ConfigError(f"invalid config at models.{name}.architecture: unknown architecture "
                              f"{settings['architecture']!r} (known: {', '.join(sorted(ARCHITECTURES))})")
        for dataset in settings.get("datasets", []):
            if dataset not in config["datasets"]:
                raise ConfigError(f"invalid config at models.{name}.datasets: no dataset named {dataset!r}")
        minimum = ARCHITECTURES[settings["architecture"]].min_image_size(settings)
        for dataset in model_datasets(config, name):
            size = config["datasets"][dataset].get("image_size")
            if size and min(size) < minimum:
                raise ConfigError(f"invalid config at datasets.{dataset}.image_size: {size[0]}x{size[1]} is too small "
                                  f"for model {name} ({settings['architecture']}), the minimum is {minimum}x{minimum}")


def model_datasets(config, model):
    """The datasets a model runs on: its `datasets`, or every dataset."""
    return config["models"][model].get("datasets", list(config["datasets"]))


def dataset_models(config):
    """Every (dataset, model) pair the workflow builds."""
    return [(dataset, model) for model in config["models"] for dataset in model_datasets(config, model)]


def dataset_inputs(name, settings):
    """The files the dataset's prepare step reads, named."""
    return dataset_format(settings).rule_inputs(name, settings)


def dataset_source(settings, inputs):
    """Where the prepare script reads the data: the image folder, or the four IDX files."""
    if settings.get("format") == "image_folder":
        return {"folder": settings["path"]}
    return {part: inputs[part] for part in idx.PARTS}


def download_source(settings, file_name):
    return idx.download_source(settings, file_name)


def split_settings(settings):
    """What the prepared data depends on: content checksums, image size and colour, split
    parameters; not where the files live."""
    keys = ("format", "sha256", "image_size", "color", "test_size", "validation_size", "seed",
            "max_train_size", "max_test_size")
    return {"format": DEFAULT_FORMAT, **{key: settings[key] for key in keys if key in settings}}


def input_range(model_settings):
    """The float pixel range the model takes, as "LOW HIGH": its architecture's."""
    low, high = ARCHITECTURES[model_settings["architecture"]].input_range
    return f"{float(low)!r} {float(high)!r}"


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
