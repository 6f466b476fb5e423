import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MNIST, SCRIPTS
from coralbuild import stages
from coralbuild import workflow as wf
from coralbuild.code_digest import code_files


def package_files(script):
    """The package files listed for `script`, relative to the package folder."""
    package = SCRIPTS / "coralbuild"
    return {str(Path(path).relative_to(package)) for path in code_files(SCRIPTS / script)[1:]}


def test_code_files_follow_imports_transitively_and_stop_there():
    train = package_files("train.py")
    assert {"models/__init__.py", "models/architectures/__init__.py", "models/training.py", "models/preprocessing.py",
            "data/split.py", "errors.py", "__init__.py"} <= train
    assert not train & {"measure/inference.py", "models/conversion.py", "measure/latency.py"}
    benchmark = package_files("benchmark.py")
    assert {"measure/benchmarking.py", "measure/inference.py", "measure/latency.py", "reporting/table.py"} <= benchmark
    assert not benchmark & {"models/architectures/__init__.py", "models/training.py", "models/conversion.py",
                            "edgetpu/placement.py", "reporting/final_table.py"}


@pytest.mark.parametrize("script", sorted(path.name for path in SCRIPTS.glob("*.py")))
def test_code_files_cover_every_module_a_script_imports(script):
    """The modules really loaded by importing the script are all listed (the script's own lazy
    imports inside main() are covered by the listing too, as the listing reads the source)."""
    probe = (
        "import importlib.util, json, sys;"
        f"sys.path.insert(0, {str(SCRIPTS)!r});"
        f"spec = importlib.util.spec_from_file_location('probe', {str(SCRIPTS / script)!r});"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec));"
        "package = sys.modules['coralbuild'].__file__.rsplit('/', 1)[0] + '/';"
        "print(json.dumps(sorted(m.__file__.removeprefix(package) for n, m in sys.modules.items() if n.startswith('coralbuild'))))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout))
    assert loaded <= package_files(script)


def test_settings_helpers():
    assert stages.as_json({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'
    model = {"architecture": "mlp", "dropout": 0.5, "train": {"epochs": 9}}
    assert stages.train_settings({"epochs": 1, "seed": 3}, model) == {"epochs": 9, "seed": 3}
    assert stages.architecture_settings(model) == {"architecture": "mlp", "dropout": 0.5}
    assert "path" not in stages.split_settings({"path": "x", "sha256": {}, "seed": 0, "validation_size": 5})


def test_dataset_inputs_for_a_folder_and_for_a_url():
    folder = wf.dataset_inputs("mnist", {"path": "data/mnist"})
    assert folder["train_images"] == "data/mnist/train-images-idx3-ubyte.gz"
    url = {"url": "https://example.org/fashion/", "download_sha256": {"test_labels": "ab" * 32},
           "files": {"test_labels": "labels.gz"}}
    assert wf.dataset_inputs("fashion", url)["test_labels"] == "results/fashion/downloads/labels.gz"
    assert wf.download_source(url, "labels.gz") == ("https://example.org/fashion/labels.gz", "ab" * 32, 4 * 2**30)


def test_dataset_sources_are_checked(tmp_path):
    with pytest.raises(wf.ConfigError, match="datasets.both: give exactly one of 'path' or 'url'"):
        wf.check_dataset_sources({"both": {"path": str(MNIST), "url": "https://example.org/"}})
    with pytest.raises(wf.ConfigError, match=r"datasets.empty.path: .*train-images-idx3-ubyte.gz not found"):
        wf.check_dataset_sources({"empty": {"path": str(tmp_path)}})
    wf.check_dataset_sources({"mnist": {"path": str(MNIST)}})
