"""A general store of C-ordered rows in a plain .npy file, written and read row by row without
mapping the file into memory: ImageWriter writes a new file, StoredImages reads one.

Files are written the same way every run (byte-identical for the same rows, and to what `np.save`
writes for the same array) and read without loading the rows into memory.

Neither side maps the file into memory: pages of a memory-mapped file that a process has touched
count in its resident size (RssFile) until the kernel reclaims them, so a job writing or reading a
few GB of images through np.memmap shows a few GB of "memory". Rows are written with os.pwrite at
their offset and read with os.preadv into the caller's array: the file's pages stay in the page
cache, and a job holds only the rows it asked for.
"""

import io
import operator
import os
from pathlib import Path

import numpy as np

from coralbuild.errors import BadInput

# Rows read at a time when iterating over stored images.
ITERATION_BYTES = 4 << 20


def npy_header(shape, dtype):
    """The header `np.save` writes for a C-ordered array of `shape` and `dtype`."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": tuple(int(n) for n in shape)}
    buffer = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buffer, header)
    except ValueError:  # a header of 64 KiB or more: what np.save falls back to
        buffer = io.BytesIO()
        np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def _row_indices(key, count):
    """The rows the first-axis index `key` selects, as an int64 vector, or None when `key` is not
    an integer, an integer vector or a boolean mask of the rows."""
    if isinstance(key, slice):
        return np.arange(*key.indices(count), dtype=np.int64)
    index = np.asarray(key)
    if index.dtype == bool and index.shape == (count,):
        return np.flatnonzero(index).astype(np.int64)
    if index.dtype.kind not in "iu" or index.ndim > 1:
        return None
    rows = index.astype(np.int64).reshape(-1)
    rows = np.where(rows < 0, rows + count, rows)
    if rows.size and (rows.min() < 0 or rows.max() >= count):
        bad = index.reshape(-1)[(rows < 0) | (rows >= count)][0]
        raise IndexError(f"index {bad} is out of bounds for axis 0 with size {count}")
    return rows


def _runs(rows):
    """(start in `rows`, stop in `rows`, first row) of each run of consecutive rows."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks]).tolist()
    stops = np.concatenate([breaks, [len(rows)]]).tolist()
    return [(start, stop, int(rows[start])) for start, stop in zip(starts, stops)]


class _Rows:
    """Shape, dtype and row offsets of an .npy file of C-ordered rows."""

    def __init__(self, shape, dtype, data_offset):
        self.shape, self.dtype, self.data_offset = tuple(shape), np.dtype(dtype), data_offset
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64))

    def offset(self, row):
        return self.data_offset + row * self.row_bytes

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    def __len__(self):
        return self.shape[0]


