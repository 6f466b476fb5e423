"""The workflow's stages: the script each rule runs, the config it depends on and the rules it
reads from (a device target's benchmark stage from its declaration, measure/targets/); and from
them, the settings each job is given and what the manifest records of every artifact. Standard
library only (the format and target registries are declarations), so that the manifest and
comparison jobs run without TensorFlow and a dry run stays cheap."""

import hashlib
import json
from dataclasses import dataclass

from coralbuild import layout
from coralbuild.data.formats import DEFAULT_FORMAT, formats_of_task
from coralbuild.measure.targets import all_targets
from coralbuild.tasks import task_name


def model_datasets(config, model):
    """The datasets a model runs on: its `datasets`, else every dataset its task is measured on,
    else none (layout.NO_DATASET: a detector brought without a detection dataset)."""
    settings = config["models"][model]
    if "datasets" in settings:
        return settings["datasets"]
    formats = formats_of_task(task_name(settings))
    return [name for name, dataset in config["datasets"].items()
            if dataset.get("format", DEFAULT_FORMAT) in formats] or [layout.NO_DATASET]


def dataset_models(config):
    """Every (dataset, model) pair the workflow builds."""
    return [(dataset, model) for model in config["models"] for dataset in model_datasets(config, model)]


def split_settings(settings):
    """What the prepared data depends on: content checksums, image size and colour, split
    parameters; not where the files live."""
    keys = ("format", "sha256", "image_size", "color", "test_size", "validation_size", "seed",
            "max_train_size", "max_test_size")
    return {"format": DEFAULT_FORMAT, **{key: settings[key] for key in keys if key in settings}}


def architecture_settings(model_settings):
    """What the model is, without its training settings and the datasets it runs on."""
    return {key: value for key, value in model_settings.items() if key not in ("train", "datasets")}


def train_settings(train, model_settings):
    """The train section with the model's own `train` overrides applied."""
    return {**train, **model_settings.get("train", {})}


@dataclass(frozen=True)
class Stage:
    script: str  # what the rule runs, under scripts/
    # The config its rule reads (tests/test_stage_config.py checks the rules against it): "dataset"
    # and "model" stand for the wildcards' entries, "model" with the train section it overrides;
    # "<section>.<key>" for that key alone (quantize.representative_samples).
    config: tuple = ()
    inputs: tuple = ()  # the rules whose outputs it reads (checked against Snakemake's rule graph)


# Every rule that runs code, by the outputs it makes. The tables at the end read the whole config.
TRAINED_OR_BROUGHT_INT8 = ("quantize_int8", "import_int8")  # whichever makes the model's int8 file
# The artifacts a device target's job takes (its INPUTS), by the rules that make them.
ARTIFACTS = {"data": ("prepare_dataset",), "trained": ("train", "convert_float32"), "metrics": ("evaluate",),
             "int8": TRAINED_OR_BROUGHT_INT8, "compiled": ("compile_edgetpu",), "coefficients": ()}


def _target_stage(target):
    return Stage(target.SCRIPT, target.CONFIG, tuple(rule for artifact in target.INPUTS for rule in ARTIFACTS[artifact]))


