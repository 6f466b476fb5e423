"""The README's "Retrain a pretrained network on your photos": its config and command, as written,
on a small folder of generated photos, with Keras' cache seeded (nothing is downloaded)."""

import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd
import yaml

from conftest import PROJECT, copy_project, environment

WEIGHTS = PROJECT / "tests/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def readme_recipe():
    """The YAML block after the README's retrain-config marker, and the shell command after it."""
    text = (PROJECT / "README.md").read_text()
    after = text.split("<!-- retrain-config", 1)[1]
    config, command = re.findall(r"```(?:yaml|sh)\n(.*?)```", after, flags=re.S)[:2]
    return config, command.strip()


def make_photos(folder, classes=3, per_class=15, seed=0):
    """JPEG photos of a coloured disc on a noisy background, its colour and place by class."""
    import PIL.Image
    import PIL.ImageDraw

    rng = np.random.default_rng(seed)
    colours = [(200, 40, 40), (40, 180, 60), (50, 60, 210)]
    for label in range(classes):
        (folder / f"class_{label}").mkdir(parents=True)
        for index in range(per_class):
            image = PIL.Image.fromarray(rng.integers(60, 160, (100, 120, 3), dtype=np.uint8))
            x, y = 20 + 25 * label + rng.integers(-8, 8), 50 + rng.integers(-15, 15)
            PIL.ImageDraw.Draw(image).ellipse((x, y - 25, x + 50, y + 25), fill=colours[label])
            image.save(folder / f"class_{label}" / f"IMG_{index:04d}.JPG", quality=90)


def test_the_readme_recipe_runs_as_written(tmp_path):
    config, command = readme_recipe()
    assert len(config.strip().splitlines()) <= 12
    assert command == ".venv/bin/snakemake --cores 2 --configfile retrain.yaml"
    project = copy_project(tmp_path / "project")
    (project / "retrain.yaml").write_text(config)
    make_photos(project / "my_photos")
    # Keras' 96x96 file for MobileNetV2 0.35 cannot be downloaded here: the cache holds the
    # 224x224 file under its name (the same layers and shapes, other values). What runs is the
    # README's config and Keras' `weights="imagenet"` path, reading the cache.
    cache = tmp_path / "keras-home" / "models"
    cache.mkdir(parents=True)
    (cache / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5").write_bytes(WEIGHTS.read_bytes())
    words = shlex.split(command)
    result = subprocess.run([sys.executable, "-m", "snakemake", *words[1:]], cwd=project, capture_output=True,
                            text=True, env=environment(KERAS_HOME=str(cache.parent)))
    assert result.returncode == 0, result.stderr[-4000:]

    results = project / "results"
    datasets = {path.parent.parent.name for path in results.glob("*/*/metrics.json")}
    assert datasets == {"photos"}  # the default config's MNIST is not merged in
    history = pd.read_csv(results / "photos/mnv2/history.csv")
    assert list(dict.fromkeys(history["phase"])) == ["frozen", "fine_tune"]
    assert history["kept"].sum() == 1
    evaluation = json.loads((results / "photos/mnv2/metrics.json").read_text())
    metrics, examples = evaluation["artifacts"], evaluation["test_examples"]
    # int8 as good as float32 up to two of the few test images
    assert metrics["int8"]["accuracy"] >= 0.8
    assert abs(metrics["int8"]["accuracy"] - metrics["float32"]["accuracy"]) <= 2 / examples + 1e-9
    train_log = (results / "photos/mnv2/logs/train.log").read_text()
    assert "Downloading" not in train_log and "phase fine_tune" in train_log
    assert (results / "manifest.json").is_file() and (results / "summary.csv").is_file()
    assert yaml.safe_load(config)["models"]["mnv2"]["weights"] == "imagenet"
