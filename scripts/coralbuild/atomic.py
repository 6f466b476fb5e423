"""Write outputs under a temporary name and rename them into place only when complete."""

import contextlib
import glob
import os
import shutil
import tempfile
from pathlib import Path

from coralbuild.errors import BadInput


@contextlib.contextmanager
def atomic_output(final_path, directory=False):
    """Yield a temporary path beside `final_path`; on success rename it to `final_path`.

    On any exception the temporary file or folder is removed, so a reader never sees a
    half-written output. A directory output must not exist yet (Snakemake removes it before
    the job runs); an existing file is replaced, which is atomic on POSIX.

    Temporaries of the same output left by a writer that was killed (SIGKILL runs no cleanup)
    are removed first: only one job at a time writes a given output.
    """
    final_path = Path(final_path)
    if final_path.is_dir() and not directory:
        raise BadInput(f"{final_path}: a folder; give the path of the file to write")
    try:
        final_path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise BadInput(f"{final_path}: cannot be written, a file is in the way of its folder") from None
    prefix = f".{final_path.name}.tmp-"
    remove_leftover_temporaries(final_path.parent, prefix)
    if directory:
        temporary = Path(tempfile.mkdtemp(prefix=prefix, dir=final_path.parent))
    else:
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=final_path.suffix, dir=final_path.parent)
        os.close(handle)
        temporary = Path(name)
    try:
        yield temporary
        _give_default_permissions(temporary)
        os.replace(temporary, final_path)
    except BaseException:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
        raise


def remove_leftover_temporaries(folder, prefix):
    """Remove files and folders in `folder` whose names start with `prefix`."""
    for leftover in Path(folder).glob(f"{glob.escape(prefix)}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def write_text(final_path, text):
    """Write a small text file atomically."""
    with atomic_output(final_path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _give_default_permissions(path):
    # mkstemp/mkdtemp create private (0600/0700) entries; outputs get the usual umask modes.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)
