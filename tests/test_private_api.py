"""The private Keras and TensorFlow interfaces of coralbuild/models/private_api.py: the installed
versions have each and it does its job, and a version without it fails with PrivateApiChanged
naming the library and its version, before anything is written."""

import keras
import pytest
import tensorflow as tf

from coralbuild.models.private_api import (
    PrivateApiChanged,
    converter_error,
    disable_saved_model_fingerprint,
    fresh_layer_names,
    set_converter_flag,
    variables_in_name_order_archive,
    variables_without_memory,
)


def tiny_model():
    image = keras.Input(shape=(4,), name="image")
    # Named against capture order, so that name order and capture order differ.
    hidden = keras.layers.Dense(3, name="z_first")(image)
    return keras.Model(image, keras.layers.Dense(2, name="a_second")(hidden))


def test_the_export_archive_writes_variables_in_name_order():
    archive = variables_in_name_order_archive()
    archive.track_and_add_endpoint("serve", tiny_model(), [tf.TensorSpec((1, 4), tf.float32)])
    archive._filter_and_track_resources()
    names = [variable.name for variable in archive._tf_trackable._all_variables]
    assert len(names) == 4 and names == sorted(names)


def test_layer_names_restart_from_zero_inside_and_continue_outside():
    keras.layers.ReLU()  # the process has built a ReLU: the next automatic name would be re_lu_N
    before = keras.layers.ReLU().name
    with fresh_layer_names():
        assert keras.layers.ReLU().name == "re_lu"
    assert keras.layers.ReLU().name != before and keras.layers.ReLU().name.startswith("re_lu_")


def test_converter_flags_and_fingerprint_switch_exist():
    converter = tf.lite.TFLiteConverter.from_keras_model(tiny_model())
    for flag in ("_experimental_disable_per_channel_quantization_for_dense_layers", "_experimental_disable_per_channel"):
        set_converter_flag(converter, flag, True, "quantize.*")
        assert getattr(converter, flag) is True
    disable_saved_model_fingerprint()
    from tensorflow.core.config import flags

    assert flags.config().saved_model_fingerprinting.value() is False


def defining_class(cls, attribute):
    return next(klass for klass in cls.__mro__ if attribute in vars(klass))


def without_archive_hook(monkeypatch):
    from keras.src.backend.tensorflow.export import TFExportArchive

    monkeypatch.delattr(defining_class(TFExportArchive, "_filter_and_track_resources"), "_filter_and_track_resources")
    variables_in_name_order_archive()


def without_global_state(monkeypatch):
    from keras.src.backend.common import global_state

    monkeypatch.delattr(global_state, "set_global_attribute")
    with fresh_layer_names():
        pass


def without_fingerprint_flag(monkeypatch):
    from tensorflow.core.config import flags

    monkeypatch.setattr(flags, "config", lambda: object())
    disable_saved_model_fingerprint()


def without_converter_flag(monkeypatch):
    set_converter_flag(object(), "_experimental_disable_per_channel", True, "quantize.conv_weights")


def without_converter_error(monkeypatch):
    from tensorflow.lite.python import convert_phase

    monkeypatch.delattr(convert_phase, "ConverterError")
    converter_error()


@pytest.mark.parametrize("changed_version, library, missing", [
    (without_archive_hook, f"Keras {keras.__version__}", "_filter_and_track_resources"),
    (without_global_state, f"Keras {keras.__version__}", "set_global_attribute"),
    (without_fingerprint_flag, f"TensorFlow {tf.__version__}", "saved_model_fingerprinting"),
    (without_converter_flag, f"TensorFlow {tf.__version__}", "_experimental_disable_per_channel"),
    (without_converter_error, f"TensorFlow {tf.__version__}", "ConverterError"),
], ids=lambda value: getattr(value, "__name__", None))
def test_a_version_without_the_private_api_fails_loudly(monkeypatch, changed_version, library, missing):
    with pytest.raises(PrivateApiChanged) as raised:
        changed_version(monkeypatch)
    assert str(raised.value).startswith(f"{library} has no {missing} ")
    assert "requirements.txt" in str(raised.value)



def test_variables_inside_have_shapes_and_no_memory_and_stay_uninitialised():
    from keras.src.backend.common import global_state

    with variables_without_memory():
        layer = keras.layers.Dense(10**9)
        layer.build((None, 10**3))  # 10^12 weights: 4 TB were they allocated
        assert tuple(layer.kernel.shape) == (10**3, 10**9)
    assert not global_state.get_global_attribute("uninitialized_variables")
    with keras.StatelessScope():  # a later scope closing initialises what it holds, none of those
        pass


def test_the_converter_error_type_is_what_the_converter_raises():
    image = keras.Input((8, 8, 1))
    lanczos = keras.Model(image, keras.layers.Resizing(4, 4, interpolation="lanczos3")(image))  # no TFLite kernel
    with pytest.raises(converter_error()):
        tf.lite.TFLiteConverter.from_keras_model(lanczos).convert()

