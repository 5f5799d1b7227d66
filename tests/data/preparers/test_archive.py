"""Downloads: resumed with HTTP Range requests, checked against a SHA-256, never half-named."""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import tarfile
import threading
from collections.abc import Iterator

import pytest

from toolkit.data.preparers import archive
from toolkit.errors import DataError

PAYLOAD = bytes(range(256)) * 4000  # about 1 MB


class Server:
    """A local HTTP server for one file that can honour Range requests or ignore them, and
    can drop the connection after some bytes."""

    def __init__(self, content: bytes):
        self.content = content
        self.ranges = True
        self.cut_after: int | None = None
        self.requests: list[str | None] = []  # each request's Range header
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                header = self.headers.get("Range")
                server.requests.append(header)
                start = 0
                if header and server.ranges:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(server.content):
                        self.send_response(416)
                        self.end_headers()
                        return
                body = server.content[start:]
                self.send_response(206 if start else 200)
                if start:
                    end = len(server.content) - 1
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(server.content)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body = body[: server.cut_after]
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    running = Server(PAYLOAD)
    yield running
    running.close()


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_a_download_matching_its_digest(tmp_path, server):
    target, part = tmp_path / "data.tar.gz", tmp_path / ".data.tar.gz.part"
    assert archive.fetch(server.url, target, part, _sha256(PAYLOAD)) == _sha256(PAYLOAD)
    assert target.read_bytes() == PAYLOAD and not part.exists()
    assert server.requests == [None]


def test_a_partial_download_is_resumed(tmp_path, server):
    target, part = tmp_path / "data.tar.gz", tmp_path / ".data.tar.gz.part"
    part.write_bytes(PAYLOAD[:300_000])
    archive.fetch(server.url, target, part, _sha256(PAYLOAD))
    assert target.read_bytes() == PAYLOAD
    assert server.requests == ["bytes=300000-"]


def test_a_server_without_ranges_starts_over(tmp_path, server):
    server.ranges = False
    target, part = tmp_path / "data.tar.gz", tmp_path / ".data.tar.gz.part"
    part.write_bytes(b"stale bytes that are not the start of the file")
    archive.fetch(server.url, target, part, _sha256(PAYLOAD))
    assert target.read_bytes() == PAYLOAD


def test_a_dropped_connection_keeps_the_part_for_the_next_run(tmp_path, server):
    target, part = tmp_path / "data.tar.gz", tmp_path / ".data.tar.gz.part"
    server.cut_after = 400_000
    with pytest.raises(DataError, match="run the command again to resume") as caught:
        archive.fetch(server.url, target, part, _sha256(PAYLOAD))
    assert "\n" not in str(caught.value)
    assert not target.exists() and part.stat().st_size == 400_000
    server.cut_after = None
    archive.fetch(server.url, target, part, _sha256(PAYLOAD))
    assert target.read_bytes() == PAYLOAD
    assert server.requests[-1] == "bytes=400000-"


def test_a_digest_mismatch_names_both_digests_and_removes_the_file(tmp_path, server):
    target, part = tmp_path / "data.tar.gz", tmp_path / ".data.tar.gz.part"
    expected = "0" * 64
    with pytest.raises(DataError) as caught:
        archive.fetch(server.url, target, part, expected)
    message = str(caught.value)
    assert message.startswith("data.tar.gz: SHA-256 mismatch")
    assert expected in message and _sha256(PAYLOAD) in message and "\n" not in message
    assert not target.exists() and not part.exists()


def test_an_unchecked_download_logs_its_digest(tmp_path, server, caplog):
    logger = logging.getLogger("toolkit")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="toolkit"):
            archive.fetch(server.url, tmp_path / "a", tmp_path / ".a.part")
    finally:
        logger.removeHandler(caplog.handler)
    assert f"data.tar.gz: SHA-256 {_sha256(PAYLOAD)} (unchecked" in caplog.text


def test_unpacked_download_checks_and_resumes(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("top/file.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    content = buffer.getvalue()
    served = Server(content)
    try:
        root = tmp_path / "root"
        root.mkdir()
        archive.partial_path(served.url, root).write_bytes(content[:10])
        with archive.unpacked_download(served.url, root, _sha256(content)) as unpacked:
            assert (unpacked / "top" / "file.txt").read_bytes() == b"hello"
        assert served.requests == ["bytes=10-"]
        # Nothing is left behind: no partial download, no archive, no staging folder.
        assert list(root.iterdir()) == []
    finally:
        served.close()
