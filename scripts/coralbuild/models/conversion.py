"""SavedModel -> .tflite, as float32 and as the fully int8 model the Edge TPU compiler takes."""

import numpy as np
import tensorflow as tf

from coralbuild.models.preprocessing import to_model_input

IO_TYPES = {"uint8": tf.uint8, "int8": tf.int8}


def convert_float32(saved_model_dir):
    return tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir)).convert()


def convert_int8(saved_model_dir, representative_images, io_type="uint8"):
    """Full-integer quantization: int8 builtins only, `io_type` input/output, per-tensor Dense.

    `representative_images` are real training images (uint8, N x H x W) the converter runs
    to calibrate activation ranges.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _one_at_a_time(to_model_input(representative_images))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = IO_TYPES[io_type]
    converter.inference_output_type = IO_TYPES[io_type]
    # TF 2.21 quantizes Dense weights per channel by default; every FULLY_CONNECTED the Edge
    # TPU compiler is known to map uses per-tensor weights.
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    return converter.convert()


def _one_at_a_time(inputs):
    def generator():
        for sample in inputs:
            yield [sample[np.newaxis]]

    return generator
