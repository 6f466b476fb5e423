"""Image files (coralbuild.data.images) and the image_folder format, through its CLI
scripts/prepare_dataset.py: decoding, scanning, the prepared folder, and bad input."""

import hashlib
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import IMAGE_FOLDER_COLOURS, run_script, write_image_folder
from coralbuild.data import prepared
from coralbuild.data.formats import image_folder
from coralbuild.data.formats.image_folder import Scan
from coralbuild.data.images import read_image_file
from coralbuild.data.prepared import load_info, load_split
from coralbuild.data.row_store import StoredImages
from coralbuild.errors import BadInput

ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def digest_cache_in_tmp_path(tmp_path, monkeypatch):
    """Planning's cache of image digests (under .snakemake/ of the working directory) in tmp_path."""
    monkeypatch.setattr(image_folder, "DIGEST_CACHE", tmp_path / "digest-cache")


def decode(path, size, color="rgb"):
    return read_image_file(path, size, color)[1]


def save(array, path, mode=None, **options):
    image = Image.fromarray(np.asarray(array)) if mode is None else Image.fromarray(np.asarray(array)).convert(mode)
    image.save(path, **options)
    return path


# ---- decoding one file ----------------------------------------------------------------------

SOLID = (200, 30, 90)


@pytest.mark.parametrize("name, tolerance", [("a.JPG", 6), ("b.jpeg", 6), ("c.Png", 0), ("d.BMP", 0), ("e.gif", 0)])
def test_each_format_decodes_whatever_the_case_of_its_extension(tmp_path, name, tolerance):
    pixels = np.broadcast_to(np.array(SOLID, np.uint8), (8, 12, 3))
    image = Image.fromarray(np.ascontiguousarray(pixels))
    if name.endswith("gif"):
        image = image.quantize(colors=2)  # exact colour through the palette
    image.save(tmp_path / name, format={"jpg": "JPEG", "peg": "JPEG", "png": "PNG", "bmp": "BMP", "gif": "GIF"}[name[-3:].lower()])
    digest, decoded = read_image_file(tmp_path / name, (8, 12), "rgb")
    assert digest == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    assert decoded.shape == (8, 12, 3) and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - SOLID).max() <= tolerance


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (6, 6), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(tmp_path / "anim.gif") as check:
        assert check.n_frames == 3
    decoded = decode(tmp_path / "anim.gif", (6, 6))
    assert (decoded == (255, 0, 0)).all()


def test_exif_orientation_is_applied(tmp_path):
    # Stored 16 wide, 8 high: left half black, right half white. Orientation 6 means "rotate
    # 90 degrees clockwise to display": 8 wide, 16 high, black on top.
    stored = np.zeros((8, 16), np.uint8)
    stored[:, 8:] = 255
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    Image.fromarray(stored).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    decoded = decode(tmp_path / "rotated.jpg", (16, 8), "grayscale")[..., 0].astype(int)
    assert decoded.shape == (16, 8)
    assert decoded[:8].mean() < 20 and decoded[8:].mean() > 235
    # Without the tag the same pixels read as stored.
    Image.fromarray(stored).save(tmp_path / "plain.jpg", quality=95)
    plain = decode(tmp_path / "plain.jpg", (8, 16), "grayscale")[..., 0].astype(int)
    assert plain[:, :8].mean() < 20 and plain[:, 8:].mean() > 235


def test_exif_orientation_is_applied_when_the_jpeg_is_shrunk_while_decoding(tmp_path):
    # Large enough for Image.draft: the orientation still decides which way the image stands.
    stored = np.zeros((64, 128), np.uint8)
    stored[:, 64:] = 255
    exif = Image.Exif()
    exif[ORIENTATION] = 8  # rotate 90 degrees counter-clockwise to display: white on top
    Image.fromarray(stored).save(tmp_path / "big.jpg", exif=exif, quality=95)
    decoded = decode(tmp_path / "big.jpg", (16, 8), "grayscale")[..., 0].astype(int)
    assert decoded[:7].mean() > 235 and decoded[9:].mean() < 20


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_exif_orientation_stands_the_image_up_as_pillow_does(tmp_path, orientation):
    """The orientation table against Pillow's own exif_transpose, on a lossless image whose four
    quadrants differ."""
    from PIL import ImageOps

    stored = np.arange(6 * 10, dtype=np.uint8).reshape(6, 10) * 4
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    Image.fromarray(stored).save(tmp_path / "o.png", exif=exif)
    with Image.open(tmp_path / "o.png") as image:
        upright = np.asarray(ImageOps.exif_transpose(image))
    decoded = decode(tmp_path / "o.png", upright.shape, "grayscale")[..., 0]
    assert np.array_equal(decoded, upright)


