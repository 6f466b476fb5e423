"""Walking a folder of photos a user brings, the same way for every dataset format: linked folders
are followed (photos are often gathered by symlink), a folder reached twice (a symlink loop, or two
links to one folder, whose images would count twice) and a folder that cannot be listed are
errors rather than silently left out, and every name must be UTF-8 text (another cannot be
printed, logged or listed; Snakemake's own lock file failed on one)."""

import os

from coralbuild.errors import BadInput
from coralbuild.inputs import shown


def walk(top, real_folders=None):
    """Yield (folder, sorted file names) for `top` and each folder below it, hidden folders left
    out. `real_folders`: the real paths walked so far, shared by the walks of one dataset."""
    real_folders = set() if real_folders is None else real_folders
    for parent, folders, files in os.walk(top, onerror=_raise, followlinks=True):
        real = os.path.realpath(parent)
        if real in real_folders:
            raise BadInput(f"{shown(parent)}: reaches {shown(real)} a second time (a symlink loop, or two links "
                           "to one folder, whose images would count twice)")
        real_folders.add(real)
        check_names(parent, folders + files)
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        yield parent, sorted(files)


def check_names(folder, names):
    """BadInput naming the first of `names` (in `folder`) that is not UTF-8 text."""
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(f"{shown(os.path.join(folder, name))}: the name is not UTF-8 text; rename it") from None


def _raise(error):
    raise BadInput(f"{shown(error.filename or '')}: cannot be read ({error.strerror or error})")
