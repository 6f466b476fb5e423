import json
import subprocess
import sys

import pytest

from conftest import MNIST, SCRIPTS
from coralbuild import workflow as wf


def package_files(script):
    return {path.split("/")[-1] for path in wf.code_files(SCRIPTS / script)[1:]}


def test_code_files_follow_imports_transitively_and_stop_there():
    train = package_files("train.py")
    assert {"models.py", "training.py", "preprocessing.py", "datasets.py", "idx.py", "errors.py"} <= train
    assert not train & {"inference.py", "conversion.py", "latency.py", "benchmarking.py"}
    benchmark = package_files("benchmark.py")
    assert {"benchmarking.py", "inference.py", "latency.py", "table.py"} <= benchmark
    assert not benchmark & {"models.py", "training.py", "conversion.py", "edgetpu_rules.py", "final_table.py"}


@pytest.mark.parametrize("script", sorted(path.name for path in SCRIPTS.glob("*.py")))
def test_code_files_cover_every_module_a_script_imports(script):
    """The modules really loaded by importing the script are all listed (the script's own lazy
    imports inside main() are covered by the listing too, as the listing reads the source)."""
    probe = (
        "import importlib.util, json, sys;"
        f"sys.path.insert(0, {str(SCRIPTS)!r});"
        f"spec = importlib.util.spec_from_file_location('probe', {str(SCRIPTS / script)!r});"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec));"
        "print(json.dumps(sorted(m.split('.')[1] + '.py' for m in sys.modules if m.startswith('coralbuild.'))))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout))
    assert loaded <= package_files(script)


def test_settings_helpers():
    assert wf.as_json({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'
    model = {"architecture": "mlp", "dropout": 0.5, "train": {"epochs": 9}}
    assert wf.train_settings({"epochs": 1, "seed": 3}, model) == {"epochs": 9, "seed": 3}
    assert wf.architecture_settings(model) == {"architecture": "mlp", "dropout": 0.5}
    assert "path" not in wf.split_settings({"path": "x", "sha256": {}, "seed": 0, "validation_size": 5})


def test_dataset_inputs_for_a_folder_and_for_a_url():
    folder = wf.dataset_inputs("mnist", {"path": "data/mnist"})
    assert folder["train_images"] == "data/mnist/train-images-idx3-ubyte.gz"
    url = {"url": "https://example.org/fashion/", "download_sha256": {"test_labels": "ab" * 32},
           "files": {"test_labels": "labels.gz"}}
    assert wf.dataset_inputs("fashion", url)["test_labels"] == "results/fashion/downloads/labels.gz"
    assert wf.download_source(url, "labels.gz") == ("https://example.org/fashion/labels.gz", "ab" * 32)


def test_dataset_sources_are_checked(tmp_path):
    with pytest.raises(wf.ConfigError, match="datasets.both: give exactly one of 'path' or 'url'"):
        wf.check_dataset_sources({"both": {"path": str(MNIST), "url": "https://example.org/"}})
    with pytest.raises(wf.ConfigError, match=r"datasets.empty.path: .*train-images-idx3-ubyte.gz not found"):
        wf.check_dataset_sources({"empty": {"path": str(tmp_path)}})
    wf.check_dataset_sources({"mnist": {"path": str(MNIST)}})
