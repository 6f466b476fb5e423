"""Every use of a private Keras or TensorFlow interface, each behind one function.

No public API does these jobs on TensorFlow 2.21 / Keras 3 (see each function). Both are pinned
in requirements.txt; each function checks that the installed version still has what it uses and
raises PrivateApiChanged, naming the version, where it does not, so that an upgrade fails at the
first run instead of silently making other models (tests/test_private_api.py runs each check and
simulates a version without it).
"""

import collections
import contextlib


class PrivateApiChanged(RuntimeError):
    """The installed Keras or TensorFlow no longer has a private interface this project uses."""


def _require(owner, attribute, library, purpose):
    if not hasattr(owner, attribute):
        raise PrivateApiChanged(
            f"{library} has no {attribute} on {getattr(owner, '__name__', type(owner).__name__)}, which {purpose}: "
            f"use the version pinned in requirements.txt or update coralbuild/models/private_api.py")


def set_converter_flag(converter, flag, value, setting):
    """Set a private TFLiteConverter flag. TF 2.21 quantizes Dense and convolution weights per
    channel, and only its private `_experimental_*` flags give per-tensor ones (`setting`)."""
    import tensorflow as tf

    _require(converter, flag, f"TensorFlow {tf.__version__}", f"{setting} needs")
    setattr(converter, flag, value)


def variables_in_name_order_archive():
    """A Keras export archive (what `model.export` uses on TensorFlow) that writes variables in
    name order. Keras lists them in the order the traced function captured them, which changes
    from run to run, and the SavedModel's graph and variable files follow that order; the public
    `keras.export.ExportArchive` has no hook for it."""
    import keras
    from keras.src.backend.tensorflow.export import TFExportArchive

    library = f"Keras {keras.__version__}"
    _require(TFExportArchive, "_filter_and_track_resources", library, "the reproducible SavedModel export overrides")

    class VariablesInNameOrder(TFExportArchive):
        def _filter_and_track_resources(self):
            super()._filter_and_track_resources()
            _require(self._tf_trackable, "_all_variables", library, "the reproducible SavedModel export sorts")
            variables = self._tf_trackable._all_variables
            self._tf_trackable._all_variables = sorted(variables, key=lambda variable: variable.name)

    return VariablesInNameOrder()


def disable_saved_model_fingerprint():
    """Write SavedModels without fingerprint.pb, which holds a random UUID (a SavedModel loads and
    converts the same without it). TensorFlow's only switch for it is an internal flag."""
    import tensorflow as tf
    from tensorflow.core.config import flags

    config = flags.config()
    _require(config, "saved_model_fingerprinting", f"TensorFlow {tf.__version__}", "the reproducible export resets")
    config.saved_model_fingerprinting.reset(False)


@contextlib.contextmanager
def fresh_layer_names():
    """Number Keras' automatic layer names (keras.applications leaves some layers unnamed:
    `re_lu_3`, `normalization`) from zero, as in a fresh process, so that a model's config and
    variable names do not depend on what else the process built. `keras.backend.clear_session`
    would do it, but also drops every other model the process holds."""
    import keras
    from keras.src.backend.common import global_state

    for function in ("get_global_attribute", "set_global_attribute"):
        _require(global_state, function, f"Keras {keras.__version__}", "numbering layer names from zero needs")
    outer = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", outer)


@contextlib.contextmanager
def variables_without_memory():
    """Keras variables created inside have their shapes and no memory, and are never initialised:
    what a model's config declares can be counted before anything is allocated. The public
    keras.StatelessScope(initialize_variables=False) defers their initialisation, but keeps them
    in Keras' private global list of uninitialised variables, which the next scope to close would
    initialise after all (allocating them); that list is set aside and restored here. Layer names
    are numbered as if nothing had been built (fresh_layer_names)."""
    import keras
    from keras.src.backend.common import global_state

    for function in ("get_global_attribute", "set_global_attribute"):
        _require(global_state, function, f"Keras {keras.__version__}", "counting a config's parameters needs")
    outer = global_state.get_global_attribute("uninitialized_variables")
    global_state.set_global_attribute("uninitialized_variables", [])
    try:
        with fresh_layer_names(), keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        global_state.set_global_attribute("uninitialized_variables", outer)


def converter_error():
    """The exception type the TFLite converter raises for a model it cannot convert. TensorFlow
    has no public name for it (tf.lite exports none)."""
    import tensorflow as tf
    from tensorflow.lite.python import convert_phase

    _require(convert_phase, "ConverterError", f"TensorFlow {tf.__version__}", "naming a model the converter refuses needs")
    return convert_phase.ConverterError
