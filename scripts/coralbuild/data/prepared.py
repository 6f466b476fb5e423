"""The prepared dataset: one folder that training, evaluation and benchmarks read in batches.

    x_train.npy x_val.npy x_test.npy   uint8 images (N, height, width, channels), memory-mapped
    y_train.npy y_val.npy y_test.npy   int64 class indices
    dataset.json                       class names, image shape, counts, the source digest
    sources.sha256                     sha256 of every source file (`sha256sum -c` format)

Plain .npy files are written the same way every run (byte-identical for the same inputs) and
read without loading the images into memory.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from coralbuild.data.split import SPLITS
from coralbuild.errors import BadInput

SPLIT_ARRAYS = tuple(f"{kind}_{split}" for split in SPLITS for kind in ("x", "y"))
INFO_FILE = "dataset.json"
SOURCES_FILE = "sources.sha256"
# Images handed to the thread pool at a time: bounds the decoded images held in memory.
CHUNK = 512


def allocate_images(folder, split, count, image_shape):
    """A writable memory map for `count` images of one split."""
    return np.lib.format.open_memmap(Path(folder) / f"x_{split}.npy", mode="w+", dtype=np.uint8,
                                     shape=(count, *image_shape))


def save_labels(folder, split, labels):
    np.save(Path(folder) / f"y_{split}.npy", np.asarray(labels, dtype=np.int64), allow_pickle=False)


def source_listing(digests):
    """`digests` (relative path -> sha256) as `sha256sum` lines, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items()))


def write_info(folder, classes, image_shape, counts, source_digest, sources_listing=None, **facts):
    """dataset.json (and sources.sha256 when the sources are single files)."""
    info = {"classes": list(classes), "image_shape": list(image_shape), "counts": counts,
            "source_sha256": source_digest, **facts}
    (Path(folder) / INFO_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    if sources_listing is not None:
        (Path(folder) / SOURCES_FILE).write_text(sources_listing)


def load_info(folder):
    path = Path(folder) / INFO_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BadInput(f"{folder}: not a prepared dataset ({INFO_FILE}: {error})") from None


def load_split(folder):
    """The six arrays of a prepared dataset; images memory-mapped read-only. Never unpickles."""
    folder = Path(folder)
    missing = [name for name in SPLIT_ARRAYS if not (folder / f"{name}.npy").is_file()]
    if missing:
        raise BadInput(f"{folder}: not a prepared dataset (missing {', '.join(missing)})")
    return {name: np.load(folder / f"{name}.npy", mmap_mode="r" if name.startswith("x_") else None,
                          allow_pickle=False)
            for name in SPLIT_ARRAYS}


def class_names(folder):
    return load_info(folder)["classes"]


def write_images(folder, splits, image_shape, load, count, threads):
    """Load items 0..count-1 in order on `threads` threads and write each image to its place.

    `splits` maps each split to the item indices it takes, in order. `load(item, decode)` returns
    (a fact about the item, its pixels or None when `decode` is false: an item no split takes is
    still loaded, so that, for example, every source file is hashed). Returns the facts.
    """
    split_of = np.full(count, -1)
    position_of = np.zeros(count, dtype=np.int64)
    outputs = []
    for number, (split, items) in enumerate(splits.items()):
        split_of[items], position_of[items] = number, np.arange(len(items))
        outputs.append(allocate_images(folder, split, len(items), image_shape))
    facts = [None] * count
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, count, CHUNK):
            items = range(start, min(count, start + CHUNK))
            for item, (fact, pixels) in zip(items, pool.map(lambda item: load(item, split_of[item] >= 0), items)):
                facts[item] = fact
                if pixels is not None:
                    outputs[split_of[item]][position_of[item]] = pixels
    for output in outputs:
        output.flush()
    return facts
