"""A detector's mAP on a yolo-format split (data/formats/yolo.py), as Ultralytics' `val` measures
a YOLO and pycoral's detection example runs an SSD, and COCO's mAP (pycocotools' COCOeval) at IoU
0.5 and averaged over 0.5:0.95. No TensorFlow: the same code runs on the Edge TPU, in Coral's
Python 3.9 environment (measure/measurement.py).

Heads decoded, recognised from the interpreter's tensors alone (`head_of`):
- `ultralytics` (YOLOv5u / v8 / 11: (1, 4 + classes, anchors), boxes centre x, y, width, height
  normalised to the input size, as their TFLite and Edge TPU exports write them, or in input
  pixels, told apart by their range; class scores after the sigmoid) and `yolov5` (the yolov5
  repository's (1, anchors, 5 + classes): boxes as above, objectness times class score). Each
  image letterboxed to the model's input (grey padding 114, aspect kept, 0..1 floats quantized as
  the input is); per-class greedy non-maximum suppression at IoU 0.7 keeping up to 300 boxes of
  confidence 0.001 and above.
- `ssd_postprocess` (TensorFlow's SSD and EfficientDet-Lite, whose TFLite_Detection_PostProcess
  custom op decodes and suppresses in the model): four outputs, boxes (1, N, 4) as ymin, xmin,
  ymax, xmax normalised to the input, classes and scores (1, N), and the count (1). Each image
  fitted into the input with its aspect kept and zero padding right and bottom, and given as raw
  pixels (uint8 as they are, int8 shifted by 128, float32 scaled to -1..1), as pycoral's
  `set_resized_input` and `detect.get_objects` do; the model's own detections are scored, with
  class k of the model taken as class k of the dataset (its data.yaml order).
"""

import contextlib
import io
import json
from pathlib import Path

import numpy as np

YOLO_STRIDES = (8, 16, 32)
CONFIDENCE = 0.001
IOU = 0.7
MAX_DETECTIONS = 300
PAD = 114
DECODED_HEADS = ("ultralytics", "yolov5", "ssd_postprocess")


