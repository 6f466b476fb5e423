"""Keras checkpoint -> SavedModel with a static batch-1 signature, the same bytes every run."""

import keras
import tensorflow as tf

from coralbuild.errors import BadInput
from coralbuild.models.private_api import disable_saved_model_fingerprint, variables_in_name_order_archive

ENDPOINT = "serve"  # what model.export names it


def load_checkpoint(path):
    """Load a .keras file in safe mode (no arbitrary code from the file runs)."""
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError) as error:
        raise BadInput(f"{path}: not a loadable Keras model ({error})") from None


def export_saved_model(checkpoint, destination):
    """What `model.export(destination, input_signature=[(1, H, W, C)])` does, reproducibly.

    `tf.saved_model.save` on a Keras 3 model silently loses the weights in TFLite conversion,
    and an export without a signature keeps the batch dimension dynamic, which turns Flatten into
    SHAPE/STRIDED_SLICE/PACK ops the Edge TPU cannot run.
    """
    model = load_checkpoint(checkpoint)
    signature = tf.TensorSpec((1,) + tuple(model.input_shape[1:]), tf.float32, name="image")
    disable_saved_model_fingerprint()
    archive = variables_in_name_order_archive()
    archive.track_and_add_endpoint(ENDPOINT, model, [signature])
    archive.write_out(str(destination), verbose=False)
