"""By hand, not part of `make test`: the `opensora` backend against the REAL Open-Sora v1.1.0
package on a CPU host, with random weights and no download.

Setup (a venv with envs/opensora.yaml's pip pins, less the CUDA index, flash-attn and apex):
    python3.11 -m venv /tmp/os && /tmp/os/bin/pip install -r <those pins>
    /tmp/os/bin/pip install --no-deps <Open-Sora checkout at v1.1.0> && \\
        /tmp/os/bin/pip install --no-deps -e .
    /tmp/os/bin/python tests/manual/opensora_real_cpu.py /tmp/opensora-cpu-check

Two things of Open-Sora are patched here, in this process only, because they have no CPU path:
xformers.ops.memory_efficient_attention (replaced by torch SDPA with the same block-diagonal
mask) and GaussianDiffusion's device default ("cuda"). The T5 is a 1-layer d_model-4096 model in
a Hugging Face cache layout under the id Open-Sora insists on, the VAE a tiny AutoencoderKL, the
STDiT2 the real 768 M-parameter model at random init (an empty local .pt checkpoint). A second
part fakes the hub cache of hpcai-tech/OpenSora-STDiT-v2-stage3 (a depth-1 STDiT2 with the hub
config's flags) to see Open-Sora drop enable_flash_attn / enable_layernorm_kernel.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(sys.argv[1])
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = str(ROOT / "hf-home")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import xformers.ops  # noqa: E402
from opensora.schedulers.iddpm.gaussian_diffusion import GaussianDiffusion  # noqa: E402


def sdpa_memory_efficient_attention(q, k, v, p=0.0, attn_bias=None):
    """xformers' BMHK signature over torch SDPA."""
    mask = None
    if attn_bias is not None:
        mask = attn_bias.materialize((q.shape[1], k.shape[1]), dtype=q.dtype, device=q.device)
    out = F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v)), attn_mask=mask)
    return out.transpose(1, 2).contiguous()


xformers.ops.memory_efficient_attention = sdpa_memory_efficient_attention
GaussianDiffusion.__init__.__kwdefaults__["device"] = "cpu"


def hub_snapshot(repo: str) -> Path:
    """A Hugging Face cache snapshot directory of `repo` (refs/main points to it)."""
    base = Path(os.environ["HF_HOME"]) / "hub" / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text("0" * 40)
    return base / "snapshots" / ("0" * 40)


def write_models() -> dict:
    from diffusers import AutoencoderKL
    from opensora.models.stdit.stdit2 import STDiT2, STDiT2Config
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    torch.manual_seed(0)
    t5 = hub_snapshot("DeepFloyd/t5-v1_1-xxl")
    words = [
        "<pad>",
        "</s>",
        "<unk>",
        "a",
        "red",
        "kite",
        "drifts",
        "over",
        "windswept",
        "hillside",
    ]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    ).save_pretrained(t5)
    config = T5Config(vocab_size=len(words), d_model=4096, d_kv=8, d_ff=32, num_layers=1)
    T5EncoderModel(config).save_pretrained(t5)
    AutoencoderKL(
        latent_channels=4,
        norm_num_groups=8,
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
    ).save_pretrained(ROOT / "vae")
    hub_config = STDiT2Config(depth=1, input_sq_size=512, qk_norm=True, model_max_length=200)
    STDiT2(hub_config).save_pretrained(hub_snapshot("hpcai-tech/OpenSora-STDiT-v2-stage3"))
    torch.save({}, ROOT / "stdit2-random.pt")  # local checkpoint: the model keeps its init
    return {
        "version": "1.1",
        "text_encoder": os.environ["HF_HOME"] + "/hub",
        "vae": str(ROOT / "vae"),
        "dtype": "float32",
    }


def main() -> None:
    import opensora.models.text_encoder.t5 as t5

    from vidcarbon.backends import VideoShape, create_backend
    from vidcarbon.workloads.measured import Measurement
    from vidcarbon.workloads.video.measured import encode_prompt, generate_cell

    ROOT.mkdir(parents=True, exist_ok=True)
    options = write_models()
    encodes = []
    real_encode = t5.T5Encoder.encode
    t5.T5Encoder.encode = lambda self, text: encodes.append(text) or real_encode(self, text)

    local = dict(options, checkpoint=str(ROOT / "stdit2-random.pt"))
    local.update(enable_flash_attn=False, enable_layernorm_kernel=False)  # no CPU kernels
    measurement = Measurement(device="cpu", trace_interval_s=0.5, threads=2)
    prompt = "A red kite drifts over a windswept hillside"
    enc = encode_prompt("opensora", local, prompt, ROOT / "emb.pt", measurement)
    print("encode:", enc["status"], enc["error"], "text_tokens:", enc["text_tokens"])
    encoded = len(encodes)
    record = generate_cell(
        "opensora",
        local,
        VideoShape(frames=2, height=240, width=426),
        steps=3,
        seed=0,
        fps=8,
        warmup_steps=2,
        embeddings_path=ROOT / "emb.pt",
        video_path=ROOT / "video.mp4",
        measurement=measurement,
    )
    print("generate:", record["status"], record["error"])
    print("windows:", [(w["name"], round(w["duration_s"], 2)) for w in record["windows"]])
    print("model_info:", json.dumps(record["model_info"]))
    print("T5 encode calls: encode job", encoded, "generate job", len(encodes) - encoded)

    hub = create_backend("opensora", options)  # default checkpoint: the hub id, flags true
    hub.load("cpu", ("denoise",))
    info = hub.describe()
    keys = ("checkpoint_local", "enable_flash_attn", "enable_layernorm_kernel", "warnings")
    print("hub id:", {k: info[k] for k in keys})


if __name__ == "__main__":
    main()
