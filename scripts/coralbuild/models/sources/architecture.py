"""Models built from an architecture of the registry and trained here."""

from coralbuild.errors import ConfigError
from coralbuild.models.architectures import ARCHITECTURES

TRAINED = True


def matches(settings):
    return "architecture" in settings


def check_config(name, settings):
    if settings["architecture"] not in ARCHITECTURES:
        raise ConfigError(f"invalid config at models.{name}.architecture: unknown architecture "
                          f"{settings['architecture']!r} (known: {', '.join(sorted(ARCHITECTURES))})")


def input_range(settings):
    return tuple(ARCHITECTURES[settings["architecture"]].input_range)


def min_image_size(settings):
    return ARCHITECTURES[settings["architecture"]].min_image_size(settings)
