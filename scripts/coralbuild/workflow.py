"""Helpers for the Snakefile: config checks, per-rule settings, and the code each script runs.

Imported while Snakemake builds the DAG, so it must stay light: no TensorFlow.
"""

import copy
import functools
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from coralbuild.data.formats import DEFAULT_FORMAT, FORMATS, dataset_format, formats_of_task
from coralbuild.defaults import load_schema
from coralbuild.errors import BadInput, ConfigError
from coralbuild.layout import BENCHMARK_TABLE, DATASET_FOLDERS, NO_DATASET, RUN_FOLDERS, benchmark_table_candidates
from coralbuild.measure.estimate.setups import check_setups
from coralbuild.measure.targets import known_devices, own_entries, target_of
from coralbuild.models.architectures import ARCHITECTURES
from coralbuild.models.sources import model_source
from coralbuild.models.sources.architecture import weights_file  # noqa: F401 (the rules read it)
from coralbuild.stages import as_json, model_datasets, train_settings
from coralbuild.tasks import TASKS, task_name, task_of
from coralbuild.yaml_input import read_yaml

NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]*"


def describe_validation_error(error):
    """One line for a jsonschema ValidationError: the key path, then what is wrong."""
    where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"invalid config at {where}: {error.message}"


# A valid config's filled-in form, kept between DAG builds beside Snakemake's own records (relative
# to the working directory): validating costs jsonschema's import and a walk of the schema at every
# dry run, a tenth of its overhead; a config seen valid before with the same schema and code is
# filled from here instead.
VALIDATED_CONFIG = Path(".snakemake/coralbuild/validated_config.json")


def validate_config(config, schema_path, memo=None, update_memo=False):
    """Validate `config` against the schema, giving every key it leaves out the `default` the
    schema declares for it (in a `properties` entry), in place, nested ones too (a section's
    `default: {}` is then filled): the defaults live in the schema alone. A ConfigError naming
    the key when the config is invalid. (snakemake.utils.validate's own filling fails on boolean
    subschemas such as `format: true`.) `memo`: a file remembering the last valid config (read;
    written too with `update_memo`)."""
    _check_values(config)
    key = _memo_key(config, schema_path) if memo else None
    filled = _remembered(memo, key) if key else None
    if filled is not None:
        config.clear()
        config.update(filled)
        return
    _validate(config, schema_path)
    if key and update_memo:
        _remember(memo, key, config)


