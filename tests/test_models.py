import keras
import pytest
import yaml

from conftest import PROJECT
from coralbuild.models.architectures import build_model

MODELS = yaml.safe_load((PROJECT / "config" / "config.yaml").read_text())["models"]


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
def test_builders_follow_their_settings(name):
    settings = dict(MODELS[name])
    key = "conv_filters" if settings["architecture"] == "cnn" else "hidden_units"
    settings[key] = [8]
    model = build_model(settings, (12, 12, 1), 3)
    assert model.output_shape == (None, 3)
    assert [layer.units if hasattr(layer, "units") else layer.filters
            for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))][0] == 8