TARGET_RULES = tuple(target.RULE for target in all_targets())  # one benchmark rule per device target
STAGES = {
    "download_dataset_file": Stage("download_dataset_file.py", ("dataset",)),
    "prepare_dataset": Stage("prepare_dataset.py", ("dataset",), ("download_dataset_file",)),
    "train": Stage("train.py", ("model",), ("prepare_dataset",)),
    "export_saved_model": Stage("export_saved_model.py", (), ("train",)),
    "convert_float32": Stage("convert_tflite.py", (), ("export_saved_model",)),
    "quantize_int8": Stage("convert_tflite.py", ("model", "quantize"), ("export_saved_model", "prepare_dataset")),
    "import_int8": Stage("import_int8.py", ("model",), ("prepare_dataset",)),
    # A model quantized here: its metrics record the calibration images asked for.
    "evaluate": Stage("evaluate.py", ("model", "quantize.representative_samples"),
                      ("prepare_dataset", "train", "convert_float32", *TRAINED_OR_BROUGHT_INT8)),
    "compile_edgetpu": Stage("compile_edgetpu.py", ("compile",), TRAINED_OR_BROUGHT_INT8),
    "predict_edgetpu": Stage("predict_edgetpu.py", ("compile", "predict"), TRAINED_OR_BROUGHT_INT8),
    **{target.RULE: _target_stage(target) for target in all_targets()},
    "benchmark_table": Stage("collect_benchmark.py", (), (*TARGET_RULES, "compile_edgetpu", "predict_edgetpu")),
    "summary_table": Stage("summarize_results.py", (), ("benchmark_table", "evaluate")),
    "plot_results": Stage("plot_results.py", (), ("benchmark_table", "evaluate", "train")),
    "manifest": Stage("write_manifest.py"),  # reads every artifact
    "compare_baseline": Stage("compare_results.py", (), ("benchmark_table", "manifest")),  # with `baseline` set
}
# Rules whose outputs summarize the whole run, and so depend on the whole config.
SUMMARY_RULES = ("benchmark_table", "summary_table", "plot_results", "manifest", "compare_baseline")
# Rule -> the file rule code_digest writes for its script: the sha256 of it and its modules.
CODE_DIGESTS = {rule: layout.code_digest(stage.script.removesuffix(".py")) for rule, stage in STAGES.items()}


def upstream_rules(rule, unused=()):
    """`rule` and every rule whose outputs reach it, leaving out the `unused` ones."""
    found, pending = set(), [rule]
    while pending:
        current = pending.pop()
        if current not in found and current not in unused:
            found.add(current)
            pending.extend(STAGES[current].inputs)
    return found


def unused_rules(config, compiled, trained, dataset=None, model=None):
    """The rules that make nothing for this dataset and model: a path dataset downloads nothing,
    a brought int8 model is neither trained nor quantized, a trained one not imported."""
    unused = set() if compiled else {"compile_edgetpu"}
    if dataset == layout.NO_DATASET:
        unused.update({"download_dataset_file", "prepare_dataset"})
    elif dataset is not None and "url" not in config["datasets"][dataset]:
        unused.add("download_dataset_file")
    if model is not None:
        unused.update({"import_int8"} if model in trained else {"train", "export_saved_model", "convert_float32", "quantize_int8"})
    return unused


WHOLE_CONFIG = ["datasets", "models", "train", "quantize", "compile", "predict", "benchmark"]


def _sections(config, part, dataset, model):
    """What a part of a stage's declaration stands for: (manifest section name, job settings key,
    settings) of each config section in it."""
    if part == "dataset":
        return [(f"datasets.{dataset}", "dataset", split_settings(config["datasets"][dataset]))]
    if part == "model":
        settings = config["models"][model]
        return [(f"models.{model}", "model", architecture_settings(settings)),
                ("train", "train", train_settings(config["train"], settings))]
    if "." in part:  # one key of a section
        section, key = part.split(".", 1)
        return [(part, key, config[section].get(key))]
    return [(part, part, config[part])]


def job_settings(config, rule, dataset=None, model=None):
    """The config a job of `rule` is given: its stage's declared parts, by settings key ("dataset",
    "model", "train", "quantize", ..., and a key's own name for a "<section>.<key>" part)."""
    return {key: settings for part in STAGES[rule].config
            for _, key, settings in _sections(config, part, dataset, model)}


def upstream_config(config, rule, dataset=None, model=None, unused=()):
    """The parts of `config` that `rule`'s output depends on, directly or through its inputs:
    section name ("datasets.<name>", "models.<name>", "train", "quantize", ...) -> its settings."""
    if rule in SUMMARY_RULES:
        return {part: config[part] for part in WHOLE_CONFIG}
    chosen = {}
    for part in sorted({part for upstream in upstream_rules(rule, unused) for part in STAGES[upstream].config}):
        if part == "model" and model is None:
            continue  # a dataset's own stages
        if part == "quantize.representative_samples" and "quantize_int8" in unused:
            continue  # read only for a model quantized here
        chosen.update({name: settings for name, _, settings in _sections(config, part, dataset, model)})
    return chosen


