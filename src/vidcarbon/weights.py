"""Model weights on clusters: downloaded once on the submitting host, read offline by the jobs.

Compute nodes have no internet. A local rule (`fetch_weights` for video models, `llm_weights`
for language models) calls `fetch` on the submitting host: `snapshot_download` into the
Hugging Face cache (HF_HOME / HF_HUB_CACHE, shared with the nodes), only the files the model
reads, and writes a small record. Jobs take that record as input and resolve the model with
`local_snapshot`, which never touches the network (`local_files_only`), then load from the
snapshot directory. A missing snapshot is a BackendUnavailable that names the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.errors import BackendUnavailable

FETCH_COMMAND = "snakemake --cores 1 --until fetch_weights llm_weights"


def no_download(model: str, reason: str) -> dict[str, Any]:
    """The record of a model that needs no files from the hub (built in code, random weights
    of an embedded architecture, or a local directory read in place)."""
    return {"model": model, "source": "none", "path": None, "revision": None, "reason": reason}


def fetch(model: str, allow_patterns: list[str], revision: str | None = None) -> dict[str, Any]:
    """On the submitting host: download the files of `model` matching `allow_patterns` into
    the Hugging Face cache (a no-op for a local directory); the record of what was fetched."""
    if Path(model).is_dir():
        return {
            "model": model,
            "source": "local",
            "path": str(Path(model).resolve()),
            "revision": None,
            "reason": "local directory, read in place",
        }
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        path = snapshot_download(model, revision=revision, allow_patterns=allow_patterns)
    except LocalEntryNotFoundError as exc:  # the hub did not answer, and nothing is cached
        raise BackendUnavailable(
            f"model {model!r}: the Hugging Face hub could not be reached from this host "
            f"({str(exc).splitlines()[0]}) and the model is not in its cache; fetch it on a "
            f"host with internet (`{FETCH_COMMAND}`, with the same HF_HOME as the jobs), and "
            "check the model id in the config (`vidcarbon check-config` looks it up)"
        ) from exc
    except GatedRepoError as exc:
        raise BackendUnavailable(
            f"model {model!r} is gated on the Hugging Face hub: accept its licence on "
            f"https://huggingface.co/{model} and log in (`hf auth login`), then fetch again"
        ) from exc
    except RevisionNotFoundError as exc:
        raise BackendUnavailable(
            f"model {model!r} has no revision {revision!r} on the Hugging Face hub; "
            "set options.revision to an existing branch, tag or commit (or remove it for main)"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise BackendUnavailable(
            f"model {model!r} does not exist on the Hugging Face hub (or is private: log in "
            "with `hf auth login`); check the model id in the config"
        ) from exc
    return {
        "model": model,
        "source": "hub",
        "path": path,
        "revision": Path(path).name,  # snapshots/<commit>
        "allow_patterns": allow_patterns,
    }


def hub_status(model: str, known: list[str], timeout_s: float = 10.0) -> str:
    """Where `model` (a video or language model id of the config) will come from: a local
    directory, the cache, or the hub, which is asked. ConfigError for an id the hub does not
    have, with the closest `known` ids; "not checked" when the hub does not answer."""
    import difflib

    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    from vidcarbon.errors import ConfigError

    if Path(model).is_dir():
        return "a local directory"
    try:
        snapshot_download(model, local_files_only=True)
        return "in the Hugging Face cache"
    except Exception:  # noqa: BLE001 - not cached (or an unreadable cache): ask the hub
        pass
    try:
        HfApi().model_info(model, timeout=timeout_s)
    except RepositoryNotFoundError as exc:
        close = difflib.get_close_matches(model, known, n=3, cutoff=0.6)
        raise ConfigError(
            f"model {model!r} does not exist on the Hugging Face hub (or is private: log in "
            "with `hf auth login`); check the id"
            + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "")
        ) from exc
    except GatedRepoError:
        return "on the hub (gated: accept its licence and log in before fetching)"
    except Exception as exc:  # noqa: BLE001 - no network, a proxy, the hub down: not checked
        return f"not checked: the hub did not answer ({type(exc).__name__})"
    return "on the hub"


def missing_message(model: str, what: str = "weights") -> str:
    from huggingface_hub import constants

    return (
        f"the {what} of {model!r} are not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
        "and jobs never download; fetch them on a host with internet: "
        f"`{FETCH_COMMAND}` (or `hf download {model}`), with the same HF_HOME as the jobs"
    )


def local_snapshot(model: str, revision: str | None = None, need_weights: bool = False) -> str:
    """The directory of `model` (a local directory, or its cached hub snapshot), without any
    network access. `need_weights`: the snapshot must hold *.safetensors files too."""
    if Path(model).is_dir():
        return model
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = snapshot_download(model, revision=revision, local_files_only=True)
    except LocalEntryNotFoundError as exc:
        raise BackendUnavailable(missing_message(model)) from exc
    if need_weights and not any(Path(path).rglob("*.safetensors")):
        raise BackendUnavailable(missing_message(model, "weights (only configs are cached)"))
    return path


def fetch_video_model(backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """On the submitting host: what a video model entry reads, fetched (see `fetch`)."""
    if backend != "diffusers":
        return no_download(backend, "built in code or loaded by the backend itself")
    from vidcarbon.backends.diffusers_spec import download_patterns, parse_options

    opts = parse_options(options)
    patterns = download_patterns(opts)
    if patterns is None:
        return no_download(opts.model, "random weights of the embedded architecture")
    return fetch(opts.model, patterns, opts.revision)
