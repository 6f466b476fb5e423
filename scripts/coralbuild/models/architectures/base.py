"""What every architecture provides to the registry. Standard library only: the Snakefile
imports the registry while building the DAG, so nothing here may pull in Keras or TensorFlow."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageNetWeights:
    """Where an architecture's Keras ImageNet weights come from (`weights: imagenet`).

    problem(settings) is why those settings have no ImageNet file (an alpha Keras has none for),
    or None; sizes says in one line which input sizes have their own file and what other sizes get.
    """

    problem: Callable
    sizes: str


@dataclass(frozen=True)
class Architecture:
    """One entry of the registry.

    build(settings, input_shape, num_classes, seed) -> keras.Model, with input_shape (H, W, C);
    it imports Keras itself. input_range is the float pixel range the model expects, so the
    host maps uint8 pixels onto it (and the int8 model's input quantization folds it in).
    min_image_size(settings) is the smallest height and width the model accepts with those
    settings. imagenet is None for architectures without pretrained weights (no `weights` and
    `fine_tune` keys).
    """

    build: Callable
    input_range: tuple
    min_image_size: Callable
    description: str
    imagenet: ImageNetWeights | None = None
