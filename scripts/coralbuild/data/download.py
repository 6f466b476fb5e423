"""Download a file with a progress bar, verifying its sha256 before it is used (pooch does both).

A download is capped at the size its format can hold (a URL that streams forever would fill the
disk), and pooch's own temporary lives in a staging folder named like the atomic output's
temporaries, so a run killed mid-download leaves nothing that the next run does not remove.
"""

import re
import shutil
import sys

import pooch
import requests
from tqdm import tqdm

from coralbuild.atomic import atomic_output
from coralbuild.errors import BadInput


class _CappedWriter:
    """A binary file that refuses to grow past `limit` bytes (pooch writes chunks to it)."""

    def __init__(self, handle, limit, url):
        self.handle, self.limit, self.url, self.written = handle, limit, url, 0

    def write(self, chunk):
        self.written += len(chunk)
        if self.written > self.limit:
            raise BadInput(f"{self.url}: download stopped past {self.limit:,} bytes, more than the file can be")
        return self.handle.write(chunk)

    def flush(self):
        self.handle.flush()


def _capped_downloader(limit, timeout_s):
    # The progress bar goes to stdout, so that an error is a line of its own on stderr.
    # pooch sets the total from the response; any total but 0 here makes the bar truthy, as pooch tests it.
    progress = tqdm(file=sys.stdout, total=1, ncols=79, unit="B", unit_scale=True)
    http = pooch.HTTPDownloader(progressbar=progress, timeout=timeout_s)

    def fetch(url, output_file, pooch_instance, check_only=False):
        with open(output_file, "wb") as handle:
            return http(url, _CappedWriter(handle, limit, url), pooch_instance, check_only=check_only)

    return fetch


def download(url, destination, expected_sha256, max_bytes, timeout_s=60):
    """Fetch `url` into `destination`; the file appears only if its sha256 matches and it is at
    most `max_bytes` long."""
    with atomic_output(destination) as temporary:
        temporary.unlink()
        # pooch writes its own temporary into `path` and renames it once the hash matches.
        staging = temporary.with_name(temporary.name + ".d")
        staging.mkdir()
        pooch.get_logger().setLevel("WARNING")  # its own line would name the temporary
        print(f"downloading {url} to {destination}", flush=True)
        try:
            pooch.retrieve(url, known_hash=f"sha256:{expected_sha256.lower()}", fname="file", path=staging,
                           downloader=_capped_downloader(max_bytes, timeout_s))
            (staging / "file").rename(temporary)
        except requests.RequestException as error:
            raise BadInput(f"{url}: download failed ({error})") from None
        except ValueError as error:  # a hash that does not match
            mismatch = re.search(r"but got (\w+)", str(error))
            if mismatch is None:
                raise BadInput(f"{url}: download failed ({error})") from None
            raise BadInput(f"{url}: downloaded file has sha256 {mismatch.group(1)}, expected {expected_sha256}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
