"""Fetching VBench's checkpoints into its cache on a host with internet (clusters: the submit host).

Scoring jobs then run offline. Each file fetched here is recorded with its SHA-256 in
`vidcarbon-fetched.json` in the cache; the VBench runner reports `pretrained: true` only for a
checkpoint whose hash matches that record (or, for pyiqa's MUSIQ, the hash in its file name).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import urllib.request
from pathlib import Path

from vidcarbon.errors import VidcarbonError
from vidcarbon.records import write_json_atomic

log = logging.getLogger(__name__)

FETCHED_MANIFEST = "vidcarbon-fetched.json"  # read by vbench_runner.py (same name there)
# Files under $VBENCH_CACHE_DIR and where VBench 0.1.5 itself downloads them from
# (vbench/utils.py init_submodules, vbench/third_party/ViCLIP/simple_tokenizer.py).
MUSIQ = "pyiqa_model/musiq_spaq_ckpt-358bb6af.pth"
VICLIP = "ViCLIP/ViClip-InternVid-10M-FLT.pth"
BPE = "ViCLIP/bpe_simple_vocab_16e6.txt.gz"
URLS = {
    MUSIQ: "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
    "musiq_spaq_ckpt-358bb6af.pth",
    VICLIP: "https://huggingface.co/OpenGVLab/VBench_Used_Models/resolve/main/"
    "ViClip-InternVid-10M-FLT.pth",
    BPE: "https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz",
}
FILES = {"imaging_quality": [MUSIQ], "overall_consistency": [VICLIP, BPE]}
SHA256_PREFIX = {MUSIQ: "358bb6af"}


class WeightsError(VidcarbonError):
    """A checkpoint could not be fetched, or is not the published file."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_vbench_weights(
    cache_dir: str | Path, dimensions: list[str], urls: dict[str, str] = URLS
) -> dict[str, str]:
    """Download what `dimensions` need into `cache_dir` (skipping files already fetched here);
    returns {file: sha256} of those files."""
    cache = Path(cache_dir).expanduser()
    manifest_path = cache / FETCHED_MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    needed = [name for dim in dimensions for name in FILES[dim]]
    for name in needed:
        path = cache / name
        if path.is_file() and manifest.get(name) == sha256(path):
            log.info("%s: already fetched", path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        log.info("fetching %s -> %s", urls[name], path)
        try:
            with urllib.request.urlopen(urls[name], timeout=60) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WeightsError(
                f"cannot fetch {urls[name]} into {path}: {exc}. Fetch it on a host with internet "
                f"(or copy it there by hand) before scoring"
            ) from exc
        digest = sha256(tmp)
        prefix = SHA256_PREFIX.get(name)
        if prefix and not digest.startswith(prefix):
            tmp.unlink()
            raise WeightsError(
                f"{urls[name]}: sha256 {digest} does not start with {prefix}, the hash its "
                "publisher gives in the file name; the download is corrupt or not the checkpoint"
            )
        os.replace(tmp, path)
        manifest[name] = digest
        tmp_manifest = manifest_path.with_name(f".{manifest_path.name}.{os.getpid()}.tmp")
        tmp_manifest.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp_manifest, manifest_path)
    return {name: manifest[name] for name in needed}


def fetch_vbench_weights_job(cache_dir: str, dimensions: list[str], record_path: str) -> dict:
    """Rule fetch_vbench_weights: fetch, then record what the scoring jobs will use."""
    files = fetch_vbench_weights(cache_dir, dimensions)
    record = {"cache_dir": str(Path(cache_dir).expanduser().resolve()), "sha256": files}
    write_json_atomic(record_path, record)
    return record
