"""Download a file with a progress bar, verifying its sha256 before it is used (pooch does both)."""

import re

import pooch
import requests

from coralbuild.atomic import atomic_output
from coralbuild.errors import BadInput


def download(url, destination, expected_sha256, timeout_s=60):
    """Fetch `url` into `destination`; the file appears only if its sha256 matches."""
    with atomic_output(destination) as temporary:
        # pooch downloads beside its target and moves the file there only once the hash matches;
        # the atomic output's own temporary is that target, so a killed run leaves no output.
        temporary.unlink()
        pooch.get_logger().setLevel("WARNING")  # its own line would name the temporary
        print(f"downloading {url} to {destination}", flush=True)
        try:
            pooch.retrieve(url, known_hash=f"sha256:{expected_sha256.lower()}", fname=temporary.name,
                           path=temporary.parent,
                           downloader=pooch.HTTPDownloader(progressbar=True, timeout=timeout_s))
        except requests.RequestException as error:
            raise BadInput(f"{url}: download failed ({error})") from None
        except ValueError as error:  # a hash that does not match, or a URL pooch cannot fetch
            mismatch = re.search(r"but got (\w+)", str(error))
            if mismatch is None:
                raise BadInput(f"{url}: download failed ({error})") from None
            raise BadInput(f"{url}: downloaded file has sha256 {mismatch.group(1)}, expected {expected_sha256}") from None
