"""Rebuild, as int8 .tflite models, the published models that Keras ships the architecture of
(`keras.applications`, random weights: latency does not depend on weight values), for the latency
calibration (benchmarks/calibrate_latency.py). Offline: no weights are downloaded.

    python benchmarks/rebuild_calibration_models.py OUTPUT_FOLDER [NAME ...]

Each model is converted as the workflow converts (coralbuild.models.conversion.convert_int8, uint8
input and output) on 4 seeded random images; an existing output is kept.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from coralbuild.atomic import atomic_output  # noqa: E402

# published name -> (keras.applications constructor, input size)
KERAS_MODELS = {
    "mobilenet_v2_1.0_224": ("MobileNetV2", 224),
    "densenet121_224": ("DenseNet121", 224),
    "inception_v3_299": ("InceptionV3", 299),
    "inception_resnet_v2_299": ("InceptionResNetV2", 299),
    "resnet50_v1_299": ("ResNet50", 299),
    "resnet50_v2_299": ("ResNet50V2", 299),
    "resnet152_v2_299": ("ResNet152V2", 299),
    "vgg16_224": ("VGG16", 224),
    "vgg19_224": ("VGG19", 224),
}
SAMPLES = 4


def rebuild(name, output):
    import keras
    import numpy as np
    import tensorflow as tf

    from coralbuild.models.conversion import convert_int8

    constructor, size = KERAS_MODELS[name]
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, constructor)(weights=None, input_shape=(size, size, 3), classes=1000)
    images = np.random.default_rng(0).integers(0, 256, size=(SAMPLES, size, size, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="calibration-") as folder:
        # A static batch-1 signature, as the workflow exports: a dynamic batch turns Flatten into shape ops.
        model.export(str(Path(folder) / "saved_model"), verbose=False,
                     input_signature=[tf.TensorSpec((1, size, size, 3), tf.float32)])
        data = convert_int8(Path(folder) / "saved_model", images, (0.0, 1.0), io_type="uint8")
    with atomic_output(output) as temporary:
        Path(temporary).write_bytes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("names", nargs="*", help=f"of {', '.join(KERAS_MODELS)} (default: all)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(KERAS_MODELS))
    if unknown:
        parser.error(f"unknown model {unknown[0]!r} (known: {', '.join(KERAS_MODELS)})")
    args.output.mkdir(parents=True, exist_ok=True)
    for name in args.names or KERAS_MODELS:
        target = args.output / f"{name}.tflite"
        if not target.exists():
            rebuild(name, target)
        print(f"{name}: {target} ({target.stat().st_size:,} bytes)", flush=True)


if __name__ == "__main__":
    main()
