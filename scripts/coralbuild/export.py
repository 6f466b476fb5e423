"""Keras checkpoint -> SavedModel with a static batch-1 signature."""

import keras
import tensorflow as tf

from coralbuild.errors import BadInput


def load_checkpoint(path):
    """Load a .keras file in safe mode (no arbitrary code from the file runs)."""
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError) as error:
        raise BadInput(f"{path}: not a loadable Keras model ({error})") from None


def export_saved_model(checkpoint, destination):
    """Export with `model.export` and a fixed (1, H, W, C) input.

    `tf.saved_model.save` on a Keras 3 model silently loses the weights in TFLite conversion,
    and `model.export` without a signature keeps the batch dimension dynamic, which turns
    Flatten into SHAPE/STRIDED_SLICE/PACK ops the Edge TPU cannot run.
    """
    model = load_checkpoint(checkpoint)
    signature = tf.TensorSpec((1,) + tuple(model.input_shape[1:]), tf.float32, name="image")
    model.export(str(destination), format="tf_saved_model", input_signature=[signature], verbose=False)
