"""Download a file with a progress bar, verifying its sha256 before it is used."""

import hashlib
import urllib.error
import urllib.request

from tqdm import tqdm

from coralbuild.atomic import atomic_output
from coralbuild.errors import BadInput

CHUNK_BYTES = 1 << 16


def download(url, destination, expected_sha256, timeout_s=60):
    """Fetch `url` into `destination`; the file appears only if its sha256 matches."""
    with atomic_output(destination) as temporary:
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response, open(temporary, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=url, mininterval=1.0) as bar:
                    while chunk := response.read(CHUNK_BYTES):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError) as error:
            raise BadInput(f"{url}: download failed ({error})") from None
        actual = digest.hexdigest()
        if actual != expected_sha256.lower():
            raise BadInput(f"{url}: downloaded file has sha256 {actual}, expected {expected_sha256}")
