"""MobileNet-class networks from keras.applications, trained from scratch (weights=None: nothing
is downloaded), under one configurable head: global average pooling, dropout, dense softmax.

Settings (all optional): `alpha` (width multiplier, MobileNets), `minimalistic` (MobileNetV3:
ReLU and 3x3 kernels instead of hard-swish, 5x5 kernels and squeeze-excite), `dropout` (the
head's rate) and `bn_momentum` (every BatchNormalization layer's momentum).
"""

from coralbuild.models.architectures.base import Architecture
from coralbuild.models.private_api import fresh_layer_names

DEFAULTS = {"alpha": 1.0, "minimalistic": False, "dropout": 0.2, "bn_momentum": 0.9}
# keras.applications rejects a smaller height or width for every network below (input_shape is
# passed beside input_tensor so that its check runs; the tests hold it to this number).
KERAS_MIN_IMAGE_SIZE = 32


def setting(settings, name):
    """The setting `name`, or its default."""
    return settings.get(name, DEFAULTS[name])


def mobilenet_v2(applications, settings, image):
    """A MobileNetV2 backbone; it has no rescaling inside and expects [-1, 1]."""
    return applications.MobileNetV2(
        input_tensor=image, input_shape=image.shape[1:], alpha=setting(settings, "alpha"),
        include_top=False, weights=None)


def mobilenet_v3(network):
    """A MobileNetV3 backbone; without its built-in Rescaling it expects [-1, 1] like V2."""
    def backbone(applications, settings, image):
        return getattr(applications, network)(
            input_tensor=image, input_shape=image.shape[1:], alpha=setting(settings, "alpha"),
            minimalistic=setting(settings, "minimalistic"), include_top=False, weights=None,
            include_preprocessing=False)
    return backbone


def efficientnet_b0(applications, settings, image):
    """EfficientNetB0 rescales by 1/255 itself; its Normalization layer, never adapted, keeps
    mean 0 and variance 1 and passes values through, so the network takes [0, 255]."""
    return applications.EfficientNetB0(
        input_tensor=image, input_shape=image.shape[1:], include_top=False, weights=None)


def set_bn_momentum(model, momentum):
    """keras.applications builds BatchNormalization with momentum 0.999, made for fine-tuning:
    trained from scratch for a few epochs, its moving statistics stay near their initial values
    and inference is at chance. The attribute set here is what the layer uses and saves."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def classifier_head(features, settings, num_classes, seed):
    """Global average pooling, dropout (seeded, so that its seed is in the saved config), softmax."""
    from keras import layers

    x = layers.GlobalAveragePooling2D(name="head_pool")(features)
    x = layers.Dropout(setting(settings, "dropout"), seed=seed, name="head_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name="classifier")(x)


def application_builder(name, backbone):
    """build(settings, input_shape, num_classes, seed) for a keras.applications backbone."""
    def build(settings, input_shape, num_classes, seed):
        import keras

        with fresh_layer_names():
            image = keras.Input(shape=input_shape, name="image")
            features = backbone(keras.applications, settings, image)
            set_bn_momentum(features, setting(settings, "bn_momentum"))
            model = keras.Model(image, classifier_head(features.output, settings, num_classes, seed), name=name)
        return model
    return build


def application(name, backbone, input_range, description):
    """The registry entry of a keras.applications backbone under the common head."""
    return Architecture(
        build=application_builder(name, backbone),
        input_range=input_range,
        min_image_size=lambda settings: KERAS_MIN_IMAGE_SIZE,
        description=description,
    )


ARCHITECTURES = {
    "mobilenet_v2": application(
        "mobilenet_v2", mobilenet_v2, (-1.0, 1.0), "MobileNetV2 (setting alpha)"),
    "mobilenet_v3_small": application(
        "mobilenet_v3_small", mobilenet_v3("MobileNetV3Small"), (-1.0, 1.0),
        "MobileNetV3-Small (settings alpha, minimalistic)"),
    "mobilenet_v3_large": application(
        "mobilenet_v3_large", mobilenet_v3("MobileNetV3Large"), (-1.0, 1.0),
        "MobileNetV3-Large (settings alpha, minimalistic)"),
    "efficientnet_b0": application(
        "efficientnet_b0", efficientnet_b0, (0.0, 255.0), "EfficientNetB0, rescaling its input itself"),
}
