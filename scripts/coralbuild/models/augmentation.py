"""Random flips, shifts and rotations of training batches, in the input pipeline only.

A random layer inside the model would be exported with it and make the int8 conversion need
Flex ops; here nothing reaches the model. The randomness is stateless, drawn from (seed, epoch,
step), so a resumed training sees the same augmented batches as an uninterrupted one.
"""

import math

import tensorflow as tf

SETTINGS_DEFAULTS = {"horizontal_flip": False, "max_shift": 0.0, "max_rotation": 0.0}


def is_active(settings):
    settings = {**SETTINGS_DEFAULTS, **(settings or {})}
    return settings["horizontal_flip"] or settings["max_shift"] > 0 or settings["max_rotation"] > 0


def augment(images, seed, settings):
    """`images` (N, H, W, C) float32, `seed` a shape-[2] int64 tensor, `settings` the
    `train.augment` section: each image flipped left-right with probability 1/2 (if
    horizontal_flip), shifted by up to max_shift of its size and rotated by up to max_rotation
    degrees either way, edges filled by reflection."""
    settings = {**SETTINGS_DEFAULTS, **(settings or {})}
    count = tf.shape(images)[0]
    height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, num=4)

    def uniform(index, low, high):
        return tf.random.stateless_uniform((count,), seeds[index], minval=low, maxval=high)

    if settings["horizontal_flip"]:
        flip = uniform(0, 0.0, 1.0) < 0.5
        images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
    if settings["max_shift"] > 0 or settings["max_rotation"] > 0:
        angle = uniform(1, -1.0, 1.0) * (settings["max_rotation"] * math.pi / 180)
        shift_y = uniform(2, -1.0, 1.0) * settings["max_shift"] * height
        shift_x = uniform(3, -1.0, 1.0) * settings["max_shift"] * width
        images = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=_rotate_then_shift(angle, shift_x, shift_y, height, width),
            output_shape=tf.shape(images)[1:3], fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")
    return images


def _rotate_then_shift(angle, shift_x, shift_y, height, width):
    """Per image, the 8 projective parameters mapping each output pixel to the input pixel it
    takes: rotation by `angle` about the centre, then a shift (the inverse map, as the op wants)."""
    cos, sin = tf.cos(angle), tf.sin(angle)
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    # input = R^-1 (output - shift - centre) + centre, with R^-1 = [[cos, sin], [-sin, cos]]
    offset_x = centre_x - cos * (centre_x + shift_x) - sin * (centre_y + shift_y)
    offset_y = centre_y + sin * (centre_x + shift_x) - cos * (centre_y + shift_y)
    zeros = tf.zeros_like(angle)
    return tf.stack([cos, sin, offset_x, -sin, cos, offset_y, zeros, zeros], axis=1)
