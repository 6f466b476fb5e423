"""Decode one image file into a fixed-size uint8 array, the same way for every dataset format.

Pillow does all of it: the file's EXIF orientation is applied, palette, alpha and 16-bit images
are converted to 8-bit grayscale or RGB, and the image is resized to (height, width) with
Pillow's bilinear filter (which averages over the whole source area when it shrinks), after
letting the JPEG decoder shrink by a power of two while it decodes (`Image.draft`) when the image
is at least twice the target size. Same file, same Pillow version: same bytes.
"""

import hashlib
import io

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from coralbuild.errors import BadInput, first_line
from coralbuild.inputs import IMAGE_BYTES, regular_file

# Extensions read as images, compared in lower case; any other file is skipped and counted.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# The decoders Pillow may use: those of the documented formats only (a TIFF or a PostScript file
# named .jpg is refused, not decoded; Pillow's EPS reader would run Ghostscript).
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
CHANNELS = {"grayscale": 1, "rgb": 3}
# Transparent pixels are shown on white, as an image viewer on a white page shows them.
BACKGROUND = (255, 255, 255)
RESAMPLE = Image.Resampling.BILINEAR
# EXIF orientation -> the transpose that shows the image upright (the table of the EXIF 2.3
# standard, as ImageOps.exif_transpose applies it).
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def read_image_file(path, size, color):
    """(sha256 of the file, its pixels as uint8 (height, width, channels)); BadInput names the
    file when it is unreadable or not a decodable image."""
    regular_file(path, IMAGE_BYTES, "image")
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as error:
        raise BadInput(f"{path}: cannot read the file ({error.strerror or error})") from None
    digest = hashlib.sha256(content).hexdigest()
    try:
        with Image.open(io.BytesIO(content), formats=IMAGE_FORMATS) as image:
            pixels = fit_image(image, size, color)
    except UnidentifiedImageError:
        raise BadInput(f"{path}: not a readable image (not a JPEG, PNG, BMP or GIF)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise BadInput(f"{path}: not a readable image ({first_line(error)})") from None
    return digest, pixels


def fit_image(image, size, color):
    """A PIL image -> uint8 array (height, width, channels) for `size` = (height, width) and
    `color` (grayscale | rgb)."""
    height, width = size
    longest = max(height, width)  # either way up: the EXIF orientation is applied after decoding
    if image.format == "JPEG" and min(image.size) >= 2 * longest:
        image.draft(image.mode, (longest, longest))  # decode at 1/2, 1/4 or 1/8 size, never below the target
    transpose = ORIENTATIONS.get(_orientation(image))
    if transpose is not None:
        image = image.transpose(transpose)
    image = _as_8bit(image)
    mode = "L" if color == "grayscale" else "RGB"
    if image.mode != mode:  # convert() copies even when the mode is already right
        image = image.convert(mode)
    if image.size != (width, height):
        image = image.resize((width, height), RESAMPLE)
    pixels = np.asarray(image, dtype=np.uint8)
    return pixels.reshape(height, width, CHANNELS[color])


def _orientation(image):
    """The EXIF orientation tag, or None. Only this tag is read: ImageOps.exif_transpose also
    rewrites the rest of the EXIF block, and fails on a camera's malformed tag the image does not
    need (a text XResolution raised a TypeError naming no file). EXIF that Pillow cannot parse
    counts as no orientation, as image viewers treat it."""
    try:
        return image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # noqa: BLE001 (Pillow's EXIF parser raises many types on a malformed block)
        return None


def _as_8bit(image):
    """Flatten alpha onto the background and scale 16- and 32-bit grayscale to 8 bits (Pillow's
    own conversion of those modes clips at 255 instead of scaling)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        full_scale = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return Image.fromarray(np.round(values * (255.0 / full_scale)).clip(0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        raise ValueError("floating-point images are not supported")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image
