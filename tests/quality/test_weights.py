"""Fetching VBench checkpoints from a local web server standing in for GitHub and the Hugging
Face hub (the same download code, huggingface_hub and pooch), and what counts as pretrained."""

import hashlib
import http.server
import json
import threading
from urllib.parse import urlparse

import pytest

from vidcarbon.quality import vbench_runner, weights
from vidcarbon.quality.weights import Source

REPO = "org/models"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Web(http.server.BaseHTTPRequestHandler):
    """Serves `server.files` (URL path -> bytes); a Hugging Face `resolve` path also gets the
    hub's headers: the commit, and the file's SHA-256 as its ETag (as for an LFS file)."""

    def do_HEAD(self):
        self._respond(body=False)

    def do_GET(self):
        self._respond(body=True)

    def _respond(self, body: bool):
        data = self.server.files.get(urlparse(self.path).path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        if "/resolve/" in self.path:
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{self.server.etags.get(self.path, "")}"')
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Web)
    server.files, server.etags = {}, {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def publish(web, musiq=b"not the published checkpoint", viclip=b"viclip" * 100):
    """The three files on the local web; sources pointing at them; the hub's endpoint."""
    base = f"http://127.0.0.1:{web.server_port}"
    bpe = b"bpe vocabulary" * 100
    web.files["/musiq.pth"] = musiq
    web.files["/bpe.txt.gz"] = bpe
    hub_path = f"/{REPO}/resolve/main/{weights.Path(weights.VICLIP).name}"
    web.files[hub_path] = viclip
    web.etags[hub_path] = hashlib.sha256(b"viclip" * 100).hexdigest()  # the published one
    sources = {
        weights.MUSIQ: Source(url=f"{base}/musiq.pth"),
        weights.VICLIP: Source(repo_id=REPO, filename=weights.Path(weights.VICLIP).name),
        weights.BPE: Source(url=f"{base}/bpe.txt.gz", sha256=hashlib.sha256(bpe).hexdigest()),
    }
    return sources, base


def test_fetch_records_hashes_and_skips_what_it_has(tmp_path, web):
    sources, hub = publish(web)
    cache = tmp_path / "cache"
    files = weights.fetch_vbench_weights(cache, ["overall_consistency"], sources, hub)
    assert set(files) == {weights.VICLIP, weights.BPE}
    viclip = cache / weights.VICLIP
    assert viclip.read_bytes() == b"viclip" * 100  # from the hub, where VBench gets it
    assert files[weights.VICLIP] == hashlib.sha256(viclip.read_bytes()).hexdigest()
    manifest = json.loads((cache / weights.FETCHED_MANIFEST).read_text())
    assert manifest == files
    # fetched and unchanged: no second download (the web is gone)
    mtime = viclip.stat().st_mtime_ns
    web.files.clear()
    weights.fetch_vbench_weights(cache, ["overall_consistency"], sources, hub)
    assert viclip.stat().st_mtime_ns == mtime
    # the runner (VBench venv side) calls only these hash-matched files pretrained
    assert vbench_runner.is_pretrained(cache, weights.VICLIP, files[weights.VICLIP])
    assert not vbench_runner.is_pretrained(cache, weights.VICLIP, "0" * 64)


def test_a_file_that_is_not_the_published_one_is_refused_and_not_kept(tmp_path, web):
    sources, hub = publish(web, viclip=b"truncated")
    cache = tmp_path / "cache"
    with pytest.raises(weights.WeightsError, match="is not .*, the published file's"):
        weights.fetch_vbench_weights(cache, ["overall_consistency"], sources, hub)
    assert not (cache / weights.VICLIP).exists()
    sources, hub = publish(web)
    web.files["/bpe.txt.gz"] = b"another vocabulary"  # pooch checks the known hash
    with pytest.raises(weights.WeightsError, match="cannot fetch .*bpe.txt.gz"):
        weights.fetch_vbench_weights(cache, ["overall_consistency"], sources, hub)
    assert not (cache / weights.BPE).exists()


def test_musiq_must_hash_to_its_name(tmp_path, web):
    sources, hub = publish(web)
    with pytest.raises(weights.WeightsError, match="does not start with 358bb6af"):
        weights.fetch_vbench_weights(tmp_path / "cache", ["imaging_quality"], sources, hub)
    assert not (tmp_path / "cache" / weights.MUSIQ).exists()  # nothing half-written is kept
    digest = hashlib.sha256(b"x").hexdigest()
    assert not vbench_runner.is_pretrained(tmp_path, weights.MUSIQ, digest)
    assert vbench_runner.is_pretrained(tmp_path, weights.MUSIQ, "358bb6af" + digest[8:])


def test_unreachable_url_says_what_to_do(tmp_path, web):
    sources, hub = publish(web)
    del web.files["/bpe.txt.gz"]
    with pytest.raises(weights.WeightsError, match="cannot fetch .* on a host with internet"):
        weights.fetch_vbench_weights(tmp_path / "cache", ["overall_consistency"], sources, hub)


def test_the_published_sources_are_where_vbench_gets_them():
    assert weights.SOURCES[weights.VICLIP].repo_id == "OpenGVLab/VBench_Used_Models"
    assert weights.SOURCES[weights.MUSIQ].url.endswith("/musiq_spaq_ckpt-358bb6af.pth")
    assert weights.SOURCES[weights.BPE].sha256.startswith("924691ac")
