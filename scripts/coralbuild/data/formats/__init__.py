"""Dataset formats: the registry of what a dataset's `format` key may name.

Each format is one module with:
    TASK                                 the task its datasets measure (coralbuild/tasks/: "classify",
                                         "detect"), a literal read without importing the module
    check_config(name, settings)         planning time: a ConfigError naming the key, or nothing
    rule_inputs(name, settings)          planning time: the files the prepare job reads (named)
    source_digest(name, settings)        planning time: a digest of what the prepare job reads beyond those
                                         inputs (an image folder's images), or None; a change reruns the job
    prepare_source(name, settings)       planning time: where the prepare job reads the data (JSON-able)
    download_source(settings, file_name) planning time, formats that download: (url, sha256, largest size in bytes) of one file
    image_size(settings)                 planning time: (height, width) of the prepared images, or None if unknown
    prepare(settings, source, folder, threads)   the prepare job: writes the prepared dataset
and one schema block in config/schema.yaml. Planning-time functions run while Snakemake builds
the DAG: no TensorFlow there. Every module of this package is a format, named by its file: adding
one is its module and its schema block. The registry names modules, imported on first use, so
that reading it (the stage table does) costs nothing.
"""

from coralbuild import registry

FORMATS = registry.entries(__name__, __path__)
DEFAULT_FORMAT = "idx"


def format_module(name):
    return registry.load(FORMATS, name)


def dataset_format(settings):
    return format_module(settings.get("format", DEFAULT_FORMAT))


def format_task(name):
    """The task a format's datasets measure (its TASK), without importing the format's module."""
    return registry.constant(FORMATS[name], "TASK")


def formats_of_task(task_name):
    """The formats whose datasets a model of `task_name` is measured on."""
    return tuple(name for name in FORMATS if format_task(name) == task_name)
