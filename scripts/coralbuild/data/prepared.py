"""The prepared dataset: one folder that training, evaluation and benchmarks read in batches.

    x_train.npy x_val.npy x_test.npy   uint8 images (N, height, width, channels), read row by row
    y_train.npy y_val.npy y_test.npy   int64 class indices
    dataset.json                       class names, image shape, counts, the source digest, warnings
    sources.sha256                     sha256 of every source file (`sha256sum -c` format)

The images are plain .npy files of the row store (coralbuild.data.row_store): written the same
way every run, with os.pwrite at each image's offset, and read with os.preadv, never mapped into
memory, so a job holds only the images it asked for.
"""

import json
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from coralbuild.data.row_store import ImageWriter, StoredImages
from coralbuild.data.split import SPLITS
from coralbuild.errors import BadInput

SPLIT_ARRAYS = tuple(f"{kind}_{split}" for split in SPLITS for kind in ("x", "y"))
INFO_FILE = "dataset.json"
SOURCES_FILE = "sources.sha256"
# Items in flight on the thread pool at a time (a thread holds one decoded image at a time).
CHUNK = 512
# Items a thread loads and writes in one task.
TASK_ITEMS = 32


def allocate_images(folder, split, count, image_shape):
    """x_<split>.npy for `count` images of `image_shape` (uint8), as an ImageWriter."""
    return ImageWriter(Path(folder) / f"x_{split}.npy", count, image_shape, np.uint8)


def save_labels(folder, split, labels):
    np.save(Path(folder) / f"y_{split}.npy", np.asarray(labels, dtype=np.int64), allow_pickle=False)


def source_listing(digests):
    """`digests` (relative path -> sha256) as `sha256sum` lines, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items()))


def write_info(folder, classes, image_shape, counts, source_digest, sources_listing=None, warnings=(), **facts):
    """dataset.json (and sources.sha256 when the sources are single files). `warnings`: one line
    each, what the run should know about the data (the report shows them); printed as
    `warning: ` lines of the prepare log."""
    for warning in warnings:
        print(f"warning: {warning}")
    info = {"classes": list(classes), "image_shape": list(image_shape), "counts": counts,
            "source_sha256": source_digest, "warnings": list(warnings), **facts}
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
    """The six arrays of a prepared dataset: the images as StoredImages (read from the file as
    they are indexed, never all in memory), the labels loaded. Never unpickles."""
    folder = Path(folder)
    missing = [name for name in SPLIT_ARRAYS if not (folder / f"{name}.npy").is_file()]
    if missing:
        raise BadInput(f"{folder}: not a prepared dataset (missing {', '.join(missing)})")
    return {name: StoredImages(folder / f"{name}.npy") if name.startswith("x_")
            else np.load(folder / f"{name}.npy", allow_pickle=False)
            for name in SPLIT_ARRAYS}


def class_names(folder):
    return load_info(folder)["classes"]


def write_images(folder, splits, image_shape, load, count, threads):
    """Load items 0..count-1 in order on `threads` threads and write each image to its place.

    `splits` maps each split to the item indices it takes, in order. `load(item, decode)` returns
    (a fact about the item, its pixels or None when `decode` is false: an item no split takes is
    still loaded, so that, for example, every source file is hashed). Returns the facts.

    The thread that loads an image writes it (os.pwrite, at its offset in its split's file) and
    drops it, so the main thread copies no pixels. Threads take runs of up to TASK_ITEMS items
    (fewer hand-offs between threads), and at most CHUNK items are in flight.
    """
    split_of = np.full(count, -1)
    position_of = np.zeros(count, dtype=np.int64)
    writers = []
    try:
        for number, (split, items) in enumerate(splits.items()):
            split_of[items], position_of[items] = number, np.arange(len(items))
            writers.append(allocate_images(folder, split, len(items), image_shape))
        split_list, position_list = split_of.tolist(), position_of.tolist()

        def load_and_write(start, stop):
            facts = []
            for item in range(start, stop):
                number = split_list[item]
                fact, pixels = load(item, number >= 0)
                if pixels is not None:
                    writers[number].write(position_list[item], pixels)
                facts.append(fact)
            return facts

        task_items = max(1, min(TASK_ITEMS, CHUNK // max(1, 2 * threads)))
        tasks = [(start, min(count, start + task_items)) for start in range(0, count, task_items)]
        window = max(1, CHUNK // task_items)
        facts = []
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending = deque()
            try:
                for task in tasks:
                    pending.append(pool.submit(load_and_write, *task))
                    if len(pending) >= window:
                        facts += pending.popleft().result()
                while pending:
                    facts += pending.popleft().result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    finally:
        for writer in writers:
            writer.close()
    return facts