def jpeg_with_raw_exif(path, entries):
    """A JPEG whose EXIF block holds `entries` [(tag, TIFF type, count, value or bytes)] as given,
    malformed ones too (Pillow's own writer refuses them)."""
    import struct

    data_offset = 8 + 2 + 12 * len(entries) + 4
    ifd, data = struct.pack("<H", len(entries)), b""
    for tag, kind, count, value in entries:
        if isinstance(value, bytes):
            ifd += struct.pack("<HHII", tag, kind, count, data_offset + len(data))
            data += value
        else:
            ifd += struct.pack("<HHII", tag, kind, count, value)
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + data
    stored = np.zeros((8, 16), np.uint8)
    stored[:, 8:] = 255
    Image.fromarray(stored).save(path, exif=b"Exif\0\0" + tiff, quality=95)
    return path


@pytest.mark.parametrize("entries, rotated", [
    ([(ORIENTATION, 3, 1, 6), (282, 2, 12, b"seventy-two\0")], True),  # XResolution as text: a TypeError before
    ([(ORIENTATION, 3, 1, 6), (282, 5, 1, b"\0" * 8)], True),  # XResolution 0/0
    ([(ORIENTATION, 2, 2, b"6\0")], False),  # the orientation itself as text: not applied
], ids=["text resolution", "zero resolution", "text orientation"])
def test_malformed_exif_beside_the_orientation_does_not_stop_decoding(tmp_path, entries, rotated):
    path = jpeg_with_raw_exif(tmp_path / "camera.jpg", entries)
    decoded = decode(path, (16, 8) if rotated else (8, 16), "grayscale")[..., 0].astype(int)
    dark, light = (decoded[:8], decoded[8:]) if rotated else (decoded[:, :8], decoded[:, 8:])  # black on top / left
    assert dark.mean() < 20 and light.mean() > 235


def test_generated_malformed_exif_blocks_never_stop_decoding(tmp_path):
    """A structure-aware fuzzer: 400 EXIF blocks of an orientation and 1-4 tags of random type,
    count and bytes. Pillow's exif_transpose raised on 68 of 500 such blocks (TypeError,
    AttributeError, struct.error, naming no file); reading the orientation alone, none may. A block
    that stops Pillow opening the file at all is one line naming it."""
    import collections
    import random
    import warnings

    generator, outcomes = random.Random(0), collections.Counter()
    tags = [282, 283, 296, 305, 306, 315, 0x8769, 0x8825, 531, 270]
    for index in range(400):
        entries = [(ORIENTATION, 3, 1, generator.randrange(10))]
        for _ in range(generator.randrange(1, 5)):
            tag = generator.choice([*tags, generator.randrange(65536)])
            value = bytes(generator.randrange(256) for _ in range(generator.choice([0, 4, 8, 16])))
            entries.append((tag, generator.randrange(1, 13), generator.choice([0, 1, 2, 8, 100, 2**31]), value))
        path = jpeg_with_raw_exif(tmp_path / f"{index}.jpg", entries)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns of each corrupt block it skips
            try:
                outcomes[decode(path, (8, 8), "grayscale").shape] += 1
            except BadInput as error:  # a block that stops Pillow opening the file: one line naming it
                assert str(error).startswith(f"{path}: not a readable image"), entries
                outcomes["refused"] += 1
    assert outcomes[(8, 8, 1)] >= 380, outcomes  # 399 here: a block Pillow cannot open past is rare


