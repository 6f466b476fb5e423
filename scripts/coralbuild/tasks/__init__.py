"""Tasks: what a model's outputs mean, and so what its accuracy is measured on (`models.<name>.task`).

Each task is one module of this package (found by coralbuild/registry.py: a new task needs no line here) with:
    NEEDS_DATASET    True when a model of it cannot run without such a dataset
    TRAINABLE        True when models built or fine-tuned here can have it (else only a brought
                     int8 .tflite)
Declarations only, standard library only: the Snakefile plans with them. The datasets a task is
measured on are those of the formats that declare it (data/formats/: TASK): a model runs on every
dataset of these formats (or on those its `datasets` names), and on none where the config has none.
"""

from coralbuild import registry

TASKS = registry.entries(__name__, __path__)
# A model entry without `task` (every model built here) classifies.
DEFAULT_TASK = "classify"


def task(name):
    return registry.load(TASKS, name)


def task_name(model_settings):
    """The name of a model entry's task."""
    return model_settings.get("task", DEFAULT_TASK)


def task_of(model_settings):
    """The task module of a model entry."""
    return task(task_name(model_settings))
