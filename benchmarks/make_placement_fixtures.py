"""Regenerate tests/data/fixtures/: small int8 .tflite models, each showing one behaviour of
Edge TPU compiler 16 that the placement prediction encodes (tests/data/fixtures/README.md says
what the compiler did with each). Untrained Keras models with seeded weights, converted with the
project's full-integer recipe; needs TensorFlow (the project's venv).

    python benchmarks/make_placement_fixtures.py [--output tests/data/fixtures]
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402  (after quieting TensorFlow's start-up log)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

SEED = 13
REPRESENTATIVE_SAMPLES = 8


def lead_in_cast_quantize():
    """uint8 input -> CAST -> QUANTIZE -> int8 body -> DEQUANTIZE (float output)."""
    inputs = keras.Input((8, 8, 3), batch_size=1, dtype="uint8")
    x = keras.layers.Lambda(lambda t: tf.cast(t, tf.float32) / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs), {"io": "float", "dtype": np.uint8}


def dense_dynamic_batch():
    """Dense layers exported without an input signature: batch -1 in shape_signature, no shape ops."""
    inputs = keras.Input((32,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs), {"dynamic": True}


def flatten_dynamic_batch():
    """Flatten with a dynamic batch: SHAPE, STRIDED_SLICE, PACK feed the RESHAPE."""
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs), {"dynamic": True}


def dense_per_channel():
    """One Dense 256 -> 256: FULLY_CONNECTED with per-channel weights (TF 2.21's default)."""
    inputs = keras.Input((256,), batch_size=1)
    outputs = keras.layers.Dense(256)(inputs)
    return keras.Model(inputs, outputs), {}


def softmax_16384():
    """SOFTMAX over a (1, 16384) input, above the documented 16,000 elements."""
    inputs = keras.Input((16384,), batch_size=1)
    outputs = keras.layers.Softmax()(inputs)
    return keras.Model(inputs, outputs), {}


def tile_broadcast():
    """A (1, 1, 1, C) map broadcast to (1, 33, 33, C) by TILE, as DeepLab's image pooling does."""
    inputs = keras.Input((33, 33, 8), batch_size=1)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True)(inputs)
    tiled = keras.layers.Lambda(lambda t: tf.tile(t, [1, 33, 33, 1]))(pooled)
    outputs = keras.layers.Conv2D(8, 1)(keras.layers.Concatenate()([inputs, tiled]))
    return keras.Model(inputs, outputs), {}


def resize(size):
    def build():
        inputs = keras.Input((33, 33, 4), batch_size=1)
        x = keras.layers.Conv2D(4, 1)(inputs)
        outputs = keras.layers.Lambda(lambda t: tf.image.resize(t, (size, size), method="bilinear"))(x)
        return keras.Model(inputs, outputs), {}
    build.__doc__ = f"RESIZE_BILINEAR from 33x33 to {size}x{size}."
    return build


FIXTURES = {
    "lead_in_cast_quantize": lead_in_cast_quantize,
    "dense_dynamic_batch": dense_dynamic_batch,
    "flatten_dynamic_batch": flatten_dynamic_batch,
    "dense_per_channel": dense_per_channel,
    "softmax_16384": softmax_16384,
    "tile_broadcast": tile_broadcast,
    "resize_33_to_33": resize(33),
    "resize_33_to_513": resize(513),
}


def convert(model, options, folder):
    """Full-integer conversion (README of the reference notes, section 4): uint8 input and output
    unless the fixture keeps float ones; a static batch-1 signature unless it is about dynamic batches."""
    shape = (1, *model.inputs[0].shape[1:])
    dtype = options.get("dtype", np.float32)
    if options.get("dynamic"):
        model.export(folder, verbose=False)
    else:
        model.export(folder, input_signature=[tf.TensorSpec(shape, tf.as_dtype(dtype))], verbose=False)
    rng = np.random.default_rng(SEED)

    def representative():
        for _ in range(REPRESENTATIVE_SAMPLES):
            sample = rng.integers(0, 256, shape) if dtype == np.uint8 else rng.normal(size=shape)
            yield [sample.astype(dtype)]

    converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if options.get("io") != "float":
        converter.inference_input_type = converter.inference_output_type = tf.uint8
    return converter.convert()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(Path(__file__).resolve().parents[1] / "tests/data/fixtures"))
    parser.add_argument("names", nargs="*", choices=[[], *FIXTURES], help="only these fixtures (default: all)")
    args = parser.parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    tf.config.experimental.enable_op_determinism()
    for name in args.names or FIXTURES:
        keras.utils.set_random_seed(SEED)
        model, options = FIXTURES[name]()
        with tempfile.TemporaryDirectory() as folder:
            data = convert(model, options, Path(folder) / "saved_model")
        (output / f"{name}.tflite").write_bytes(data)
        print(f"{name}.tflite: {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