def yolo_anchors(height, width):
    """The cells of the three detection levels of an Ultralytics-style YOLO at this input size."""
    return sum((height // stride) * (width // stride) for stride in YOLO_STRIDES)


def yolo_head(input_shape, output_shape):
    """{"kind", "classes", "anchors"} of a YOLO head from its one input's and one output's shapes
    (measure/model_io.py lists the layouts), or None. Shapes alone: the compiled model's, read
    from the Edge TPU interpreter, are the int8 model's."""
    if len(input_shape) != 4 or len(output_shape) != 3 or output_shape[0] != 1:
        return None
    anchors = yolo_anchors(input_shape[1], input_shape[2])
    if output_shape[2] == anchors and output_shape[1] > 4:
        return {"kind": "ultralytics", "classes": int(output_shape[1]) - 4, "anchors": anchors}
    if output_shape[1] == 3 * anchors and output_shape[2] > 5:
        return {"kind": "yolov5", "classes": int(output_shape[2]) - 5, "anchors": 3 * anchors}
    return None


def head_of(inputs, outputs):
    """{"kind", ...} of the head whose tensors the interpreter's `inputs` and `outputs` details
    are, or None: a YOLO (yolo_head) or an SSD's post-processing (ssd_outputs)."""
    if len(inputs) == 1 and len(outputs) == 1:
        return yolo_head(inputs[0]["shape"], outputs[0]["shape"])
    if ssd_outputs(outputs) is not None:
        return {"kind": "ssd_postprocess", "classes": None, "anchors": None}
    return None


def ssd_outputs(outputs):
    """{"boxes", "count", "pair"} of the TFLite_Detection_PostProcess outputs among `outputs`
    (interpreter details), by shape: boxes (1, N, 4), count (1,), and the pair (1, N) of classes
    and scores, told apart image by image (ssd_classes_and_scores); None when they are not these."""
    if len(outputs) != 4:
        return None
    shapes = [tuple(int(n) for n in detail["shape"]) for detail in outputs]
    boxes = [detail for detail, shape in zip(outputs, shapes) if len(shape) == 3 and shape[0] == 1 and shape[2] == 4]
    count = [detail for detail, shape in zip(outputs, shapes) if shape == (1,)]
    if len(boxes) != 1 or len(count) != 1:
        return None
    detections = int(boxes[0]["shape"][1])
    pair = [detail for detail, shape in zip(outputs, shapes) if shape == (1, detections)]
    return {"boxes": boxes[0], "count": count[0], "pair": pair} if len(pair) == 2 else None


def ssd_classes_and_scores(first, second):
    """(classes, scores) of the two (N,) outputs the post-processing op writes in an order its
    converter chose: the classes are whole numbers, the scores are not (both whole only when
    every score is 0 or 1; then the op's own order, classes first)."""
    if np.all(second == np.round(second)) and not np.all(first == np.round(first)):
        return second, first
    return first, second


def fit_top_left(image, height, width):
    """`image` (a PIL image) scaled to fit height x width with its aspect kept, at the top left of
    a black canvas (pycoral's set_resized_input): (uint8 array, scale)."""
    from PIL import Image

    scale = min(height / image.height, width / image.width)
    resized = image.convert("RGB").resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                          Image.BILINEAR)
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(resized, (0, 0))
    return np.asarray(canvas), scale


def raw_pixels_input(detail, pixels):
    """uint8 pixels as an SSD takes them: uint8 as they are, int8 shifted by 128, float32 in -1..1."""
    values = pixels[np.newaxis]
    if detail["dtype"] == np.uint8:
        return values.astype(np.uint8)
    if detail["dtype"] == np.int8:
        return (values.astype(np.int16) - 128).astype(np.int8)
    return (values.astype(np.float32) - 127.5) / 127.5


def letterbox(image, height, width):
    """`image` (a PIL image) scaled to fit height x width, centred on grey: (uint8 array, scale, (left, top))."""
    from PIL import Image

    scale = min(height / image.height, width / image.width)
    resized = image.convert("RGB").resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                          Image.BILINEAR)
    left, top = (width - resized.width) // 2, (height - resized.height) // 2
    canvas = Image.new("RGB", (width, height), (PAD, PAD, PAD))
    canvas.paste(resized, (left, top))
    return np.asarray(canvas), scale, (left, top)


def model_input(detail, pixels):
    """Letterboxed uint8 pixels as the model takes them: 0..1 floats, quantized where the input is."""
    values = pixels[np.newaxis].astype(np.float32) / 255.0
    if detail["dtype"] == np.float32:
        return values
    scale, zero_point = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(detail["dtype"])


def dequantized(detail, values):
    scale, zero_point = detail["quantization"]
    values = values.astype(np.float32)
    return (values - zero_point) * scale if scale else values


def decode(kind, output, height, width):
    """(boxes x1, y1, x2, y2 in input pixels, scores, classes) of every anchor of one image's output."""
    rows = output.T if kind == "ultralytics" else output  # one row per anchor
    xywh = rows[:, :4]
    if kind == "ultralytics":
        scores = rows[:, 4:]
    else:
        scores = rows[:, 5:] * rows[:, 4:5]
    if np.abs(xywh).max(initial=0) <= 2.0:  # normalised to the input size
        xywh = xywh * np.array([width, height, width, height], dtype=np.float32)
    classes = scores.argmax(axis=1)
    best = scores[np.arange(len(scores)), classes]
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
    return boxes, best, classes


def suppress(boxes, scores, classes):
    """Indices kept by per-class NMS (boxes of different classes shifted apart, as Ultralytics does)."""
    keep = scores >= CONFIDENCE
    if not keep.any():
        return np.array([], dtype=np.int64)
    candidates = np.flatnonzero(keep)
    offset = classes[candidates, None].astype(np.float32) * (np.abs(boxes).max() + 1.0)
    return candidates[greedy_nms(boxes[candidates] + offset, scores[candidates], MAX_DETECTIONS, IOU)]


