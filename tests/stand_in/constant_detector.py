"""A stand-in detector for the mAP tests: numpy only, so that the Python 3.9 probe of
tests/test_benchmark.py imports it too."""

import numpy as np


class ConstantDetector:
    """An interpreter stand-in whose Ultralytics-layout output, image after image, holds given
    boxes (x1, y1, x2, y2 in the letterboxed input's pixels, class, score); the rest score 0."""

    def __init__(self, per_image, size=64, classes=3, anchors=16):
        self.per_image, self.size, self.classes, self.anchors, self.calls = per_image, size, classes, anchors, 0

    def get_input_details(self):
        return [{"index": 0, "shape": np.array([1, self.size, self.size, 3]), "dtype": np.float32, "quantization": (0.0, 0)}]

    def get_output_details(self):
        return [{"index": 1, "shape": np.array([1, 4 + self.classes, self.anchors]), "dtype": np.float32,
                 "quantization": (0.0, 0)}]

    def set_tensor(self, index, value):
        assert value.shape == (1, self.size, self.size, 3) and 0 <= value.min() and value.max() <= 1

    def invoke(self):
        self.calls += 1

    def get_tensor(self, index):
        output = np.zeros((1, 4 + self.classes, self.anchors), dtype=np.float32)
        for anchor, (x1, y1, x2, y2, label, score) in enumerate(self.per_image[self.calls - 1]):
            output[0, :4, anchor] = np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]) / self.size
            output[0, 4 + label, anchor] = score
        return output


def letterboxed(boxes, width, height, size=64, shift=0.0):
    """Boxes of an image of width x height as they lie in its letterboxed size x size input,
    each moved right by `shift` of its width."""
    scale = min(size / width, size / height)
    left, top = (size - round(width * scale)) // 2, (size - round(height * scale)) // 2
    return [(x1 * scale + left + shift * (x2 - x1) * scale, y1 * scale + top, x2 * scale + left + shift * (x2 - x1) * scale,
             y2 * scale + top, label, 0.9) for label, x1, y1, x2, y2 in boxes]


class ConstantSSD:
    """An interpreter stand-in for an SSD's TFLite_Detection_PostProcess outputs, image after
    image: given boxes (ymin, xmin, ymax, xmax normalised to the input, class, score), its four
    outputs in `order` (the op writes boxes, classes, scores, count; converters reorder them). Its
    uint8 input takes raw pixels; `inputs` keeps what it was given."""

    ROLES = ("boxes", "classes", "scores", "count")

    def __init__(self, per_image, size=64, detections=10, order=ROLES):
        self.per_image, self.size, self.detections, self.order = per_image, size, detections, order
        self.calls, self.inputs = 0, []

    def get_input_details(self):
        return [{"index": 0, "shape": np.array([1, self.size, self.size, 3]), "dtype": np.uint8,
                 "quantization": (1 / 128, 128)}]

    def get_output_details(self):
        shapes = {"boxes": [1, self.detections, 4], "classes": [1, self.detections], "scores": [1, self.detections],
                  "count": [1]}
        return [{"index": 1 + self.order.index(role), "shape": np.array(shapes[role]), "dtype": np.float32,
                 "quantization": (0.0, 0)} for role in self.order]

    def set_tensor(self, index, value):
        assert value.shape == (1, self.size, self.size, 3) and value.dtype == np.uint8
        self.inputs.append(value)

    def invoke(self):
        self.calls += 1

    def get_tensor(self, index):
        found = self.per_image[self.calls - 1]
        role = self.order[index - 1]
        if role == "count":
            return np.array([len(found)], dtype=np.float32)
        output = np.zeros((1, self.detections, 4) if role == "boxes" else (1, self.detections), dtype=np.float32)
        for row, (ymin, xmin, ymax, xmax, label, score) in enumerate(found):
            output[0, row] = {"boxes": [ymin, xmin, ymax, xmax], "classes": label, "scores": score}[role]
        return output


def fitted(boxes, width, height, size=64, shift=0.0):
    """Boxes of an image of width x height as an SSD reports them when the image is fitted at the
    top left of its size x size input (normalised ymin, xmin, ymax, xmax), each moved right by
    `shift` of its width."""
    scale = min(size / width, size / height)
    return [(y1 * scale / size, (x1 + shift * (x2 - x1)) * scale / size, y2 * scale / size,
             (x2 + shift * (x2 - x1)) * scale / size, label, 0.9) for label, x1, y1, x2, y2 in boxes]