class ImageWriter(_Rows):
    """A new .npy file of `count` images of `image_shape` (zeros until written), written with
    os.pwrite at each image's offset: the written pages go to the page cache, never into this
    process's memory. Images are whole rows: `writer[i] = image`, `writer[a:b] = images`,
    `writer[indices] = images`; `write` may be called from several threads at once."""

    def __init__(self, path, count, image_shape, dtype=np.uint8):
        header = npy_header((count, *image_shape), dtype)
        super().__init__((count, *image_shape), dtype, len(header))
        self.path = Path(path)
        self._file = open(self.path, "wb", buffering=0)
        try:
            self._pwrite(np.frombuffer(header, np.uint8), 0)
            os.ftruncate(self._file.fileno(), self.offset(count))
        except BaseException:
            self._file.close()
            raise

    def _pwrite(self, data, offset):
        """Write `data` (C-contiguous) at `offset`."""
        done = os.pwrite(self._file.fileno(), data, offset)
        if done < data.nbytes:  # a short write (a signal, a full disk): go on from there
            view = memoryview(data).cast("B")
            while done < len(view):
                done += os.pwrite(self._file.fileno(), view[done:], offset + done)

    def _write_run(self, first_row, images):
        if images.size:
            self._pwrite(np.ascontiguousarray(images), self.offset(first_row))

    def __setitem__(self, key, value):
        value = np.asarray(value)
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)  # unsafe casting, as assigning into an array does
        try:
            row = operator.index(key)
        except TypeError:
            rows = _row_indices(key, len(self)) if not isinstance(key, tuple) else None
            if rows is None:
                raise TypeError(f"{self.path}: images are written whole, by row index, slice or index "
                                f"vector (not {key!r})") from None
            images = np.broadcast_to(value, (len(rows), *self.shape[1:]))
            for start, stop, first_row in _runs(rows):
                self._write_run(first_row, images[start:stop])
            return
        if not -len(self) <= row < len(self):
            raise IndexError(f"index {row} is out of bounds for axis 0 with size {len(self)}")
        self.write(row % len(self), value)

    def write(self, row, image):
        """Write one image (of this file's dtype, or cast) at `row` (0 <= row < len(self))."""
        if not 0 <= row < len(self):
            raise IndexError(f"{self.path}: row {row} is out of bounds for {len(self)} images")
        if not (isinstance(image, np.ndarray) and image.dtype == self.dtype and image.shape == self.shape[1:]
                and image.flags.c_contiguous):
            image = np.ascontiguousarray(np.broadcast_to(np.asarray(image, dtype=self.dtype), self.shape[1:]))
        self._pwrite(image, self.offset(row))

    def flush(self):
        """Nothing to do: every write is already in the file (the page cache)."""

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class StoredImages(_Rows):
    """The images of an .npy file, read-only, read from the file as they are asked for.

    Indexing as an array (`images[i]`, `images[a:b]`, `images[indices]`, `images[mask]`, with
    further indices after the first) reads just those rows into a new array; iterating reads a
    few MiB at a time; `np.asarray(images)` reads them all. Nothing is memory-mapped, so reading
    every row leaves the process's resident memory as it was.
    """

    def __init__(self, path):
        self.path = Path(path)
        self._file = open(self.path, "rb", buffering=0)
        try:
            shape, dtype, data_offset = self._read_header()
            super().__init__(shape, dtype, data_offset)
            size = os.fstat(self._file.fileno()).st_size
            if size < self.offset(len(self)):
                raise BadInput(f"{self.path}: truncated ({size} bytes; its header describes "
                               f"{self.offset(len(self))})")
        except BaseException:
            self._file.close()
            raise

    def _read_header(self):
        try:
            version = np.lib.format.read_magic(self._file)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(self._file)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(self._file)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError as error:
            raise BadInput(f"{self.path}: not a readable .npy file ({error})") from None
        if dtype.hasobject:  # as np.load(allow_pickle=False) does: never unpickle
            raise ValueError(f"{self.path}: Object arrays cannot be loaded when allow_pickle=False")
        if fortran_order or not shape:
            raise BadInput(f"{self.path}: expected C-ordered rows of images, found "
                           f"{'a Fortran-ordered' if fortran_order else 'a 0-dimensional'} array")
        return shape, dtype, self._file.tell()

    def _read_run(self, first_row, out):
        """Read len(out) rows from `first_row` into `out` (a C-contiguous array)."""
        view = memoryview(out).cast("B")
        offset, done, fd = self.offset(first_row), 0, self._file.fileno()
        while done < len(view):
            got = os.preadv(fd, [view[done:]], offset + done)
            if got == 0:
                raise BadInput(f"{self.path}: file ended at byte {offset + done} (truncated while read?)")
            done += got

    def read_rows(self, rows):
        """The rows `rows` (an int vector, in range), in that order, as a new array."""
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        for start, stop, first_row in _runs(rows):
            self._read_run(first_row, out[start:stop])
        return out

    def read(self, start=0, stop=None):
        """Rows start..stop-1 as a new array, in one read."""
        stop = len(self) if stop is None else stop
        out = np.empty((max(stop - start, 0), *self.shape[1:]), self.dtype)
        if len(out):
            self._read_run(start, out)
        return out

    def __getitem__(self, key):
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        try:
            row = operator.index(first)
        except TypeError:
            pass
        else:
            if not -len(self) <= row < len(self):
                raise IndexError(f"index {row} is out of bounds for axis 0 with size {len(self)}")
            image = self.read(row % len(self), row % len(self) + 1)[0]
            return image[rest] if rest else image
        if isinstance(key, tuple) and not key:
            return np.asarray(self)
        if isinstance(first, slice) and first.step in (None, 1):
            start, stop, _ = first.indices(len(self))
            images = self.read(start, stop)
            return images[(slice(None), *rest)] if rest else images
        rows = None if first is None or first is Ellipsis else _row_indices(first, len(self))
        if rows is None:  # numpy's other indexing (np.newaxis, Ellipsis first, ...): on the whole array
            return np.asarray(self)[key]
        images = self.read_rows(rows)
        if isinstance(first, slice) or np.asarray(first).dtype == bool:
            return images[(slice(None), *rest)] if rest else images
        index_shape = np.shape(first)
        if not rest:
            return images.reshape(*index_shape, *self.shape[1:])
        # Other index arrays after the first broadcast with it, as numpy does.
        return images[(np.arange(len(rows)).reshape(index_shape), *rest)]

    def __iter__(self):
        step = max(1, ITERATION_BYTES // max(self.row_bytes, 1))
        for start in range(0, len(self), step):
            yield from self.read(start, min(len(self), start + step))

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError(f"{self.path}: the stored images cannot be viewed without a copy")
        images = self.read()
        return images if dtype is None else images.astype(dtype, copy=False)

    def __repr__(self):
        return f"StoredImages({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"