def greedy_nms(boxes, scores, limit, iou_threshold):
    """Indices of `boxes` (x1, y1, x2, y2) kept by greedy non-maximum suppression, best score
    first: each box is dropped when its IoU with a box already kept exceeds `iou_threshold`; at
    most `limit` are kept. The algorithm of TensorFlow's non_max_suppression and torchvision's nms,
    in numpy because Coral's Python 3.9 device environment has neither; tests/test_detection_models.py
    checks it against TensorFlow's on generated boxes."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    kept = []
    while order.size and len(kept) < limit:
        best, rest = order[0], order[1:]
        kept.append(best)
        width = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        height = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        overlap = width * height
        union = areas[best] + areas[rest] - overlap
        iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.array(kept, dtype=np.int64)


def detect_split(interpreter, kind, data_folder):
    """COCO detections of the model on every image of the prepared split."""
    from PIL import Image

    from coralbuild.data.images import IMAGE_FORMATS

    info = json.loads((Path(data_folder) / "dataset.json").read_text())
    ground_truth = json.loads((Path(data_folder) / "annotations.json").read_text())
    detail = interpreter.get_input_details()[0]
    height, width = (int(n) for n in detail["shape"][1:3])
    detect = _ssd_detections if kind == "ssd_postprocess" else _yolo_detections
    found = []
    for image in ground_truth["images"]:
        with Image.open(Path(info["images_root"]) / image["file_name"], formats=IMAGE_FORMATS) as opened:
            for x1, y1, x2, y2, label, score in detect(interpreter, kind, detail, opened, height, width):
                x1, x2 = np.clip([x1, x2], 0, image["width"])
                y1, y2 = np.clip([y1, y2], 0, image["height"])
                found.append({"image_id": image["id"], "category_id": int(label),
                              "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)], "score": float(score)})
    return ground_truth, found


def _yolo_detections(interpreter, kind, detail, image, height, width):
    """(x1, y1, x2, y2 in the image's pixels, class, score) of a YOLO on one image, after NMS."""
    pixels, scale, (left, top) = letterbox(image, height, width)
    interpreter.set_tensor(detail["index"], model_input(detail, pixels))
    interpreter.invoke()
    output = interpreter.get_output_details()[0]
    boxes, scores, classes = decode(kind, dequantized(output, interpreter.get_tensor(output["index"])[0]), height, width)
    for index in suppress(boxes, scores, classes):
        x1, y1, x2, y2 = (boxes[index] - [left, top, left, top]) / scale
        yield x1, y1, x2, y2, classes[index], scores[index]


def _ssd_detections(interpreter, kind, detail, image, height, width):
    """(x1, y1, x2, y2 in the image's pixels, class, score) of an SSD's post-processing on one image."""
    pixels, scale = fit_top_left(image, height, width)
    interpreter.set_tensor(detail["index"], raw_pixels_input(detail, pixels))
    interpreter.invoke()
    outputs = ssd_outputs(interpreter.get_output_details())

    def read(output):
        return dequantized(output, interpreter.get_tensor(output["index"]))[0]

    count = int(read(outputs["count"]))
    boxes = read(outputs["boxes"])[:count]
    classes, scores = ssd_classes_and_scores(*(read(output)[:count] for output in outputs["pair"]))
    for (ymin, xmin, ymax, xmax), label, score in zip(boxes, classes, scores):
        yield xmin * width / scale, ymin * height / scale, xmax * width / scale, ymax * height / scale, label, score


def coco_map(ground_truth, detections):
    """{"map50", "map50_95"} of `detections` against `ground_truth` (both COCO dicts), by
    pycocotools; 0 for both when nothing was detected."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not detections:
        return {"map50": 0.0, "map50_95": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth = COCO()
        truth.dataset = json.loads(json.dumps(ground_truth))
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    # stats[0]: AP at IoU 0.5:0.95, stats[1]: at 0.5 (all areas, 100 detections per image).
    return {"map50": max(0.0, float(evaluation.stats[1])), "map50_95": max(0.0, float(evaluation.stats[0]))}
