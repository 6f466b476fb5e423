"""Keras checkpoint -> SavedModel with a static batch-1 signature, the same bytes every run."""

import keras
import tensorflow as tf
from keras.src.backend.tensorflow.export import TFExportArchive
from tensorflow.core.config import flags as tensorflow_flags

from coralbuild.errors import BadInput

ENDPOINT = "serve"  # what model.export names it


def load_checkpoint(path):
    """Load a .keras file in safe mode (no arbitrary code from the file runs)."""
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError) as error:
        raise BadInput(f"{path}: not a loadable Keras model ({error})") from None


class _VariablesInNameOrder(TFExportArchive):
    """The archive `model.export` uses on TensorFlow, writing variables in name order. Keras
    lists them in the order the traced function captured them, which changes from run to run,
    and the SavedModel's graph and variable files follow that order."""

    def _filter_and_track_resources(self):
        super()._filter_and_track_resources()
        variables = self._tf_trackable._all_variables
        self._tf_trackable._all_variables = sorted(variables, key=lambda variable: variable.name)


def export_saved_model(checkpoint, destination):
    """What `model.export(destination, input_signature=[(1, H, W, C)])` does, reproducibly.

    `tf.saved_model.save` on a Keras 3 model silently loses the weights in TFLite conversion,
    and an export without a signature keeps the batch dimension dynamic, which turns Flatten into
    SHAPE/STRIDED_SLICE/PACK ops the Edge TPU cannot run.
    """
    model = load_checkpoint(checkpoint)
    signature = tf.TensorSpec((1,) + tuple(model.input_shape[1:]), tf.float32, name="image")
    # fingerprint.pb holds a random UUID; a SavedModel loads and converts the same without it.
    tensorflow_flags.config().saved_model_fingerprinting.reset(False)
    archive = _VariablesInNameOrder()
    archive.track_and_add_endpoint(ENDPOINT, model, [signature])
    archive.write_out(str(destination), verbose=False)
