"""Read IDX files (the MNIST format), gzip-compressed or not, verifying their content.

IDX layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
one big-endian uint32 per dimension, then the data in C order.
"""

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from coralbuild.errors import BadInput
from coralbuild.inputs import regular_file

UNSIGNED_BYTE = 0x08
HEADER_BYTES = 4
# The largest IDX file, and data, read (4 GiB; MNIST's training images are 47 MB): the data is
# read into memory whole.
IDX_BYTES = 4 * 2**30


def read_idx(path, expected_ndim, expected_sha256=None):
    """Return the IDX array in `path` (uint8), after checking structure and checksum.

    `expected_sha256` is the sha256 of the uncompressed content, which identifies the data
    whatever compressor made the file.
    """
    path = Path(path)
    content = _read_content(path)
    array = _parse(path, content, expected_ndim)
    if expected_sha256 is not None:
        actual = hashlib.sha256(content).hexdigest()
        if actual != expected_sha256.lower():
            raise BadInput(
                f"{path}: sha256 of the uncompressed content is {actual}, expected {expected_sha256}"
            )
    return array


def _read_content(path):
    """The uncompressed content, read no further than its header declares (plus one byte, to see
    a surplus): a gzip of 10 GiB of zeros is not decompressed past its header's claim."""
    regular_file(path, IDX_BYTES, "IDX file")
    try:
        with _open(path) as handle:
            header = handle.read(HEADER_BYTES)
            dimensions = handle.read(4 * header[3]) if len(header) == HEADER_BYTES else b""
            shape = [int.from_bytes(dimensions[i:i + 4], "big") for i in range(0, len(dimensions) - 3, 4)]
            declared = int(np.prod(shape, dtype=np.int64)) if shape else 0
            if declared > IDX_BYTES:
                raise BadInput(f"{path}: its header declares {declared:,} bytes of data, more than an IDX file "
                               f"this workflow reads ({IDX_BYTES:,})")
            return header + dimensions + handle.read(declared + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise BadInput(f"{path}: truncated or corrupt gzip data ({error})") from None


def _open(path):
    """The file, through gzip when it starts with gzip's magic bytes."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _parse(path, content, expected_ndim):
    if len(content) < HEADER_BYTES:
        raise BadInput(f"{path}: too short for an IDX header ({len(content)} bytes)")
    expected_magic = (UNSIGNED_BYTE << 8) | expected_ndim
    magic = int.from_bytes(content[:HEADER_BYTES], "big")
    if magic != expected_magic:
        raise BadInput(
            f"{path}: IDX magic number is 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {expected_ndim} dimension{'s' if expected_ndim > 1 else ''})"
        )
    data_start = HEADER_BYTES + 4 * expected_ndim
    if len(content) < data_start:
        raise BadInput(f"{path}: truncated IDX header")
    shape = tuple(
        int.from_bytes(content[HEADER_BYTES + 4 * i : HEADER_BYTES + 4 * (i + 1)], "big")
        for i in range(expected_ndim)
    )
    expected_size = data_start + int(np.prod(shape, dtype=np.int64))
    if len(content) != expected_size:
        raise BadInput(
            f"{path}: IDX header declares shape {shape} ({expected_size} bytes) "
            f"but the content has {len(content)} bytes"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=data_start).reshape(shape)


def read_idx_shape(path):
    """The shape an IDX file declares in its header, reading only the header."""
    path = Path(regular_file(Path(path), IDX_BYTES, "IDX file"))
    try:
        with _open(path) as handle:
            header = handle.read(HEADER_BYTES + 4 * 3)
    except (OSError, EOFError, zlib.error) as error:
        raise BadInput(f"{path}: unreadable ({error})") from None
    ndim = header[3] if len(header) >= HEADER_BYTES else 0
    if len(header) < HEADER_BYTES + 4 * ndim:
        raise BadInput(f"{path}: truncated IDX header")
    return tuple(int.from_bytes(header[HEADER_BYTES + 4 * i: HEADER_BYTES + 4 * (i + 1)], "big") for i in range(ndim))
