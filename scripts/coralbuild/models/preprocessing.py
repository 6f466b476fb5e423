"""The one mapping from stored uint8 pixels to what a model takes, shared by every stage.

Float models (Keras, float32 .tflite) take pixels scaled into their architecture's input range.
The int8 model takes the raw pixels: its input quantization holds the scaling (the converter
calibrates the input over the full 0..255 range, see conversion.py), so neither the host nor
Coral's examples do any preprocessing.
"""

import numpy as np

from coralbuild.models.input_range import UNIT_RANGE


def to_model_input(images, input_range=UNIT_RANGE):
    """uint8 images (N, H, W, C) -> float32 in `input_range` (0 -> low, 255 -> high)."""
    low, high = input_range
    scaled = images.astype(np.float32) / np.float32(255.0)
    if (low, high) == UNIT_RANGE:
        return scaled
    return scaled * np.float32(high - low) + np.float32(low)


def to_quantized_input(images, dtype):
    """uint8 images -> the int8 model's input: the pixels themselves (uint8), or shifted by 128
    (int8 input, whose zero point is the uint8 one minus 128)."""
    if dtype == np.uint8:
        return np.asarray(images, dtype=np.uint8)
    return (np.asarray(images, dtype=np.int16) - 128).astype(np.int8)