def _validate(config, schema_path):
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_then_check(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for key, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema and key not in instance:
                    instance[key] = copy.deepcopy(subschema["default"])
        yield from check_properties(validator, properties, instance, schema)

    validator = validators.extend(Draft202012Validator, {"properties": fill_then_check})(load_schema(schema_path))
    errors = list(itertools.islice(validator.iter_errors(config), MAX_ERRORS))
    if errors:
        raise ConfigError(describe_validation_error(_most_telling(errors)))


def _memo_key(config, schema_path):
    """What a remembered validation holds for: the config in its order, the schema and this
    module's code (which fills the defaults); None for a config JSON does not carry unchanged
    (keys that are not strings)."""
    try:
        text = json.dumps(config)
        if json.loads(text) != config:
            return None
        parts = [text.encode(), Path(schema_path).read_bytes(), Path(__file__).read_bytes()]
    except (TypeError, ValueError, OSError):
        return None
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _remembered(memo, key):
    try:
        remembered = json.loads(Path(memo).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return remembered.get("config") if isinstance(remembered, dict) and remembered.get("key") == key else None


def _remember(memo, key, config):
    from coralbuild.atomic import write_text

    try:
        write_text(memo, json.dumps({"key": key, "config": config}))
    except (OSError, BadInput):
        pass  # a read-only working directory, or a file where its folder goes: validate again next time


MAX_ERRORS = 100  # errors looked at for the one to report


def _most_telling(errors):
    """The first error; but where it is `unevaluatedProperties`, an error of the same entry from
    another keyword: an entry whose `then` block fails (a required key missing) also fails
    `unevaluatedProperties` for every key of that block, which would call its right keys
    unexpected instead of naming the missing one."""
    first = errors[0]
    if first.validator != "unevaluatedProperties":
        return first
    path = list(first.absolute_path)
    return next((error for error in errors if error.validator != "unevaluatedProperties"
                 and list(error.absolute_path)[:len(path)] == path), first)


# More values than any config of this workflow holds: a YAML alias bomb ("billion laughs")
# expands past it, and is stopped before anything walks the whole of it.
MAX_CONFIG_VALUES = 100_000


def _check_values(config):
    """No NaN or infinity anywhere (YAML's .nan and .inf pass every JSON Schema bound), and no
    more than MAX_CONFIG_VALUES values, counted as aliases expand."""
    pending, seen = [(config, ())], 0
    while pending:
        value, path = pending.pop()
        seen += 1
        if seen > MAX_CONFIG_VALUES:
            raise ConfigError(f"invalid config: more than {MAX_CONFIG_VALUES:,} values (YAML aliases expanding "
                              "without end?)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"invalid config at {'.'.join(map(str, path)) or '(top level)'}: {value} is not a "
                              "finite number")
        if isinstance(value, dict):
            pending += [(item, (*path, key)) for key, item in reversed(value.items())]
        elif isinstance(value, list):
            pending += [(item, (*path, index)) for index, item in reversed(list(enumerate(value)))]


def check_registered_names(config):
    """Formats and architectures the registries know, checked before the schema, whose blocks
    depend on them (an unknown name would otherwise be reported as unexpected keys)."""
    for section, key, registry in (("datasets", "format", FORMATS), ("models", "architecture", ARCHITECTURES),
                                   ("models", "task", TASKS)):
        entries = config.get(section)
        for name, settings in (entries.items() if isinstance(entries, dict) else []):
            value = settings.get(key) if isinstance(settings, dict) else None
            if isinstance(value, str) and value not in registry:
                raise ConfigError(f"invalid config at {section}.{name}.{key}: unknown {key} {value!r} "
                                  f"(known: {', '.join(sorted(registry))})")


def check_reserved_names(config):
    """No dataset named as a folder of the run (results/plots/), no model as a folder of a
    dataset (results/<dataset>/data/): their outputs would land in each other's."""
    for section, reserved, beside in (("datasets", RUN_FOLDERS, "results/"), ("models", DATASET_FOLDERS, "results/<dataset>/")):
        for name in config.get(section) or {}:
            if name in reserved:
                raise ConfigError(f"invalid config at {section}.{name}: {name!r} is a folder the workflow writes in "
                                  f"{beside} ({', '.join(reserved)}); choose another name")


# Config keys naming files or folders: Snakemake reads { and } in a path as a wildcard.
PATH_KEYS = ("path", "source", "weights", "url")


def check_config_files(paths):
    """Each config file, read again refusing a key given twice: Snakemake's reader keeps the
    last value silently, so a setting written twice would lose one without a word."""
    for path in paths:
        try:
            read_yaml(path)
        except BadInput as error:
            raise ConfigError(f"invalid config: {error}") from None


def check_paths(config):
    """No `{` or `}` in a path the config names (datasets' `path` and `url`, models' `source` and
    `weights`, `baseline`): Snakemake would stop with a WildcardError naming a rule."""
    named = [("baseline", config.get("baseline"))]
    for section in ("datasets", "models"):
        for name, settings in (config.get(section) or {}).items():
            named += [(f"{section}.{name}.{key}", settings.get(key)) for key in PATH_KEYS if isinstance(settings, dict)]
    for key, value in named:
        if isinstance(value, str) and ("{" in value or "}" in value):
            raise ConfigError(f"invalid config at {key}: {value!r} holds {{ or }}, which Snakemake reads as a "
                              "wildcard; rename the file or folder")


def check_devices(devices):
    """Each `benchmark.devices` entry names a device of a known target (measure/targets/)."""
    for device in devices:
        if target_of(device) is None or target_of(device).CONFIG_KEY != "devices":
            raise ConfigError(f"invalid config at benchmark.devices: unknown device {device!r} (known: {known_devices()})")


def check_estimate_setups(setups):
    """Each `benchmark.estimate` entry is a calibrated setup of the latency estimate."""
    try:
        check_setups(setups, "benchmark.estimate")
    except BadInput as error:
        raise ConfigError(f"invalid config at {error}") from None


def resolve_workflow_datasets(config, workflow_dir):
    """Point a relative dataset `path` that does not exist in the working directory at the
    workflow's folder of that name, when there is one (the default config's vendored MNIST, in a
    run from another directory). Paths of your own data stay relative to the working directory."""
    datasets = config.get("datasets")
    for settings in (datasets.values() if isinstance(datasets, dict) else []):
        path = settings.get("path") if isinstance(settings, dict) else None
        if isinstance(path, str) and not os.path.isabs(path) and not os.path.exists(path):
            own = os.path.join(workflow_dir, path)
            if os.path.exists(own):
                settings["path"] = os.path.normpath(own)


@functools.cache
def baseline_table(baseline):
    """The benchmark table of config `baseline` (a results folder, the project folder holding one,
    or the table itself), or None when no baseline is set."""
    if baseline is None:
        return None
    candidates = benchmark_table_candidates(baseline)
    if Path(BENCHMARK_TABLE).resolve() in {candidate.resolve() for candidate in candidates}:
        raise ConfigError(f"invalid config at baseline: {baseline} is this run's own results; copy them elsewhere first")
    table = next((candidate for candidate in candidates if candidate.is_file()), None)
    if table is None:
        raise ConfigError(f"invalid config at baseline: {baseline} is not an earlier run's results folder "
                          f"(no {' or '.join(str(candidate) for candidate in candidates)})")
    # Read as the comparison job will, so that a corrupt table stops the run here, before any job
    # (a failing job would already have had its earlier outputs removed). pandas only with a baseline.
    from coralbuild.reporting.compare.runs import load_run

    try:
        load_run(table, "baseline")
    except BadInput as error:
        raise ConfigError(f"invalid config at baseline: {error}") from None
    return str(table)


def check_dataset_sources(datasets):
    """Each dataset's source as its format requires (files present, folder layout)."""
    for name, settings in datasets.items():
        dataset_format(settings).check_config(name, settings)


def check_models(config):
    """Each model has a known source (architecture or file) and known datasets, whose images it can take."""
    image_sizes = {}  # dataset -> its image size, read once however many models take it
    for name, settings in config["models"].items():
        source = model_source(name, settings)
        source.check_config(name, settings)
        if "architecture" in settings and train_settings(config["train"], settings)["epochs"] == 0:
            key = f"models.{name}.train.epochs" if "epochs" in settings.get("train", {}) else "train.epochs"
            raise ConfigError(f"invalid config at {key}: 0 leaves model {name}, built here, untrained "
                              "(0 is for models you bring)")
        for dataset in settings.get("datasets", []):
            if dataset not in config["datasets"]:
                raise ConfigError(f"invalid config at models.{name}.datasets: no dataset named {dataset!r}")
        _check_fine_tuning(config, name, settings)
        _check_task(config, name, settings)
        minimum = source.min_image_size(settings)
        for dataset in model_datasets(config, name):
            if dataset == NO_DATASET:
                continue
            dataset_settings = config["datasets"][dataset]
            if dataset not in image_sizes:
                image_sizes[dataset] = dataset_format(dataset_settings).image_size(dataset_settings)
            size = image_sizes[dataset]
            if size and min(size) < minimum:
                given = "image_size" in dataset_settings
                described = f"{size[0]}x{size[1]} is" if given else f"none given, and its images ({size[0]}x{size[1]}) are"
                raise ConfigError(f"invalid config at datasets.{dataset}.image_size: {described} too small for model "
                                  f"{name} ({settings.get('architecture')}), the minimum is {minimum}x{minimum}")
            if settings.get("weights") is not None and dataset_settings.get("color") != "rgb":
                raise ConfigError(f"invalid config at datasets.{dataset}.color: model {name} starts from pretrained "
                                  "weights, which take RGB images; set color: rgb")


def _check_task(config, name, settings):
    """The model's task can be given to it, and its datasets are of a format the task is measured on."""
    task, name_of_task = task_of(settings), task_name(settings)
    formats = formats_of_task(name_of_task)
    if not task.TRAINABLE and model_source(name, settings).TRAINED:
        raise ConfigError(f"invalid config at models.{name}.task: task {name_of_task} takes a model you bring as a "
                          "fully int8 .tflite (a model trained here is a classifier)")
    for dataset in settings.get("datasets", []):
        found = config["datasets"][dataset].get("format", DEFAULT_FORMAT)
        if found not in formats:
            raise ConfigError(f"invalid config at models.{name}.datasets: dataset {dataset} is of format {found}, "
                              f"and a task-{name_of_task} model is measured on "
                              f"{' or '.join(formats) or 'no dataset'}")
    if task.NEEDS_DATASET and model_datasets(config, name) == [NO_DATASET]:
        raise ConfigError(f"invalid config at models.{name}: a task-{name_of_task} model needs a dataset of format "
                          f"{' or '.join(formats)}, and `datasets` has none")


def _check_fine_tuning(config, name, settings):
    """`fine_tune` leaves epochs to fine-tune in (a head trained alone is `unfreeze: 0`)."""
    if "fine_tune" not in settings:
        return
    frozen, epochs = settings["fine_tune"]["frozen_epochs"], train_settings(config["train"], settings)["epochs"]
    if frozen >= epochs:
        raise ConfigError(f"invalid config at models.{name}.fine_tune.frozen_epochs: {frozen} frozen epochs of "
                          f"{epochs} leave none to fine-tune (raise train.epochs, or give unfreeze: 0 to train "
                          "only the head)")


def trained_models(config):
    """Models with Keras, SavedModel and float32 stages (built here or brought as Keras)."""
    return [name for name, settings in config["models"].items() if model_source(name, settings).TRAINED]


def alternatives(names):
    """A wildcard pattern matching exactly these names (nothing when there are none)."""
    return "|".join(names) if names else "(?!)"


def dataset_inputs(name, settings):
    """The files the dataset's prepare step reads, named."""
    return dataset_format(settings).rule_inputs(name, settings)


def dataset_source_digest(name, settings):
    """What the prepare step reads beyond its input files, as a digest (an image folder's sha256),
    or None: a change reruns it."""
    return dataset_format(settings).source_digest(name, settings)


def dataset_source(name, settings):
    """Where the prepare script reads the data (its format says: the four IDX files, an image folder)."""
    return dataset_format(settings).prepare_source(name, settings)


def download_source(settings, file_name):
    return dataset_format(settings).download_source(settings, file_name)


def input_range(name, model_settings):
    """The float pixel range the model takes, as "LOW HIGH"."""
    low, high = model_source(name, model_settings).input_range(model_settings)
    return f"{float(low)!r} {float(high)!r}"


@dataclass(frozen=True)
class BenchmarkJob:
    """What a device target's benchmark job is given, for its `arguments(job)` (measure/targets/)."""

    dataset: str
    model: str
    input: dict  # named inputs: the artifacts of the target's INPUTS that this model has
    output: dict  # named outputs: the target's OUTPUTS
    settings: dict  # the config parts its stage declares (stages.job_settings), by key
    no_compiled_model: str  # why no compiled model exists, when none does

    def settings_json(self, key):
        """A part of its settings as the scripts take it (--settings)."""
        return as_json(self.settings[key])

    def benchmark_options(self, target_name):
        """The benchmark script's options naming the model, its prepared data if any, and the
        `benchmark.devices` entries of the target `target_name` (its module's __name__)."""
        data = [f"--data={self.input['data']}"] if "data" in self.input else []
        devices = own_entries(target_name, self.settings["benchmark"]["devices"])
        return ["--dataset", self.dataset, "--model", self.model, *data, "--devices", *devices]

    def input_range(self):
        """The model's pixel range, LOW and HIGH (a target declaring the "model" part)."""
        return input_range(self.model, self.settings["model"]).split()


def prediction_arguments(settings):
    """The prediction command's options, from its stage's settings: the compiler options that
    change placement, and the predict section."""
    compile_settings, predict_settings = settings["compile"], settings["predict"]
    extra = compile_settings.get("extra_args", [])
    arguments = ["--min-runtime-version", str(compile_settings["min_runtime_version"])]
    if "-a" in extra or "--enable_multiple_subgraphs" in extra:
        arguments.append("--multiple-subgraphs")
    if predict_settings["require_full_mapping"]:
        arguments.append("--require-full-mapping")
    if predict_settings["fail_on_streaming"]:
        arguments.append("--fail-on-streaming")
    return arguments
