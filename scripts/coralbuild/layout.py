"""Where the workflow's outputs live, declared once: the rules, the stage table, the manifest, the
comparison and the tables all ask here.

    results/<dataset>/data/                    the prepared dataset
    results/<dataset>/downloads/<file>         a dataset's downloaded files
    results/<dataset>/<model>/<file>           one model's artifacts, with logs/ and benchmarks/
    results/_no_dataset/<model>/<file>         those of a model that runs on no dataset (a
                                               detector or other model brought without one)
    results/code/<script>.sha256               the code digest of each script
    results/<file>                             the run's tables, plots and manifest, with logs/

Every function returns a path relative to the working directory, as the rules name it. Left out,
`dataset` and `model` are Snakemake's wildcards, so that the rules write `model_path("model.keras")`.
Standard library only: every layer reads it.
"""

from pathlib import Path

RESULTS = "results"
DATASET, MODEL = "{dataset}", "{model}"
# The dataset folder of models that run on no dataset: a leading underscore, which dataset names
# cannot have (config/schema.yaml `name`), so it never meets a dataset's own folder.
NO_DATASET = "_no_dataset"


def dataset_path(name, dataset=DATASET):
    """A dataset's own file or folder: `data`, `downloads/<file>`, `logs/...`."""
    return f"{RESULTS}/{dataset}/{name}"


def data_folder(dataset=DATASET):
    """The prepared dataset (x_*.npy, y_*.npy, dataset.json, ...)."""
    return dataset_path("data", dataset)


def download(filename, dataset=DATASET):
    return dataset_path(f"downloads/{filename}", dataset)


def model_folder(dataset=DATASET, model=MODEL):
    return f"{RESULTS}/{dataset}/{model}"


def model_path(name, dataset=DATASET, model=MODEL):
    """One of a model's artifacts on a dataset (model.keras, model_int8.tflite, metrics.json, ...)."""
    return f"{model_folder(dataset, model)}/{name}"


def model_log(rule, dataset=DATASET, model=MODEL):
    return model_path(f"logs/{rule}.log", dataset, model)


def model_benchmark(rule, dataset=DATASET, model=MODEL):
    """Snakemake's time and memory record of a model's job."""
    return model_path(f"benchmarks/{rule}.tsv", dataset, model)


def dataset_log(rule, dataset=DATASET):
    return dataset_path(f"logs/{rule}.log", dataset)


def dataset_benchmark(rule, dataset=DATASET):
    return dataset_path(f"benchmarks/{rule}.tsv", dataset)


def run_path(name):
    """A file of the whole run: benchmark.csv, summary.csv, manifest.json, plots/..., comparison/..."""
    return f"{RESULTS}/{name}"


def run_log(rule):
    return run_path(f"logs/{rule}.log")


def run_benchmark(rule):
    return run_path(f"benchmarks/{rule}.tsv")


def code_digest(script):
    """The digest of `scripts/<script>.py` and the package modules it imports."""
    return run_path(f"code/{script}.sha256")


# Folder names the layout gives to the run and to each dataset, beside the datasets' and models'
# own folders: no dataset and no model may take one (workflow.check_reserved_names).
RUN_FOLDERS = ("logs", "benchmarks", "code", "plots", "comparison")
DATASET_FOLDERS = ("data", "downloads", "logs", "benchmarks")


# edgetpu_compiler names what it writes after its input: <stem>_edgetpu.tflite and <stem>_edgetpu.log.
COMPILED_SUFFIX = "_edgetpu"


def compiled_name(model_name):
    """The file name edgetpu_compiler gives the compiled model of `model_name` (a .tflite)."""
    return f"{Path(model_name).stem}{COMPILED_SUFFIX}.tflite"


# The compiled model, in the compile folder `edgetpu/`, and where each artifact a results row
# measures lives in its model's folder.
COMPILED_MODEL = compiled_name("model_int8.tflite")
ARTIFACT_FILES = {"keras": "model.keras", "float32": "model_float32.tflite", "int8": "model_int8.tflite",
                  "edgetpu": f"edgetpu/{COMPILED_MODEL}"}

BENCHMARK_TABLE = run_path("benchmark.csv")
SUMMARY_TABLE = run_path("summary.csv")
MANIFEST = run_path("manifest.json")


def benchmark_table_candidates(path):
    """Where a run's benchmark table may be, given a results folder, the project folder holding
    one, or the table itself."""
    path = Path(path)
    return [path] if path.suffix == ".csv" else [path / "benchmark.csv", path / RESULTS / "benchmark.csv"]
