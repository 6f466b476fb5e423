"""The predicted Edge TPU placement of the MobileNets' int8 models, built, exported and quantized
as the workflow does (untrained: placement depends on the ops, not on the weights)."""

import numpy as np
import pytest

from coralbuild.edgetpu.placement import predict
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.models.architectures import ARCHITECTURES
from coralbuild.models.conversion import convert_int8
from coralbuild.models.export import export_saved_model

SHAPE = (32, 32, 3)  # the applications' minimum size: the ops are those of any larger input


def int8_model(tmp_path, name, **settings):
    architecture = ARCHITECTURES[name]
    model = architecture.build({"architecture": name, **settings}, SHAPE, 3, seed=0)
    model.save(tmp_path / "model.keras")
    export_saved_model(tmp_path / "model.keras", tmp_path / "saved_model")
    images = np.random.default_rng(0).integers(0, 256, (16, *SHAPE), dtype=np.uint8)
    path = tmp_path / "model_int8.tflite"
    path.write_bytes(convert_int8(tmp_path / "saved_model", images, architecture.input_range))
    return predict(read_tflite(path))


# MobileNetV2 (alpha 0.35, 32x32x3, 3 classes) is not built here again: test_image_folder_workflow::
# test_the_mobilenet_takes_raw_pixels_and_is_predicted_fully_on_the_edge_tpu asserts the same
# prediction of the same network, trained, exported and quantized by the workflow itself.
@pytest.mark.parametrize("name, settings", [("mobilenet_v3_small", {"minimalistic": True})])
def test_runs_entirely_on_the_edge_tpu(tmp_path, name, settings):
    prediction = int8_model(tmp_path, name, **settings)
    assert prediction.fully_mapped, [(op.op, op.reason) for op in prediction.ops if op.placement != "edgetpu"]
    assert prediction.segments == 1 and prediction.parameter_memory == "fits"


def test_default_mobilenet_v3_leaves_its_hard_swish_on_the_cpu_and_says_why(tmp_path):
    prediction = int8_model(tmp_path, "mobilenet_v3_small")
    on_cpu = [op for op in prediction.ops if op.placement == "cpu"]
    assert "HARD_SWISH" in prediction.ops_on_cpu and not prediction.fully_mapped
    hard_swish = [op for op in on_cpu if op.op == "HARD_SWISH"]
    assert all("HARD_SWISH" in op.reason for op in hard_swish), {op.reason for op in hard_swish}
    # The first HARD_SWISH ends the one Edge TPU segment: everything after it stays on the CPU.
    first = min(op.index for op in hard_swish)
    assert all(op.placement == "edgetpu" for op in prediction.ops[:first])
    assert all(op.placement == "cpu" for op in prediction.ops[first:])
