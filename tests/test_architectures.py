import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import yaml

from conftest import PROJECT, SCRIPTS
from coralbuild.errors import BadInput
from coralbuild.models.architectures import ARCHITECTURES, build_model

MODELS = yaml.safe_load((PROJECT / "config" / "config.yaml").read_text())["models"]
APPLICATIONS = [name for name in ARCHITECTURES if ARCHITECTURES[name].imagenet]  # keras.applications backbones
SCHEMA = yaml.safe_load((PROJECT / "config" / "schema.yaml").read_text())
# Settings for every registered architecture: its schema block's first example (config/schema.yaml),
# else its defaults. A new architecture needs no line here.
SETTINGS = {name: {"architecture": name, **SCHEMA["$defs"].get(name, {}).get("examples", [{}])[0]}
            for name in ARCHITECTURES}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_s_test_settings_are_a_valid_model_entry(name):
    from coralbuild.workflow import validate_config

    config = {"models": {"m": dict(SETTINGS[name])}}
    validate_config(config, PROJECT / "config" / "schema.yaml")  # a ConfigError when the example is stale
    assert config["models"]["m"]["architecture"] == name


def test_importing_the_registry_loads_neither_keras_nor_tensorflow():
    probe = (
        f"import sys; sys.path.insert(0, {str(SCRIPTS)!r});"
        "import coralbuild.models.architectures as registry;"
        "import json; print(json.dumps([sorted(registry.ARCHITECTURES),"
        " [m for m in ('keras', 'tensorflow') if m in sys.modules]]))"
    )
    names, heavy = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                             check=True).stdout)
    assert names == sorted(ARCHITECTURES)
    assert heavy == []


def layer_summary(model):
    return [(type(layer).__name__, getattr(layer, "units", None) or getattr(layer, "filters", None)) for layer in model.layers]


def test_cnn_is_conv_relu_pool_blocks_then_dense_softmax():
    model = build_model(MODELS["cnn"], (28, 28, 1), 10)
    assert layer_summary(model) == [
        ("Conv2D", 16), ("MaxPooling2D", None), ("Conv2D", 32), ("MaxPooling2D", None),
        ("Flatten", None), ("Dense", 64), ("Dense", 10),
    ]
    assert all(layer.activation.__name__ == "relu" for layer in model.layers[:-1] if hasattr(layer, "activation"))
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.output_shape == (None, 10)


def test_mlp_matches_the_original_guide():
    model = build_model(MODELS["mlp"], (28, 28, 1), 10)
    assert layer_summary(model) == [("Flatten", None), ("Dense", 512), ("Dense", 256), ("Dropout", None), ("Dense", 10)]
    assert model.layers[3].rate == 0.5
    assert model.count_params() == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10


@pytest.mark.parametrize("name", sorted(MODELS))
def test_small_builders_follow_their_settings(name):
    settings = dict(MODELS[name])
    key = "conv_filters" if settings["architecture"] == "cnn" else "hidden_units"
    settings[key] = [8]
    model = build_model(settings, (12, 12, 1), 3)
    assert model.output_shape == (None, 3)
    assert [layer.units if hasattr(layer, "units") else layer.filters
            for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))][0] == 8


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("channels", [1, 3])
def test_builds_at_its_minimum_size_in_grayscale_and_rgb(name, channels):
    settings = SETTINGS[name]
    size = ARCHITECTURES[name].min_image_size(settings)
    model = build_model(settings, (size, size, channels), 4, seed=0)
    low, high = ARCHITECTURES[name].input_range
    pixels = np.random.default_rng(0).uniform(low, high, (1, size, size, channels)).astype("float32")
    output = np.asarray(model(pixels, training=False))
    assert output.shape == (1, 4)
    assert output.min() >= 0 and output.sum() == pytest.approx(1, abs=1e-5)
    assert model.inputs[0].name == "image" and model.layers[-1].name == "classifier"


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_a_smaller_image_is_rejected_naming_the_minimum(name):
    settings = SETTINGS[name]
    size = ARCHITECTURES[name].min_image_size(settings)
    if size == 1:
        assert name == "mlp"  # any image has a pixel
        return
    with pytest.raises(BadInput, match=f"{name}: images of {size}x{size - 1} are too small, the minimum is {size}x{size}"):
        build_model(settings, (size, size - 1, 3), 4)


@pytest.mark.parametrize("name", APPLICATIONS)
def test_keras_itself_rejects_less_than_the_registered_minimum(name):
    """The registry's minimum is the one keras.applications enforces, not a guess."""
    settings = SETTINGS[name]
    size = ARCHITECTURES[name].min_image_size(settings)
    with pytest.raises(ValueError, match=f"at least {size}x{size}"):
        ARCHITECTURES[name].build(settings, (size - 1, size, 3), 4, 0)


