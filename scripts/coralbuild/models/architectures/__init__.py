"""The architectures a model can name in config (`models.<name>.architecture`).

A registry: each module holds an ARCHITECTURES dict of base.Architecture entries, so adding an
architecture is an entry in a module (or a new module) and its block in config/schema.yaml.
Importing this package stays free of Keras and TensorFlow (the Snakefile reads it while building
the DAG): the builders import Keras themselves.
"""

import importlib
import pkgutil

from coralbuild.errors import BadInput

# Every module of this package that holds an ARCHITECTURES dict (pkgutil.iter_modules(__path__)
# finds them: a new module needs no line here).
ARCHITECTURES = {}
for _module in pkgutil.iter_modules(__path__):
    ARCHITECTURES.update(getattr(importlib.import_module(f"{__name__}.{_module.name}"), "ARCHITECTURES", {}))


def build_model(settings, input_shape, num_classes, seed=0):
    """Build the architecture named by `settings["architecture"]` for (H, W, C) images;
    `seed` seeds its random layers. An image smaller than the architecture accepts is BadInput."""
    name = settings["architecture"]
    architecture = ARCHITECTURES[name]
    minimum = architecture.min_image_size(settings)
    height, width = input_shape[:2]
    if min(height, width) < minimum:
        raise BadInput(f"{name}: images of {height}x{width} are too small, the minimum is {minimum}x{minimum}")
    return architecture.build(settings, input_shape, num_classes, seed)