def test_rgba_and_la_are_composited_onto_white(tmp_path):
    rgba = np.array([[[0, 0, 0, 0], [10, 20, 30, 255]], [[200, 0, 0, 128], [0, 0, 0, 255]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    decoded = decode(tmp_path / "rgba.png", (2, 2)).astype(int)
    assert decoded[0, 0].tolist() == [255, 255, 255]  # fully transparent: the background
    assert decoded[0, 1].tolist() == [10, 20, 30]  # opaque: as it is
    assert decoded[1, 1].tolist() == [0, 0, 0]
    assert np.abs(decoded[1, 0] - [227, 127, 127]).max() <= 1  # half: between colour and white
    la = np.array([[[0, 0], [50, 255]]], np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert decode(tmp_path / "la.png", (1, 2), "grayscale")[..., 0].tolist() == [[255, 50]]
    assert decode(tmp_path / "la.png", (1, 2), "rgb").tolist() == [[[255] * 3, [50] * 3]]


def palette_image(transparency):
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    if transparency:
        image.info["transparency"] = 0
    return image


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_palette_images_with_and_without_transparency(tmp_path, suffix):
    palette_image(False).save(tmp_path / f"opaque{suffix}")
    palette_image(True).save(tmp_path / f"transparent{suffix}", transparency=0)
    assert decode(tmp_path / f"opaque{suffix}", (1, 2)).tolist() == [[[0, 0, 0], [255, 0, 0]]]
    assert decode(tmp_path / f"transparent{suffix}", (1, 2)).tolist() == [[[255, 255, 255], [255, 0, 0]]]
    assert decode(tmp_path / f"transparent{suffix}", (1, 2), "grayscale")[0, :, 0].tolist() == [255, 76]


@pytest.mark.parametrize("mode, key, pixels", [("L", 0, [[0, 100]]), ("RGB", (0, 0, 0), [[[0, 0, 0], [10, 20, 30]]])])
def test_a_transparent_colour_key_is_composited_onto_white(tmp_path, mode, key, pixels):
    Image.fromarray(np.array(pixels, np.uint8), mode).save(tmp_path / "keyed.png", transparency=key)
    assert decode(tmp_path / "keyed.png", (1, 2), "grayscale")[0, 0, 0] == 255


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[65535, 32896, 0], [257, 128, 255]], np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as check:
        assert check.mode.startswith("I")
    assert decode(tmp_path / "deep.png", (2, 3), "grayscale")[..., 0].tolist() == [[255, 128, 0], [1, 0, 1]]
    assert decode(tmp_path / "deep.png", (2, 3), "rgb")[0, 1].tolist() == [128, 128, 128]


def test_a_dark_sixteen_bit_image_is_still_read_as_sixteen_bits(tmp_path):
    # Every value below 256: still a 16-bit file, so 255 is 255/65535 of full scale, not white.
    Image.fromarray(np.array([[255, 0]], np.uint16)).save(tmp_path / "dark.png")
    assert decode(tmp_path / "dark.png", (1, 2), "grayscale")[..., 0].tolist() == [[1, 0]]


def test_grayscale_to_rgb_replicates_and_rgb_to_grayscale_gives_one_channel(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    Image.fromarray(grey).save(tmp_path / "grey.png")
    rgb = decode(tmp_path / "grey.png", (6, 8), "rgb")
    assert rgb.shape == (6, 8, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], grey)
    colour = np.zeros((6, 8, 3), np.uint8)
    colour[..., 0] = 255  # pure red: ITU-R 601-2 luma 0.299 * 255
    Image.fromarray(colour).save(tmp_path / "red.png")
    single = decode(tmp_path / "red.png", (6, 8), "grayscale")
    assert single.shape == (6, 8, 1) and (single == 76).all()


@pytest.mark.parametrize("source_size", [(13, 20), (120, 90)])  # the larger one goes through Image.draft
def test_resize_gives_height_by_width_and_the_same_bytes_every_time(tmp_path, source_size):
    pixels = np.random.default_rng(0).integers(0, 256, (*source_size, 3), dtype=np.uint8)
    for name in ("image.jpg", "image.png"):
        Image.fromarray(pixels).save(tmp_path / name)
        first = decode(tmp_path / name, (7, 11))
        assert first.shape == (7, 11, 3)
        assert first.tobytes() == decode(tmp_path / name, (7, 11)).tobytes()
        assert decode(tmp_path / name, (9, 5), "grayscale").shape == (9, 5, 1)


def test_resize_keeps_what_the_image_shows(tmp_path):
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:20] = (255, 0, 0)
    pixels[20:] = (0, 0, 255)
    Image.fromarray(pixels).save(tmp_path / "halves.png")
    small = decode(tmp_path / "halves.png", (8, 6)).astype(int)
    assert (small[:3] == (255, 0, 0)).all() and (small[5:] == (0, 0, 255)).all()


def test_corrupt_and_truncated_files_name_the_file(tmp_path):
    (tmp_path / "x.jpg").write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(BadInput, match=r"x\.jpg: not a readable image"):
        read_image_file(tmp_path / "x.jpg", (8, 8), "rgb")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "t.png")
    (tmp_path / "t.png").write_bytes((tmp_path / "t.png").read_bytes()[:600])
    with pytest.raises(BadInput, match=r"t\.png: not a readable image"):
        read_image_file(tmp_path / "t.png", (8, 8), "rgb")
    with pytest.raises(BadInput, match=r"gone\.png: file not found"):
        read_image_file(tmp_path / "gone.png", (8, 8), "rgb")


# ---- scanning a folder ----------------------------------------------------------------------

JUNK = {".DS_Store": b"\0\0\0\1Bud1", "Thumbs.db": b"\xd0\xcf\x11\xe0", "notes.txt": b"my photos\n",
        "._photo.jpg": b"\0\5\26\7\0\2\0\0Mac OS X"}


def add_junk(folder):
    for name, content in JUNK.items():
        (folder / name).write_bytes(content)


def test_class_names_are_sorted_folders_and_nested_images_count(tmp_path):
    write_image_folder(tmp_path, per_class=2)
    (tmp_path / "red" / "more" / "deeper").mkdir(parents=True)
    shutil.copy(tmp_path / "red" / "red_0000.jpg", tmp_path / "red" / "more" / "deeper" / "x.jpg")
    shutil.copy(tmp_path / "red" / "red_0001.png", tmp_path / "red" / "more" / "y.PNG")
    scan = Scan(tmp_path)
    assert scan.classes == ["blue", "green", "red"] and scan.split_folders == {} and scan.given == {}
    # Files of a folder (sorted) before its subfolders (sorted): an order that does not depend on the file system.
    assert scan.paths == ["blue/blue_0000.jpg", "blue/blue_0001.png", "green/green_0000.jpg", "green/green_0001.png",
                          "red/red_0000.jpg", "red/red_0001.png", "red/more/y.PNG", "red/more/deeper/x.jpg"]
    assert scan.labels == [0, 0, 1, 1, 2, 2, 2, 2]


def test_files_that_are_not_images_are_skipped_and_counted(tmp_path):
    write_image_folder(tmp_path, per_class=2)
    add_junk(tmp_path)
    add_junk(tmp_path / "green")
    (tmp_path / "green" / "sub").mkdir()
    add_junk(tmp_path / "green" / "sub")
    scan = Scan(tmp_path)
    assert len(scan.paths) == 6 and not any("._" in path or path.endswith((".txt", ".db")) for path in scan.paths)
    assert sorted(path.name for path in scan.skipped) == sorted(list(JUNK) * 3)


def test_train_and_test_folders_give_the_test_set(tmp_path):
    write_image_folder(tmp_path, per_class=3, test_per_class=2)
    scan = Scan(tmp_path)
    assert scan.split_folders == {"train": "train", "test": "test"} and scan.classes == ["blue", "green", "red"]
    assert scan.given == {"test": range(9, 15)} and len(scan.paths) == 15
    assert all(path.startswith("train/") for path in scan.paths[:9])
    assert all(path.startswith("test/") for path in scan.paths[9:])
    assert scan.labels == [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 1, 1, 2, 2]


# ---- the CLI and the prepared folder --------------------------------------------------------

SETTINGS = {"image_size": [12, 10], "color": "rgb", "test_size": 0.25, "validation_size": 2, "seed": 0}


def prepare(image_root, output, threads=2, **settings):
    return run_script("prepare_dataset.py", "--format", "image_folder", "--source", json.dumps({"folder": str(image_root)}),
                      "--settings", json.dumps({**SETTINGS, **settings}), "--threads", threads, "--output", output)


def prepared_ok(image_root, output, **options):
    result = prepare(image_root, output, **options)
    assert result.returncode == 0, result.stderr
    return result


def files_of(folder):
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def colour_class(images):
    """The class each image shows: the IMAGE_FOLDER_COLOURS entry nearest its mean colour."""
    colours = np.array(list(IMAGE_FOLDER_COLOURS.values()))
    means = np.asarray(images, dtype=float).mean(axis=(1, 2))
    return np.argmin(((means[:, None, :] - colours[None]) ** 2).sum(axis=2), axis=1)


def test_prepared_folder_of_one_folder_per_class(tmp_path):
    write_image_folder(tmp_path / "photos", per_class=8)
    add_junk(tmp_path / "photos" / "blue")
    result = prepared_ok(tmp_path / "photos", tmp_path / "data")
    assert "24 images in 3 classes" in result.stdout and "4 other files skipped" in result.stdout
    split = load_split(tmp_path / "data")
    assert [len(split[f"y_{name}"]) for name in ("train", "val", "test")] == [16, 2, 6]
    assert np.bincount(split["y_test"]).tolist() == [2, 2, 2]  # stratified
    for name in ("train", "val", "test"):
        assert isinstance(split[f"x_{name}"], StoredImages) and split[f"x_{name}"].shape[1:] == (12, 10, 3)
        np.testing.assert_array_equal(colour_class(split[f"x_{name}"]), split[f"y_{name}"])  # each image with its label
    info = load_info(tmp_path / "data")
    assert info["classes"] == ["blue", "green", "red"] and info["image_shape"] == [12, 10, 3]
    assert info["counts"] == {"train": 16, "val": 2, "test": 6} and info["skipped_files"] == 4
    # Every image once, none twice.
    rows = {row.tobytes() for name in ("train", "val", "test") for row in split[f"x_{name}"]}
    assert len(rows) == 24


def test_prepared_folder_of_train_and_test_folders(tmp_path):
    written = write_image_folder(tmp_path / "photos", per_class=5, test_per_class=3)
    settings = {key: value for key, value in SETTINGS.items() if key != "test_size"}
    result = run_script("prepare_dataset.py", "--format", "image_folder", "--source",
                        json.dumps({"folder": str(tmp_path / "photos")}), "--settings", json.dumps(settings),
                        "--output", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    split = load_split(tmp_path / "data")
    test_files = [path for paths in written.values() for path in paths if path.parent.parent.name == "test"]
    expected = {decode(path, (12, 10)).tobytes() for path in test_files}
    assert {row.tobytes() for row in split["x_test"]} == expected
    assert [len(split[f"y_{name}"]) for name in ("train", "val", "test")] == [13, 2, 9]
    np.testing.assert_array_equal(colour_class(split["x_test"]), split["y_test"])
    np.testing.assert_array_equal(colour_class(split["x_train"]), split["y_train"])


def test_two_runs_give_byte_identical_folders_whatever_the_threads(tmp_path):
    write_image_folder(tmp_path / "photos", per_class=7)
    prepared_ok(tmp_path / "photos", tmp_path / "first", threads=1)
    prepared_ok(tmp_path / "photos", tmp_path / "second", threads=4)
    first, second = files_of(tmp_path / "first"), files_of(tmp_path / "second")
    assert sorted(first) == sorted(["dataset.json", "sources.sha256"] + [f"{kind}_{split}.npy" for kind in "xy"
                                                                         for split in ("train", "val", "test")])
    assert first == second


def test_small_chunks_write_the_same_folder(tmp_path, monkeypatch):
    write_image_folder(tmp_path / "photos", per_class=7)
    settings = {**SETTINGS, "max_train_size": 10}  # some images only hashed
    (tmp_path / "whole").mkdir()
    image_folder.prepare(settings, {"folder": str(tmp_path / "photos")}, tmp_path / "whole", 1)
    monkeypatch.setattr(prepared, "CHUNK", 4)
    (tmp_path / "chunked").mkdir()
    image_folder.prepare(settings, {"folder": str(tmp_path / "photos")}, tmp_path / "chunked", 3)
    assert files_of(tmp_path / "whole") == files_of(tmp_path / "chunked")
    assert len(load_split(tmp_path / "whole")["y_train"]) == 10
    assert len((tmp_path / "whole" / "sources.sha256").read_text().splitlines()) == 21  # every image hashed


def test_the_folder_digest_is_the_sha256_of_the_listing_and_follows_the_images(tmp_path):
    written = write_image_folder(tmp_path / "photos", per_class=4)
    add_junk(tmp_path / "photos" / "red")
    prepared_ok(tmp_path / "photos", tmp_path / "before")
    listing = (tmp_path / "before" / "sources.sha256").read_bytes()
    digest = load_info(tmp_path / "before")["source_sha256"]
    assert digest == hashlib.sha256(listing).hexdigest()
    assert len(listing.decode().splitlines()) == 12  # images only
    check = subprocess.run(["sha256sum", "--strict", "-c", tmp_path / "before" / "sources.sha256"],
                           cwd=tmp_path / "photos", capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 12, check.stdout + check.stderr
    # A pin of that digest passes.
    prepared_ok(tmp_path / "photos", tmp_path / "pinned", sha256=digest.upper())
    # One image's bytes changed (it still decodes): another digest.
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(written["green"][1])
    prepared_ok(tmp_path / "photos", tmp_path / "after")
    assert load_info(tmp_path / "after")["source_sha256"] != digest
    changed = set(listing.decode().splitlines()) ^ set((tmp_path / "after" / "sources.sha256").read_text().splitlines())
    assert {line.split("  ", 1)[1] for line in changed} == {"green/green_0001.png"}


def test_grayscale_preparation_gives_one_channel(tmp_path):
    write_image_folder(tmp_path / "photos", per_class=4)
    prepared_ok(tmp_path / "photos", tmp_path / "data", color="grayscale", image_size=[8, 9])
    split = load_split(tmp_path / "data")
    assert split["x_train"].shape[1:] == (8, 9, 1) and load_info(tmp_path / "data")["image_shape"] == [8, 9, 1]


# ---- bad input: one line, exit status 1, nothing left -----------------------------------------

def corrupt_jpeg(root):
    write_image_folder(root, per_class=3)
    (root / "green" / "x.jpg").write_bytes(np.random.default_rng(0).bytes(700))
    return "green/x.jpg"


def truncated_png(root):
    write_image_folder(root, per_class=3)
    pixels = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "red" / "cut.png")
    (root / "red" / "cut.png").write_bytes((root / "red" / "cut.png").read_bytes()[:2000])
    return "red/cut.png"


def empty_class(root):
    write_image_folder(root, per_class=3)
    (root / "violet").mkdir()
    (root / "violet" / "notes.txt").write_text("no photos yet\n")
    return "violet"


def single_class(root):
    write_image_folder(root, per_class=3, classes={"red": (200, 0, 0)})
    return "photos"


def class_only_in_test(root):
    write_image_folder(root, per_class=3, test_per_class=2)
    shutil.copytree(root / "test" / "green", root / "test" / "violet")
    return "test/violet"


def only_a_test_folder(root):
    write_image_folder(root, per_class=3, test_per_class=2)
    shutil.rmtree(root / "train")
    return "photos"


def val_and_validation(root):
    write_image_folder(root, per_class=3, test_per_class=2)
    shutil.copytree(root / "test", root / "val")
    shutil.copytree(root / "test", root / "validation")
    return "photos"


def empty_test_folder(root):
    write_image_folder(root, per_class=3, test_per_class=2)
    for image in (root / "test").glob("*/*"):
        image.unlink()
    add_junk(root / "test" / "red")
    return "test"


def class_beside_split_folders(root):
    write_image_folder(root, per_class=3, test_per_class=2)
    shutil.copytree(root / "train" / "red", root / "red")
    return "photos"


def no_images_at_all(root):
    root.mkdir()
    add_junk(root)
    return "photos"


def no_images_in_class_folders(root):
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        add_junk(root / name)
    return "cats"


def missing_folder(root):
    return "photos"


def wrong_pin(root):
    write_image_folder(root, per_class=3)
    return "photos"


@pytest.mark.parametrize("make, expected", [
    (corrupt_jpeg, r"photos/green/x\.jpg: not a readable image"),
    (truncated_png, r"photos/red/cut\.png: not a readable image"),
    (empty_class, r"photos/violet: class folder with no images"),
    (single_class, r"photos: a classifier needs at least two class folders, found 1 \(red\)"),
    (class_only_in_test, r"photos/test/violet: no class violet in .*photos/train \(its classes: blue, green, red\)"),
    (only_a_test_folder, r"photos: test/ without train/: give either one folder per class, or train/ with val/ "
                         r"\(or validation/\) and test/ as you have them"),
    (val_and_validation, r"photos: both val/ and validation/: give either one folder per class"),
    (class_beside_split_folders, r"photos: red/ beside test/, train/: give either one folder per class"),
    (empty_test_folder, r"photos/test: no images in its class folders \(the test set\)$"),
    (no_images_at_all, r"photos: no class folders"),
    (no_images_in_class_folders, r"photos/cats: class folder with no images"),
    (missing_folder, r"photos: folder not found"),
    (wrong_pin, r"photos: sha256 of the folder is [0-9a-f]{64}, expected 0{64}"),
])
def test_bad_input_is_one_line_naming_the_culprit_and_leaves_nothing(tmp_path, make, expected):
    root = tmp_path / "photos"
    make(root)
    (tmp_path / "out").mkdir()
    settings = {"sha256": "0" * 64} if make is wrong_pin else {}
    result = prepare(root, tmp_path / "out" / "data", threads=3, **settings)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert __import__("re").search(expected, lines[0]), lines[0]
    assert list((tmp_path / "out").iterdir()) == []  # neither the folder nor a temporary beside it


def test_the_first_bad_image_is_reported_whatever_the_threads(tmp_path):
    write_image_folder(tmp_path / "photos", per_class=6)
    for name in ("blue/a.jpg", "red/z.png"):
        (tmp_path / "photos" / name).write_bytes(b"not an image")
    for threads in (1, 4):
        result = prepare(tmp_path / "photos", tmp_path / f"out{threads}", threads=threads)
        assert result.returncode == 1 and "photos/blue/a.jpg: not a readable image" in result.stderr


def test_an_unidentified_image_message_is_about_the_file_not_a_python_object(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"not an image")
    with pytest.raises(BadInput) as caught:
        read_image_file(tmp_path / "x.jpg", (8, 8), "rgb")
    assert "BytesIO" not in str(caught.value) and " at 0x" not in str(caught.value)


# ---- split folders as people keep them --------------------------------------------------------

def split_folders(root, per_class):
    """<root>/<folder>/<class>/<image> for each folder -> images per class; each folder's images
    are seeded apart, so every image is distinct."""
    for seed, (folder, count) in enumerate(per_class.items()):
        write_image_folder(root / folder, per_class=count, seed=seed)


def decoded_rows(folder, size=(12, 10)):
    return {decode(path, size).tobytes() for path in folder.rglob("*") if path.is_file()}


def config_for(scan, **settings):
    """SETTINGS with test_size / validation_size only for the splits `scan` has no folder for."""
    sizes = {"test": ("test_size", 0.25), "val": ("validation_size", 2)}
    return {**{key: value for key, value in SETTINGS.items() if key not in ("test_size", "validation_size")},
            **{key: value for split, (key, value) in sizes.items() if split not in scan.split_folders}, **settings}


@pytest.mark.parametrize("layout, counts", [
    ({"train": 8, "validation": 2, "test": 3}, {"train": 24, "val": 6, "test": 9}),
    ({"train": 8, "val": 2, "test": 3}, {"train": 24, "val": 6, "test": 9}),
    ({"train": 8, "val": 2}, {"train": 18, "val": 6, "test": 6}),  # test_size 0.25 of train/
    ({"train": 8, "test": 3}, {"train": 22, "val": 2, "test": 9}),  # validation_size 2 of train/
    ({"train": 8}, {"train": 16, "val": 2, "test": 6}),
])
def test_split_folders_are_the_splits_they_name_and_the_others_come_from_train(tmp_path, layout, counts):
    split_folders(tmp_path / "photos", layout)
    scan = Scan(tmp_path / "photos")
    named = {"validation": "val"}
    assert scan.split_folders == {named.get(folder, folder): folder for folder in layout}
    settings = config_for(scan)
    image_folder.check_config("photos", {"path": str(tmp_path / "photos"), **settings})
    (tmp_path / "data").mkdir()
    image_folder.prepare(settings, {"folder": str(tmp_path / "photos")}, tmp_path / "data", 2)
    split = load_split(tmp_path / "data")
    assert {name: len(split[f"y_{name}"]) for name in ("train", "val", "test")} == counts
    for folder in layout:
        if folder != "train":  # a given split holds exactly its folder's images, each with its class
            assert {row.tobytes() for row in split[f"x_{named.get(folder, folder)}"]} == decoded_rows(tmp_path / "photos" / folder)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(colour_class(split[f"x_{name}"]), split[f"y_{name}"])
    train_rows = decoded_rows(tmp_path / "photos" / "train")
    assert {row.tobytes() for row in split["x_train"]} <= train_rows


@pytest.mark.parametrize("layout, settings, message", [
    ({"train": 3, "validation": 1}, {"test_size": 1, "validation_size": 1},
     "invalid config at datasets.d.validation_size: {path} has a validation/ folder, which is the validation set; remove validation_size"),
    ({"train": 3, "val": 1}, {"validation_size": 1},
     "invalid config at datasets.d.validation_size: {path} has a val/ folder, which is the validation set; remove validation_size"),
    ({"train": 3, "test": 1}, {"test_size": 1, "validation_size": 1},
     "invalid config at datasets.d.test_size: {path} has a test/ folder, which is the test set; remove test_size"),
    ({"train": 3, "test": 1}, {},
     "invalid config at datasets.d: {path} has no val/ or validation/ folder; set validation_size to split off a validation set"),
    ({"train": 3, "val": 1}, {},
     "invalid config at datasets.d: {path} has no test/ folder; set test_size to split off a test set"),
    ({"blue": 3, "red": 3}, {"test_size": 1},
     "invalid config at datasets.d: {path} has no val/ or validation/ folder; set validation_size to split off a validation set"),
])
def test_a_split_size_is_required_without_its_folder_and_refused_with_it(tmp_path, layout, settings, message):
    if "train" in layout:
        split_folders(tmp_path / "photos", layout)
    else:
        write_image_folder(tmp_path / "photos", per_class=3, classes={name: IMAGE_FOLDER_COLOURS[name] for name in layout})
    config = {"path": str(tmp_path / "photos"), "image_size": [8, 8], "color": "rgb", "seed": 0, **settings}
    with pytest.raises(image_folder.ConfigError) as caught:
        image_folder.check_config("d", config)
    assert str(caught.value) == message.format(path=tmp_path / "photos")


# ---- warnings: a class with few images, or none, in a split ------------------------------------

def test_a_class_with_few_images_or_absent_from_a_split_is_a_warning_and_the_run_goes_on(tmp_path):
    split_folders(tmp_path / "photos", {"train": 12, "validation": 10, "test": 10})
    for name in ("green", "red"):
        shutil.rmtree(tmp_path / "photos" / "test" / name)
    for path in sorted((tmp_path / "photos" / "validation" / "red").iterdir())[3:]:
        path.unlink()
    settings = {key: value for key, value in SETTINGS.items() if key not in ("test_size", "validation_size")}
    result = run_script("prepare_dataset.py", "--format", "image_folder", "--source", json.dumps({"folder": str(tmp_path / "photos")}),
                        "--settings", json.dumps(settings), "--output", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    expected = ["class green has fewer than 10 images in test (none)",
                "class red has fewer than 10 images in val (3) and test (none)"]
    assert load_info(tmp_path / "data")["warnings"] == expected
    assert [line for line in result.stdout.splitlines() if line.startswith("warning: ")] == [f"warning: {line}" for line in expected]
    assert load_info(tmp_path / "data")["counts"] == {"train": 36, "val": 23, "test": 10}


def test_enough_images_everywhere_gives_no_warning(tmp_path):
    split_folders(tmp_path / "photos", {"train": 10, "val": 10, "test": 10})
    (tmp_path / "data").mkdir()
    image_folder.prepare(config_for(Scan(tmp_path / "photos")), {"folder": str(tmp_path / "photos")}, tmp_path / "data", 1)
    assert load_info(tmp_path / "data")["warnings"] == []


# ---- a folder of datasets given as `path` ------------------------------------------------------

def folder_of_datasets(root):
    write_image_folder(root / "flowers", per_class=2)
    write_image_folder(root / "birds", per_class=2, seed=1)


def dataset_one_level_down(root):
    write_image_folder(root / "flower_photos", per_class=2)
    (root / "LICENSE.txt").write_text("CC-BY\n")


def split_dataset_one_level_down(root):
    split_folders(root / "chest_xray", {"train": 2, "test": 1})


@pytest.mark.parametrize("make, message", [
    (folder_of_datasets, "{root}: the images sit two levels down (e.g. birds/blue/blue_0000.jpg), as in a folder of datasets: "
                         "path is likely {root}/birds; set nested: true if birds, flowers are the classes"),
    (dataset_one_level_down, "{root}: the images sit two levels down (e.g. flower_photos/blue/blue_0000.jpg), as in a folder "
                             "of datasets: path is likely {root}/flower_photos"),
    (split_dataset_one_level_down, "{root}: the images sit two levels down (e.g. chest_xray/test/blue/blue_0000.jpg), as in a "
                                   "folder of datasets: path is likely {root}/chest_xray"),
])
def test_a_folder_of_datasets_is_one_line_naming_the_likely_path(tmp_path, make, message):
    make(tmp_path / "data")
    with pytest.raises(image_folder.ConfigError) as caught:
        image_folder.check_config("d", {"path": str(tmp_path / "data"), "test_size": 1, "validation_size": 1})
    assert str(caught.value) == "invalid config at datasets.d.path: " + message.format(root=tmp_path / "data")
    assert "\n" not in str(caught.value)


def test_nested_true_takes_the_top_folders_as_classes(tmp_path):
    folder_of_datasets(tmp_path / "data")
    settings = {"path": str(tmp_path / "data"), "nested": True, "test_size": 1, "validation_size": 1}
    image_folder.check_config("d", settings)
    assert image_folder.planned_scan(settings["path"], False).classes == ["birds", "flowers"]


def test_class_folders_with_a_subfolder_each_or_some_images_directly_are_classes(tmp_path):
    # One album per class is no folder of datasets (a dataset has two classes or split folders) ...
    for name in ("cats", "dogs"):
        write_image_folder(tmp_path / "albums" / name, per_class=2, classes={"2021": (90, 90, 90)})
    image_folder.check_config("d", {"path": str(tmp_path / "albums"), "test_size": 1, "validation_size": 1})
    # ... nor is a class folder with images of its own beside subfolders of images.
    folder_of_datasets(tmp_path / "mixed")
    shutil.copy(tmp_path / "mixed/birds/red/red_0000.jpg", tmp_path / "mixed/birds/loose.jpg")
    image_folder.check_config("d", {"path": str(tmp_path / "mixed"), "test_size": 1, "validation_size": 1})
    assert image_folder.planned_scan(str(tmp_path / "mixed"), True).classes == ["birds", "flowers"]


# ---- planning: the folder's digest stands for its images ---------------------------------------

def test_an_image_planning_cannot_read_is_one_line_naming_it(tmp_path):
    write_image_folder(tmp_path / "photos", per_class=2)
    (tmp_path / "photos" / "red" / "gone.jpg").symlink_to(tmp_path / "elsewhere.jpg")
    with pytest.raises(image_folder.ConfigError) as caught:
        image_folder.check_config("d", {"path": str(tmp_path / "photos"), "test_size": 1, "validation_size": 1})
    assert str(caught.value) == (f"invalid config at datasets.d.path: {tmp_path}/photos/red/gone.jpg: "
                                 "cannot read the file (No such file or directory)")


def test_the_planned_digest_is_the_folder_sha256_and_reads_only_new_or_changed_images(tmp_path, monkeypatch):
    written = write_image_folder(tmp_path / "photos", per_class=3)
    (tmp_path / "data").mkdir()
    image_folder.prepare(SETTINGS, {"folder": str(tmp_path / "photos")}, tmp_path / "data", 1)
    reads = []
    hash_file = image_folder._file_sha256
    monkeypatch.setattr(image_folder, "_file_sha256", lambda path: reads.append(path) or hash_file(path))

    def planned():
        reads.clear()
        return image_folder.planned_folder_sha256(Scan(tmp_path / "photos"), tmp_path / "cache")

    digest = load_info(tmp_path / "data")["source_sha256"]
    assert planned() == digest and len(reads) == 9
    assert planned() == digest and reads == []
    for paths in written.values():
        for path in paths:
            path.touch()
    assert planned() == digest and len(reads) == 9  # read again: same content, same digest
    # Same size and the old modification time, other bytes (a tool that keeps times): still seen.
    image = written["green"][1]
    before, original = image.stat(), image.read_bytes()
    image.write_bytes(original[:-20] + bytes([original[-20] ^ 0xFF]) + original[-19:])
    os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns))
    changed = planned()
    assert changed != digest and reads == [str(image)]
    image.write_bytes(original)
    assert planned() == digest
    shutil.copy(image, image.with_name("copy.png"))
    assert planned() not in (digest, changed) and [os.path.basename(path) for path in reads] == ["copy.png"]
    image.with_name("copy.png").unlink()
    assert planned() == digest and reads == []
    # A cache that cannot be read costs a reading of every image, not a wrong digest.
    for cache in (tmp_path / "cache").iterdir():
        cache.write_text("{not json")
    assert planned() == digest and len(reads) == 9