# What each model and each run makes that the manifest lists: (rule, file or folder name).
TRAINED_ARTIFACTS = [("train", layout.ARTIFACT_FILES["keras"]), ("train", "history.csv"),
                     ("export_saved_model", "saved_model"), ("convert_float32", layout.ARTIFACT_FILES["float32"]),
                     ("quantize_int8", layout.ARTIFACT_FILES["int8"]), ("quantize_int8", "labels.txt")]
IMPORTED_ARTIFACTS = [("import_int8", layout.ARTIFACT_FILES["int8"]), ("import_int8", "labels.txt")]
RUN_TABLES = [("benchmark_table", layout.BENCHMARK_TABLE), ("summary_table", layout.SUMMARY_TABLE)]


def manifest_paths(config, compiled, trained, benchmark_rules, plots):
    """The files and folders manifest_entries describes: the manifest job's inputs."""
    made, digests = _made(config, compiled, trained, benchmark_rules, plots)
    return [path for _, path, _, _ in made] + digests


def manifest_entries(config, compiled, trained, benchmark_rules, plots):
    """Every output of the default target, and the code digests of the rules that make them: its
    path, the rule that makes it, the hash of the config it depends on and of each section of it,
    and the code digests of every rule on the way to it."""
    made, digests = _made(config, compiled, trained, benchmark_rules, plots)
    described = {}  # one description per (rule, dataset, model), however many files the rule makes
    for rule, _, dataset, model in made:
        if (rule, dataset, model) not in described:
            described[rule, dataset, model] = _describe(config, compiled, trained, rule, dataset, model)
    entries = [{"path": path, "rule": rule, **described[rule, dataset, model]} for rule, path, dataset, model in made]
    for entry in entries:
        if entry["rule"] in SUMMARY_RULES:  # made from every model's artifacts: all the run's code
            entry["code"] = digests
    return entries + [{"path": path, "rule": "code_digest", "config_hash": config_hash({}), "config_sections": {},
                       "code": [path]} for path in digests]


def _made(config, compiled, trained, benchmark_rules, plots):
    """(rule, path, dataset, model) of every output of the default target, and the code digests
    of every rule that runs for them."""
    per_model = [("predict_edgetpu", "edgetpu_prediction.json"), ("evaluate", "metrics.json")]
    per_model += [("compile_edgetpu", "edgetpu")] if compiled else []
    benchmarked = [target for target in all_targets() if target.RULE in benchmark_rules]
    per_model += [(target.RULE, target.OUTPUTS["table"]) for target in benchmarked]  # the tables first
    per_model += [(target.RULE, name) for target in benchmarked for key, name in target.OUTPUTS.items() if key != "table"]
    made = [("prepare_dataset", layout.data_folder(dataset), dataset, None) for dataset in config["datasets"]]
    for dataset, model in dataset_models(config):
        kind = TRAINED_ARTIFACTS if model in trained else IMPORTED_ARTIFACTS
        made += [(rule, layout.model_path(name, dataset, model), dataset, model) for rule, name in kind + per_model]
    made += [(rule, path, None, None) for rule, path in RUN_TABLES + [("plot_results", plot) for plot in plots]]
    # Every rule on the way to an output makes one of them, but downloads, which are not listed.
    running = {rule for rule, *_ in made} | {"download_dataset_file" for settings in config["datasets"].values()
                                             if "url" in settings}
    return made, sorted({CODE_DIGESTS[rule] for rule in running})


def _describe(config, compiled, trained, rule, dataset, model):
    unused = unused_rules(config, compiled, trained, dataset, model)
    sections = upstream_config(config, rule, dataset, model, unused)
    return {"config_hash": config_hash(sections),
            "config_sections": {name: config_hash(settings) for name, settings in sections.items()},
            "code": sorted({CODE_DIGESTS[upstream] for upstream in upstream_rules(rule, unused)})}


def config_hash(settings):
    return hashlib.sha256(as_json(settings).encode()).hexdigest()[:16]


def as_json(settings):
    """A stable JSON text, so an unchanged section never looks changed to Snakemake."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))
