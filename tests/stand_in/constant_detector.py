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
