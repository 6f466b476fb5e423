"""What a model takes and gives: its input and output tensors, and for a detector the kind of
head its outputs come from (models/<name>/metrics.json `model_io`, and the report).

Heads recognised, from the output tensors alone (their layouts as the exporters write them):
    ultralytics       Ultralytics YOLOv5u / v8 / 11 (`format=tflite` or `edgetpu`, any
                      quantization): one output (1, 4 + classes, anchors), one anchor per cell of
                      the strides 8, 16 and 32 (8400 at 640x640: 6400 + 1600 + 400); boxes are
                      centre x, y, width, height
    yolov5            the yolov5 repository's own export (anchor-based): one output
                      (1, 3 x anchors, 5 + classes): boxes, objectness, class scores
    ssd_postprocess   TensorFlow's SSD / EfficientDet-Lite with the TFLite_Detection_PostProcess
                      custom op: boxes, classes, scores and count, decoded and NMS'd in the model
"""

import numpy as np

from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput
from coralbuild.measure.detection import yolo_head

SSD_POSTPROCESS = "TFLite_Detection_PostProcess"


def tensor_facts(detail):
    """One interpreter tensor detail as JSON: name, shape, type and (scale, zero point)."""
    scale, zero_point = detail["quantization"]
    return {"name": detail["name"], "shape": [int(n) for n in detail["shape"]],
            "dtype": np.dtype(detail["dtype"]).name,
            "quantization": {"scale": float(scale), "zero_point": int(zero_point)} if scale else None}


def describe_io(interpreter):
    return {"inputs": [tensor_facts(detail) for detail in interpreter.get_input_details()],
            "outputs": [tensor_facts(detail) for detail in interpreter.get_output_details()]}


def detection_head(path):
    """{"kind", "classes", "anchors"} of the detector at `path`, or None when its outputs match no
    head this module knows."""
    model = read_tflite(path)
    if SSD_POSTPROCESS in model.op_names():
        return {"kind": "ssd_postprocess", "classes": None, "anchors": None}
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    return yolo_head(model.tensors[model.inputs[0]].shape, model.tensors[model.outputs[0]].shape)


def check_detector(path):
    """The head of a `task: detect` model, or BadInput saying what its outputs are."""
    head = detection_head(path)
    if head is None:
        model = read_tflite(path)
        shapes = ", ".join(str(model.tensors[index].shape) for index in model.outputs)
        raise BadInput(f"{path}: task detect, but its outputs ({shapes}) match no known detection head "
                       "(Ultralytics YOLOv5u/v8/11 (1, 4+classes, anchors), yolov5 (1, 3 x anchors, 5+classes), "
                       f"or SSD's {SSD_POSTPROCESS}); use task: none to measure it without decoding")
    return head


def float_edge_tensors(path):
    """The graph inputs only QUANTIZE ops read and the graph outputs DEQUANTIZE ops write: the float
    edges of an int8 body (an Ultralytics export with float input and output), which the compiler
    leaves on the CPU around the Edge TPU segment."""
    model = read_tflite(path)
    readers = {}
    for operator in model.operators:
        for index in operator.inputs:
            readers.setdefault(index, set()).add(operator.name)
    writers = {index: operator.name for operator in model.operators for index in operator.outputs}
    return ({index for index in model.inputs if readers.get(index) == {"QUANTIZE"}}
            | {index for index in model.outputs if writers.get(index) == "DEQUANTIZE"})


def check_edgetpu_activations(path):
    """BadInput naming the first activation the Edge TPU cannot take: activations are int8 or
    uint8 (int32 only as constant parameters, int16 only as an LSTM's state); a 16x8-quantized
    model (int16 activations) is integer, but no Edge TPU model."""
    model = read_tflite(path)
    for tensor in model.tensors:
        if tensor.dtype == "INT16" and not tensor.is_constant and not tensor.is_variable:
            raise BadInput(f"{path}: tensor '{tensor.name}' is int16: the Edge TPU takes int8 or uint8 activations "
                           "(quantize with int8 activations, not 16x8)")
