"""Random-weight placeholder checkpoints at VBench's cache paths, for tests on hosts without
internet. Runs *inside VBench's venv*: `python vbench_placeholders.py CACHE_DIR [SEED]`.

The networks are the real ones (pyiqa MUSIQ, VBench's ViCLIP) with random weights, so the whole
VBench code path runs; their scores mean nothing, and the runner reports `pretrained: false`
because these files do not hash to the published checkpoints.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

MUSIQ_PATH = "pyiqa_model/musiq_spaq_ckpt-358bb6af.pth"
VICLIP_PATH = "ViCLIP/ViClip-InternVid-10M-FLT.pth"
BPE_PATH = "ViCLIP/bpe_simple_vocab_16e6.txt.gz"


def write_placeholders(cache: Path, seed: int = 0) -> list[Path]:
    """Write the MUSIQ and ViCLIP checkpoints (and ViCLIP's BPE vocabulary) under `cache`."""
    import clip  # openai-clip ships the BPE vocabulary (a data file, not weights)
    import torch

    cache = cache.resolve()
    (cache / "ViCLIP").mkdir(parents=True, exist_ok=True)
    (cache / "pyiqa_model").mkdir(parents=True, exist_ok=True)
    # vbench's tokenizer module looks the vocabulary up (and would wget it) at import time
    shutil.copy(Path(clip.__file__).with_name("bpe_simple_vocab_16e6.txt.gz"), cache / BPE_PATH)
    os.environ["VBENCH_CACHE_DIR"] = str(cache)

    from pyiqa.archs.musiq_arch import MUSIQ
    from vbench.third_party.ViCLIP.simple_tokenizer import SimpleTokenizer
    from vbench.third_party.ViCLIP.viclip import ViCLIP

    torch.manual_seed(seed)
    musiq = MUSIQ(pretrained=False)
    torch.save(musiq.state_dict(), cache / MUSIQ_PATH)

    viclip = ViCLIP(tokenizer=SimpleTokenizer(str(cache / BPE_PATH)), pretrain=None)
    with torch.no_grad():
        # ViCLIP allocates some parameters with torch.empty and relies on the checkpoint to fill
        # them; left as they are they give NaN features.
        for param in viclip.parameters():
            if param.dim() >= 2:
                param.normal_(std=0.02)
        for name, param in viclip.named_parameters():
            if not torch.isfinite(param).all():
                raise RuntimeError(f"ViCLIP parameter {name} is not finite after initialisation")
    torch.save({"model": viclip.state_dict()}, cache / VICLIP_PATH)
    return [cache / MUSIQ_PATH, cache / VICLIP_PATH, cache / BPE_PATH]


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: python vbench_placeholders.py CACHE_DIR [SEED]", file=sys.stderr)
        sys.exit(2)
    for path in write_placeholders(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0):
        print(path)
