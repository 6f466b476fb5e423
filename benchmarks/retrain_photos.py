"""Retraining on real photos (issue 19): a pretrained MobileNetV2 fine-tuned by the recommended
recipe against the same network from scratch, on a photo folder of class subfolders, at 20
training photos per class and at all of them; each through the whole workflow (prepare, train,
export, quantize, evaluate) in a fresh copy of the project.

    python benchmarks/retrain_photos.py                      (../shared/datasets/sign-language-digits)
    python benchmarks/retrain_photos.py --photos DIR --test-per-class 20 --validation-per-class 8
    python benchmarks/retrain_photos.py --weights imagenet   (Keras' own files: cache, else download)

Per class, `--test-per-class` photos (seeded) are the test set of every run, `--validation-per-class`
of the rest are drawn for validation by the workflow (seeded, stratified), and the training set
is `--few` photos per class, or all the rest. Both models share the epochs, batch size,
learning rate, augmentation, class weights and best-epoch rule; the pretrained one starts from
ImageNet weights, trains its head with the backbone frozen first and may stop early; the one
from scratch trains every epoch.

`--weights` is what the pretrained model's `weights:` gets. The default is Keras' ImageNet file
for MobileNetV2 alpha 0.35 at 224x224 taken as a path (from ../shared/keras-weights, offline):
Keras' own file for 96x96 (`weights: imagenet` at that size) cannot be downloaded here.
Prints one table (int8 and float32 top-1, balanced accuracy, wall time of the training chain);
asserts nothing.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from project_copy import PROJECT, copy_project

SHARED = PROJECT.parent / "shared"
DEFAULT_PHOTOS = SHARED / "datasets" / "sign-language-digits"
DEFAULT_WEIGHTS = SHARED / "keras-weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
# Stages from the trained checkpoint's inputs to the evaluated int8 model (Snakemake benchmark files).
MODELS = ("pretrained", "scratch")
CHAIN = ["train", "export_saved_model", "convert_float32", "quantize_int8", "evaluate"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of class subfolders of photos")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="the pretrained model's weights: imagenet or a file")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--test-per-class", type=int, default=20)
    parser.add_argument("--validation-per-class", type=int, default=8)
    parser.add_argument("--few", type=int, default=20, help="training photos per class of the small run")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--frozen-epochs", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed at the end)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def recipe(args, pretrained):
    """The model entry: the recommended recipe (README, "Retrain a pretrained network"), or the
    same network and training from scratch."""
    model = {"architecture": "mobilenet_v2", "alpha": 0.35}
    if pretrained:
        model.update(weights=args.weights, fine_tune={"frozen_epochs": args.frozen_epochs, "unfreeze": 60,
                                                      "learning_rate": 0.0001})
    else:
        # Every epoch: early stopping once ended it at epoch 7 of 20, on a plateau at chance.
        model.update(train={"early_stopping": None})
    return model


def split_folder(photos, root, test_per_class, train_per_class, seed=0):
    """`root`/train/<class>/ and `root`/test/<class>/ copies of `photos`: the same seeded
    `test_per_class` photos per class in test/, and `train_per_class` (None: all the rest) in train/."""
    for folder in sorted(path for path in photos.iterdir() if path.is_dir()):
        names = sorted(path.name for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        random.Random(f"{seed}/{folder.name}").shuffle(names)
        test, rest = names[:test_per_class], names[test_per_class:]
        for split, chosen in (("test", test), ("train", rest[:train_per_class])):
            (root / split / folder.name).mkdir(parents=True)
            for name in chosen:
                shutil.copy2(folder / name, root / split / folder.name / name)
    return root


def config(args, datasets):
    base = yaml.safe_load((PROJECT / "config" / "config.yaml").read_text())
    train = {"epochs": args.epochs, "batch_size": 32, "learning_rate": 0.001, "learning_rate_schedule": "cosine",
             "seed": 1, "keep": "best", "early_stopping": {"patience": 6}, "class_weight": "balanced",
             "augment": {"horizontal_flip": True, "max_shift": 0.1, "max_rotation": 10}}
    dataset = {"format": "image_folder", "image_size": [args.image_size] * 2, "color": "rgb",
               "validation_size": args.validation_per_class * len(datasets["few"][1]), "seed": 0}
    return {**base,
            "datasets": {name: {**dataset, "path": str(path)} for name, (path, _) in datasets.items()},
            "models": {"pretrained": recipe(args, True), "scratch": recipe(args, False)},
            # Convolutions quantized per channel (the default): per tensor, the pretrained network's
            # int8 model fell to chance (10%) here, its folded BatchNormalization scales spanning
            # orders of magnitude across the channels of one layer.
            "train": train, "quantize": {**base["quantize"], "conv_weights": "per_channel"},
            "benchmark": {**base["benchmark"], "devices": ["cpu"], "warmup": 5, "iterations": 50}}


def chain_seconds(results, dataset, model):
    total = 0.0
    for stage in CHAIN:
        table = (results / dataset / model / "benchmarks" / f"{stage}.tsv").read_text().splitlines()
        total += float(table[1].split("\t")[0])
    return total


def figures(results, dataset, model):
    metrics = json.loads((results / dataset / model / "metrics.json").read_text())["artifacts"]
    row = {"dataset": dataset, "model": model, "chain_s": round(chain_seconds(results, dataset, model), 1)}
    for artifact in ("float32", "int8"):
        row[f"{artifact}_top1"] = metrics[artifact]["accuracy"]
        row[f"{artifact}_balanced"] = metrics[artifact].get("balanced_accuracy")
    history = (results / dataset / model / "history.csv").read_text().splitlines()
    header = history[0].split(",")
    kept = next(line.split(",") for line in history[1:] if line.split(",")[header.index("kept")] == "True")
    row["epochs_run"], row["epoch_kept"] = len(history) - 1, int(kept[0])
    return row


def main():
    args = parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="retrain-photos-"))
    try:
        classes = sorted(path.name for path in args.photos.iterdir() if path.is_dir())
        datasets = {
            "few": (split_folder(args.photos, work / "photos_few", args.test_per_class,
                                 args.few + args.validation_per_class), classes),
            "all": (split_folder(args.photos, work / "photos_all", args.test_per_class, None), classes),
        }
        project = copy_project(work / "project")
        (project / "config" / "retrain.yaml").write_text(yaml.safe_dump(config(args, datasets), sort_keys=False))
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        started = time.monotonic()
        print(f"load average before: {os.getloadavg()}", flush=True)
        targets = [f"results/{dataset}/{model}/metrics.json" for dataset in datasets for model in MODELS]
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores), *targets, "--configfile",
                        "config/retrain.yaml"], cwd=project, env=environment, check=True)
        print(f"workflow: {time.monotonic() - started:.0f} s; load average after: {os.getloadavg()}")
        rows = [figures(project / "results", dataset, model) for dataset in datasets for model in MODELS]
        columns = list(rows[0])
        print(" | ".join(columns))
        for row in rows:
            print(" | ".join(f"{row[column]:.4f}" if isinstance(row[column], float) and column != "chain_s"
                             else str(row[column]) for column in columns))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