@pytest.mark.parametrize("filters, kernel_size", [([4], 3), ([4, 4], 3), ([4, 4, 4], 5), ([4, 4], 2)])
def test_cnn_minimum_size_is_exactly_what_keras_accepts(filters, kernel_size):
    settings = {"architecture": "cnn", "conv_filters": filters, "kernel_size": kernel_size, "dense_units": []}
    size = ARCHITECTURES["cnn"].min_image_size(settings)
    build = ARCHITECTURES["cnn"].build
    assert build(settings, (size, size, 1), 2, 0).get_layer("flatten").output.shape == (None, filters[-1])
    with pytest.raises(ValueError):
        build(settings, (size - 1, size - 1, 1), 2, 0)


def batch_norm_momenta(model):
    return [layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.mark.parametrize("name", APPLICATIONS)
def test_bn_momentum_defaults_to_0_9_on_every_batch_normalization(name):
    momenta = batch_norm_momenta(build_model(SETTINGS[name], (32, 32, 3), 2))
    assert len(momenta) > 30 and set(momenta) == {0.9}  # keras.applications builds them with 0.999


def test_bn_momentum_is_the_one_training_uses():
    model = build_model({**SETTINGS["mobilenet_v2"], "bn_momentum": 0.25}, (32, 32, 3), 2)
    pixels = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    convolved = np.asarray(keras.Model(model.input, model.get_layer("Conv1").output)(pixels))
    model(pixels, training=True)  # moving mean: 0.25 * 0 (its initial value) + 0.75 * batch mean
    np.testing.assert_allclose(np.asarray(model.get_layer("bn_Conv1").moving_mean),
                               0.75 * convolved.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)


def test_bn_momentum_setting_survives_save_and_load(tmp_path):
    model = build_model({**SETTINGS["mobilenet_v3_small"], "bn_momentum": 0.77}, (32, 32, 1), 2)
    model.save(tmp_path / "model.keras")
    reloaded = batch_norm_momenta(keras.models.load_model(tmp_path / "model.keras"))
    assert len(reloaded) == len(batch_norm_momenta(model)) and set(reloaded) == {0.77}


def test_head_follows_its_settings():
    model = build_model({"architecture": "mobilenet_v3_small", "minimalistic": True, "alpha": 0.75,
                         "dropout": 0.35}, (32, 32, 3), 5)
    assert [type(layer).__name__ for layer in model.layers[-3:]] == ["GlobalAveragePooling2D", "Dropout", "Dense"]
    assert model.get_layer("head_dropout").rate == 0.35
    assert not any("hard_swish" in layer.name or isinstance(layer, keras.layers.Multiply) for layer in model.layers)
    full_width = build_model({"architecture": "mobilenet_v3_small", "minimalistic": True}, (32, 32, 3), 5)
    assert model.count_params() < full_width.count_params()


def test_mobilenets_have_no_rescaling_inside_so_they_take_minus_one_to_one():
    for name in ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]:
        assert ARCHITECTURES[name].input_range == (-1.0, 1.0)
        model = build_model(SETTINGS[name], (32, 32, 3), 2)
        assert not any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)


def test_efficientnet_maps_0_to_255_onto_0_to_1_with_its_unadapted_normalization():
    assert ARCHITECTURES["efficientnet_b0"].input_range == (0.0, 255.0)
    model = build_model(SETTINGS["efficientnet_b0"], (32, 32, 3), 2)
    stem = keras.Model(model.input, model.get_layer("normalization").output)
    pixels = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(stem(pixels)), pixels / 255, rtol=1e-6)


def weights_and_config(model):
    return json.dumps(model.get_config(), sort_keys=True, default=str), [np.asarray(w) for w in model.weights]


def test_a_seeded_build_does_not_depend_on_what_the_process_built_before():
    """keras.applications leaves some layers to Keras' automatic, process-wide names (re_lu_7);
    the registry numbers them as a fresh process would."""
    settings = SETTINGS["mobilenet_v3_large"]
    keras.utils.set_random_seed(3)
    first_config, first_weights = weights_and_config(build_model(settings, (32, 32, 3), 2, seed=3))
    build_model(SETTINGS["mobilenet_v3_small"], (32, 32, 3), 2)
    keras.utils.set_random_seed(3)
    config, weights = weights_and_config(build_model(settings, (32, 32, 3), 2, seed=3))
    assert config == first_config
    assert len(weights) == len(first_weights) and all(np.array_equal(a, b) for a, b in zip(weights, first_weights, strict=True))


FINGERPRINT = """
import hashlib, json, sys
sys.path.insert(0, {scripts!r})
import keras, numpy as np
from coralbuild.models.architectures import build_model
keras.utils.set_random_seed(5)
digest = hashlib.sha256()
for name in ["mobilenet_v3_small", "efficientnet_b0"]:
    model = build_model({{"architecture": name}}, (32, 32, 1), 3, seed=5)
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for weight in model.weights:
        digest.update(weight.path.encode() + np.asarray(weight).tobytes())
print(digest.hexdigest())
"""


def test_builds_in_fresh_processes_are_identical():
    # Two processes at once (each spends most of its time importing Keras, on one core).
    processes = [subprocess.Popen([sys.executable, "-c", FINGERPRINT.format(scripts=str(SCRIPTS))],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    fingerprints = [process.communicate()[0].split()[-1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    assert fingerprints[0] == fingerprints[1]
