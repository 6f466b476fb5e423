"""The one mapping from stored uint8 images to model input, shared by every stage."""

import numpy as np


def to_model_input(images):
    """uint8 images (N, H, W) -> float32 (N, H, W, 1) in [0, 1].

    With inputs in [0, 1], the int8 converter picks input scale 1/255 and zero point 0, so a
    uint8 model takes the raw pixel values unchanged.
    """
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]
