# Config validation and the helpers the rules share. No TensorFlow here: dry runs stay fast.

import functools
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from coralbuild import stages
from coralbuild.code_digest import code_files
from coralbuild.measure.estimate.setups import COEFFICIENTS
from coralbuild.measure.targets import all_targets, configured_devices, targets_of
from coralbuild.statuses import skipped
from coralbuild import workflow as wf
from coralbuild.edgetpu.compiler import (
    DECISION_VARIABLE,
    HOW_TO_GET_ONE,
    decision_from_text,
    decision_to_text,
    find_compiler,
)
from coralbuild.layout import (
    ARTIFACT_FILES,
    BENCHMARK_TABLE,
    MANIFEST,
    NO_DATASET,
    SUMMARY_TABLE,
    code_digest,
    data_folder,
    dataset_benchmark,
    dataset_log,
    download,
    model_benchmark,
    model_log,
    model_path,
    run_benchmark,
    run_log,
    run_path,
)


def run_jobs_with_this_python():
    """The jobs' shell commands call `python`: make it the interpreter running Snakemake, which has
    the workflow's packages whether or not its environment was activated (.venv/bin/snakemake), by
    putting its folder first on the PATH the jobs inherit. Under --sdm conda each job's shell
    command activates its own environment, whose python then comes first."""
    folder = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(folder, "python")):
        if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
            return
        raise WorkflowError(
            f"the jobs run `python`, and this Snakemake's Python ({sys.executable}) has no `python` "
            "beside it: run the Snakemake of the project's virtual environment (`make run` creates it; "
            "then .venv/bin/snakemake), or use --sdm conda"
        )
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[0] != folder:  # a job of this run (remote mode) parses this file again
        os.environ.update(PATH=os.pathsep.join([folder, *path]))


run_jobs_with_this_python()


def check_config(config):
    """Check the config against config/schema.yaml and its dataset sources, one clear line if bad;
    validating fills in the schema's defaults of the sections and keys it leaves out."""
    try:
        wf.check_config_files(workflow.configfiles)
        wf.check_registered_names(config)
        wf.check_reserved_names(config)
        wf.check_paths(config)
        wf.validate_config(
            config,
            Path(workflow.basedir) / "config/schema.yaml",
            memo=wf.VALIDATED_CONFIG,
            update_memo=workflow.is_main_process,
        )
        wf.check_devices(config["benchmark"]["devices"])
        wf.check_estimate_setups(config["benchmark"]["estimate"])
        wf.check_dataset_sources(config["datasets"])
        wf.check_models(config)
        wf.baseline_table(config["baseline"])
    except wf.ConfigError as error:
        raise WorkflowError(str(error)) from None


# The workflow's own files, wherever Snakemake runs (-d): its scripts, and the dataset folders of
# its config (the vendored MNIST) when the working directory has no folder of that name.
WORKFLOW_DIR = os.path.relpath(workflow.basedir)
# The latency estimate's fitted coefficients: an input of its jobs, so a refit reruns them.
ESTIMATE_COEFFICIENTS = os.path.relpath(COEFFICIENTS)
wf.resolve_workflow_datasets(config, WORKFLOW_DIR)
check_config(config)

# The Edge TPU compiler, found once per DAG build; without one the compile stage is left out
# (auto), stops the run (required), or is never wanted (off). Decided on the host that builds the
# DAG and passed to the jobs (envvars below): a cluster job parses this file again, on a node that
# may have no compiler, and must plan what the DAG planned.
if workflow.is_main_process or DECISION_VARIABLE not in os.environ:
    COMPILER, NO_COMPILER = find_compiler(config["compile"])
    os.environ[DECISION_VARIABLE] = decision_to_text(COMPILER, NO_COMPILER)
else:
    COMPILER, NO_COMPILER = decision_from_text(os.environ[DECISION_VARIABLE])


envvars:
    DECISION_VARIABLE,


if COMPILER is None and config["compile"]["compiler"] == "required" and workflow.is_main_process:
    raise WorkflowError(
        f"compile.compiler is required, but no compiler was found ({NO_COMPILER}); to get one, {HOW_TO_GET_ONE}"
    )
if COMPILER is None and config["compile"]["compiler"] == "auto" and workflow.is_main_process:
    logger.warning(f"Edge TPU compile left out: {NO_COMPILER}. To compile, {HOW_TO_GET_ONE}.")


wildcard_constraints:
    dataset=f"{wf.NAME_PATTERN}|{NO_DATASET}",
    model=wf.NAME_PATTERN,
    filename=r"[^/]+",
    script=r"\w+",


# Model names by source, for the rules only some of them take.
TRAINED = wf.trained_models(config)
# An earlier run's benchmark table to compare with (config `baseline`), or None.
BASELINE = wf.baseline_table(config["baseline"])
TRAINED_MODELS = wf.alternatives(TRAINED)
INT8_MODELS = wf.alternatives([name for name in config["models"] if name not in TRAINED])


def code(rule):
    """Named inputs `script`, the script `rule` runs, and `code`, the digest of it and the package
    modules it imports, written by code_digest; an edit of either reruns the rule."""
    script = os.path.normpath(os.path.join(WORKFLOW_DIR, "scripts", stages.STAGES[rule].script))
    return lambda wildcards: {"script": script, "code": stages.CODE_DIGESTS[rule]}


