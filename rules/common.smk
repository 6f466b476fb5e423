# Config validation and the helpers the rules share. No TensorFlow here: dry runs stay fast.

import sys
from pathlib import Path

from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from coralbuild import workflow as wf


def validated(config):
    """The config, checked against config/schema.yaml and for dataset sources, or one clear line."""
    try:
        validate(config, "../config/schema.yaml", set_default=False)
        wf.check_dataset_sources(config["datasets"])
    except WorkflowError as error:
        # snakemake.utils.validate wraps the jsonschema error, whose key path we want.
        cause = error.__context__ if isinstance(error.__context__, ValidationError) else None
        raise WorkflowError(wf.describe_validation_error(cause) if cause else str(error)) from None
    except wf.ConfigError as error:
        raise WorkflowError(str(error)) from None
    return config


validated(config)


wildcard_constraints:
    dataset=wf.NAME_PATTERN,
    model=wf.NAME_PATTERN,
    filename=r"[^/]+",


def code(script):
    """Named inputs `script` and `modules`: the script a rule runs and the package modules it
    imports, so that an edit of either reruns the rule."""
    script, *modules = wf.code_files(f"scripts/{script}")
    return lambda wildcards: {"script": script, "modules": modules}


def dataset_settings(wildcards):
    return config["datasets"][wildcards.dataset]


def model_settings(wildcards):
    return config["models"][wildcards.model]


def all_models(pattern):
    """`pattern` expanded over every configured dataset and model."""
    return expand(pattern, dataset=config["datasets"], model=config["models"])
