"""SavedModel -> .tflite, as float32 and as the fully int8 model the Edge TPU compiler takes."""

import contextlib
import os
import re
import sys

import numpy as np
import tensorflow as tf

from coralbuild.defaults import with_defaults
from coralbuild.errors import BadInput, first_line
from coralbuild.models.preprocessing import to_model_input
from coralbuild.models.private_api import converter_error, set_converter_flag

IO_TYPES = {"uint8": tf.uint8, "int8": tf.int8}


# The converter's message for a TensorFlow op with no TFLite builtin kernel.
UNCONVERTIBLE_OP = re.compile(r"'tf\.(\w+)' op is neither a custom op nor a flex op")


def convert_float32(saved_model_dir):
    return _convert(tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir)), saved_model_dir)


def convert_int8(saved_model_dir, representative_images, input_range, io_type=None, dense_weights=None,
                 conv_weights=None):
    """Full-integer quantization: int8 builtins only, `io_type` input and output.

    `representative_images` are real training images (uint8, N x H x W x C) the converter runs
    to calibrate activation ranges, scaled into the model's `input_range`. `dense_weights` is
    the granularity of FULLY_CONNECTED weights (see docs/edgetpu.md, "Know before you compile"),
    `conv_weights` that of the convolutions' (`per_tensor` sets every layer per tensor).
    Per-channel data is a float32 scale and an int64 zero point per output channel, which in a
    network of many narrow layers weighs as much as a third of its int8 weights. Settings left
    out (None) take the `quantize` defaults of config/schema.yaml.
    """
    given = {"io_type": io_type, "dense_weights": dense_weights, "conv_weights": conv_weights}
    settings = with_defaults("/properties/quantize", {key: value for key, value in given.items() if value is not None})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _one_at_a_time(with_full_pixel_range(representative_images), input_range)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = IO_TYPES[settings["io_type"]]
    converter.inference_output_type = IO_TYPES[settings["io_type"]]
    # Only private converter flags give per-tensor weights; the convolutions' flag sets every layer
    # per tensor. tests/test_conversion.py checks that the installed TensorFlow honours both.
    set_converter_flag(converter, "_experimental_disable_per_channel_quantization_for_dense_layers",
                     settings["dense_weights"] == "per_tensor", "quantize.dense_weights")
    set_converter_flag(converter, "_experimental_disable_per_channel", settings["conv_weights"] == "per_tensor",
                     "quantize.conv_weights")
    return _convert(converter, saved_model_dir)


def _convert(converter, saved_model_dir):
    """The converted model, or BadInput naming the SavedModel and the ops the converter cannot
    convert (its own message runs to pages of MLIR locations)."""
    try:
        with _native_messages_to_stdout():
            return converter.convert()
    except converter_error() as error:
        ops = sorted(set(UNCONVERTIBLE_OP.findall(str(error))))
        why = (f"TensorFlow op {', '.join(ops)} has no TFLite builtin kernel, and the Edge TPU runs builtin ops only"
               if ops else first_line(error))
        raise BadInput(f"{saved_model_dir}: the TFLite converter cannot convert this model ({why})") from None


@contextlib.contextmanager
def _native_messages_to_stdout():
    """The converter's C++ code writes its diagnostics, `error: ...` lines among them, straight to
    file descriptor 2: send them to stdout (the job's log) so that stderr holds only the one line
    naming the model."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(1, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def with_full_pixel_range(images):
    """The images with one pixel of the first set to 0 and one to 255.

    The converter calibrates the input's range from what it sees; when that is exactly 0..255
    (mapped into the input range), the uint8 input quantization takes the raw pixels, and the
    host never rescales. Two pixels of one image barely move any other range.
    """
    images = np.array(images, copy=True)
    images.reshape(len(images), -1)[0, :2] = (0, 255)
    return images


def _one_at_a_time(images, input_range):
    def generator():
        for image in images:
            yield [to_model_input(image[np.newaxis], input_range)]

    return generator