def script_code(stem):
    """The script `scripts/<stem>.py` and every package module it imports, directly or not."""
    return code_files(os.path.join(WORKFLOW_DIR, "scripts", f"{stem}.py"))


def stage_config(rule, wildcards):
    """The config parts `rule`'s stage declares (stages.STAGES[rule].config), by key ("dataset",
    "model", "train", "quantize", ...): all a rule reads of the config but where files live."""
    return _job_settings(rule, getattr(wildcards, "dataset", None), getattr(wildcards, "model", None))


def stage_settings(rule):
    """A rule's `settings` param: its stage's config parts, each as the JSON text its script takes
    ({params.settings[<key>]:q}); an edit of one reruns exactly the rules that read it."""
    return lambda w: _job_settings_json(rule, getattr(w, "dataset", None), getattr(w, "model", None))


# Once per job: a job's params ask several times, and a large DAG has thousands of jobs.
@functools.cache
def _job_settings(stage, dataset, model):
    return stages.job_settings(config, stage, dataset, model)


@functools.cache
def _job_settings_json(stage, dataset, model):
    return {key: stages.as_json(value) for key, value in _job_settings(stage, dataset, model).items()}


def dataset_settings(wildcards):
    return config["datasets"][wildcards.dataset]


def model_settings(wildcards):
    return config["models"][wildcards.model]


def prepared_data(wildcards):
    """The prepared dataset, as the named input `data` (none for a model run on no dataset)."""
    return {} if wildcards.dataset == NO_DATASET else {"data": data_folder(wildcards.dataset)}


def data_option(wildcards, input):
    """The scripts' --data option, when the job has a dataset."""
    return [f"--data={input.data}"] if "data" in input.keys() else []


def brought_model(wildcards):
    """The file a brought model comes from, as the named input `source` (none for built models)."""
    source = model_settings(wildcards).get("source")
    return {"source": source} if source else {}


def pretrained_weights(wildcards):
    """The weights file a model starts from, as the named input `weights` (none for imagenet or scratch)."""
    weights = wf.weights_file(model_settings(wildcards))
    return {"weights": weights} if weights else {}


def trained_artifacts(wildcards):
    """The Keras checkpoint and float32 model, for models that have them."""
    if wildcards.model not in TRAINED:
        return {}
    return {
        artifact: model_path(ARTIFACT_FILES[artifact], wildcards.dataset, wildcards.model)
        for artifact in ("keras", "float32")
    }


def all_models(pattern, models=None):
    """`pattern` expanded over every (dataset, model) pair: each model on its datasets."""
    return [
        pattern.format(dataset=dataset, model=model)
        for dataset, model in stages.dataset_models(config)
        if models is None or model in models
    ]


def compile_reports():
    """Every model's compile folder, when the compile stage runs."""
    return all_models(model_path("edgetpu")) if COMPILER else []


# The artifacts a device target's job takes (its INPUTS), as named inputs: each a function of the
# job's wildcards (stages.ARTIFACTS names the rules that make them).
ARTIFACT_INPUTS = {
    "data": prepared_data,
    "trained": trained_artifacts,
    "metrics": lambda w: {"metrics": model_path("metrics.json", w.dataset, w.model)},
    "int8": lambda w: {"int8": model_path(ARTIFACT_FILES["int8"], w.dataset, w.model)},
    # The compile folder, when the compile stage runs.
    "compiled": lambda w: {"compiled": model_path("edgetpu", w.dataset, w.model)} if COMPILER else {},
    "coefficients": lambda w: {"coefficients": ESTIMATE_COEFFICIENTS},
}


def target_inputs(target):
    """A device target's named inputs: those of its artifacts this model has."""
    return lambda wildcards: {
        name: path for artifact in target.INPUTS for name, path in ARTIFACT_INPUTS[artifact](wildcards).items()
    }


def target_arguments(target):
    """A device target's script options for one job (its `arguments`), from what the job is given."""

    def arguments(wildcards, input, output):
        job = wf.BenchmarkJob(
            dataset=wildcards.dataset,
            model=wildcards.model,
            input=dict(input.items()),
            output=dict(output.items()),
            settings=stage_config(target.RULE, wildcards),
            no_compiled_model=skipped(NO_COMPILER) if NO_COMPILER else "",
        )
        return target.arguments(job)

    return arguments


def all_cores():
    """Every core of a local run, for jobs that must run alone; 1 where Snakemake has no core
    total (cluster executors), whose profile sets those jobs' threads and node instead."""
    try:
        return workflow.cores
    except WorkflowError:
        return 1


def benchmarked_targets():
    """The device targets the `benchmark` section asks for, each once (the CPU for `cpu`, the Edge
    TPU for its devices, the estimate for `estimate` setups)."""
    return targets_of(configured_devices(config["benchmark"]))


def benchmark_rules():
    """The benchmark rules of those targets."""
    return [target.RULE for target in benchmarked_targets()]


def benchmark_tables():
    """Every model's rows of those targets (each target's table)."""
    return [path for target in benchmarked_targets() for path in all_models(model_path(target.OUTPUTS["table"]))]


def show_warnings(logs):
    """Repeat the `warning:` lines of job logs as Snakemake warnings, each once (the models of a
    dataset repeat its warnings)."""
    lines = [line for log in logs if Path(log).exists() for line in Path(log).read_text().splitlines()]
    for line in dict.fromkeys(line for line in lines if line.startswith("warning: ")):
        logger.warning(line)
