"""Fetching VBench checkpoints (file:// URLs stand in for the web) and what counts as pretrained."""

import hashlib
import json

import pytest

from vidcarbon.quality import vbench_runner, weights


@pytest.fixture
def published(tmp_path):
    """A fake 'web' of the three files; its MUSIQ file does not hash to the name's 358bb6af."""
    web = tmp_path / "web"
    web.mkdir()
    urls = {}
    for name in (weights.VICLIP, weights.BPE):
        (web / name.replace("/", "_")).write_bytes(name.encode() * 100)
        urls[name] = (web / name.replace("/", "_")).as_uri()
    (web / "musiq").write_bytes(b"not the published checkpoint")
    urls[weights.MUSIQ] = (web / "musiq").as_uri()
    return web, urls


def test_fetch_records_hashes_and_skips_what_it_has(tmp_path, published):
    web, urls = published
    cache = tmp_path / "cache"
    files = weights.fetch_vbench_weights(cache, ["overall_consistency"], urls)
    assert set(files) == {weights.VICLIP, weights.BPE}
    viclip = cache / weights.VICLIP
    assert files[weights.VICLIP] == hashlib.sha256(viclip.read_bytes()).hexdigest()
    manifest = json.loads((cache / weights.FETCHED_MANIFEST).read_text())
    assert manifest == files
    # fetched and unchanged: no second download (the URL now points nowhere)
    mtime = viclip.stat().st_mtime_ns
    gone = dict(urls, **{weights.VICLIP: (web / "gone").as_uri()})
    weights.fetch_vbench_weights(cache, ["overall_consistency"], gone)
    assert viclip.stat().st_mtime_ns == mtime
    # the runner (VBench venv side) calls only these hash-matched files pretrained
    assert vbench_runner.is_pretrained(cache, weights.VICLIP, files[weights.VICLIP])
    assert not vbench_runner.is_pretrained(cache, weights.VICLIP, "0" * 64)
    assert vbench_runner.FETCHED_MANIFEST == weights.FETCHED_MANIFEST


def test_musiq_must_hash_to_its_name(tmp_path, published):
    _, urls = published
    with pytest.raises(weights.WeightsError, match="does not start with 358bb6af"):
        weights.fetch_vbench_weights(tmp_path / "cache", ["imaging_quality"], urls)
    assert not (tmp_path / "cache" / weights.MUSIQ).exists()  # nothing half-written is kept
    digest = hashlib.sha256(b"x").hexdigest()
    assert not vbench_runner.is_pretrained(tmp_path, weights.MUSIQ, digest)
    assert vbench_runner.is_pretrained(tmp_path, weights.MUSIQ, "358bb6af" + digest[8:])


def test_unreachable_url_says_what_to_do(tmp_path, published):
    web, urls = published
    urls = dict(urls, **{weights.BPE: (web / "missing").as_uri()})
    with pytest.raises(weights.WeightsError, match="cannot fetch .* on a host with internet"):
        weights.fetch_vbench_weights(tmp_path / "cache", ["overall_consistency"], urls)
