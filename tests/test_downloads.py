"""A URL dataset file is downloaded verified and capped: a server that streams forever is stopped
at the size the format can hold, and the download's temporaries (pooch's own as well as the
workflow's) never outlive the run, not even a run killed mid-download."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import run_script

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class Served(BaseHTTPRequestHandler):
    """/file: PAYLOAD; /endless: a body that never ends (no Content-Length)."""

    def do_GET(self):
        self.send_response(200)
        if self.path == "/file":
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
            return
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"\0" * 65536)
        except OSError:  # the client hung up
            pass

    def log_message(self, *arguments):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Served)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def download(url, output, max_bytes, sha256=PAYLOAD_SHA256):
    return run_script("download_dataset_file.py", "--url", url, "--sha256", sha256,
                      "--max-bytes", str(max_bytes), "--output", output)


def test_a_url_that_streams_forever_stops_at_the_cap_leaving_nothing(tmp_path, server):
    folder = tmp_path / "downloads"
    result = download(f"{server}/endless", folder / "images.gz", 1_000_000)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {server}/endless: download stopped past 1,000,000 bytes, more than the file can be"]
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("cap", [len(PAYLOAD), len(PAYLOAD) * 10])
def test_a_file_within_the_cap_downloads_verified(tmp_path, server, cap):
    output = tmp_path / "downloads/images.gz"
    result = download(f"{server}/file", output, cap)
    assert result.returncode == 0, result.stderr
    assert output.read_bytes() == PAYLOAD
    assert sorted(path.name for path in output.parent.iterdir()) == ["images.gz"]


def test_a_file_one_byte_past_the_cap_is_refused(tmp_path, server):
    output = tmp_path / "downloads/images.gz"
    result = download(f"{server}/file", output, len(PAYLOAD) - 1)
    assert result.returncode == 1 and "download stopped past 102,399 bytes" in result.stderr
    assert list(output.parent.iterdir()) == []


def test_temporaries_of_a_killed_download_are_removed_by_the_next_run(tmp_path, server):
    """SIGKILL runs no cleanup: the staging folder (with pooch's temporary in it) and the atomic
    temporary stay behind, named after their output, and the next download of that output removes them."""
    folder = tmp_path / "downloads"
    staging = folder / ".images.gz.tmp-abc123.gz.d"
    staging.mkdir(parents=True)
    (staging / "tmpq1w2e3").write_bytes(b"\0" * 1000)
    (folder / ".images.gz.tmp-def456.gz").write_bytes(b"")
    (folder / "labels.gz").write_bytes(b"another output, kept")
    result = download(f"{server}/file", folder / "images.gz", len(PAYLOAD))
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["images.gz", "labels.gz"]


def test_a_sha256_that_does_not_match_leaves_nothing(tmp_path, server):
    folder = tmp_path / "downloads"
    result = download(f"{server}/file", folder / "images.gz", len(PAYLOAD), sha256="0" * 64)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {server}/file: downloaded file has sha256 {PAYLOAD_SHA256}, expected {'0' * 64}"]
    assert list(folder.iterdir()) == []
