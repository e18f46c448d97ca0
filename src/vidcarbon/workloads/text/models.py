"""The language models of the baseline: `llama-tiny` built in code, or a causal LM from the hub.

- `llama-tiny`: a LlamaForCausalLM at toy size with seeded random weights and the no-download
  tokenizer of latte-tiny; the embedded default and the test model.
- any other name: a hub id or local path (`meta-llama/Llama-2-13b-hf`, `-chat-hf`) loaded with
  transformers; `weights: pretrained` loads the checkpoint, `weights: random` builds the same
  architecture at full size from its config with random weights (cost without the weights).
  For the ids in data/llm_architectures.yaml, random weights need no download at all: the
  config ships with the project and the tokenizer is llama-tiny's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from vidcarbon.errors import ConfigError
from vidcarbon.yamlio import parse_yaml

if TYPE_CHECKING:  # torch is imported by the jobs that load a model, not by the rules
    import torch

TINY = "llama-tiny"


@dataclass(frozen=True)
class LlmSpec:
    """What to load: `model` (llama-tiny, hub id or path), weights, dtype, and tiny sizes."""

    model: str = TINY
    weights: str = "random"
    dtype: str = "auto"  # auto: bfloat16 on cuda, float32 on cpu
    weights_seed: int = 0
    context_tokens: int = 512  # llama-tiny only; hub models use their config's
    hidden_size: int = 64
    layers: int = 2
    chat: bool = False  # wrap each prompt as a user turn with the tokenizer's chat template
    # random weights of a hub model only: overrides of its config (e.g. a tiny one for tests)
    architecture: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_weights(self) -> str:
        """llama-tiny has no checkpoint: its weights are always random."""
        return "random" if self.model == TINY else self.weights

    @property
    def embedded(self) -> bool:
        """Random weights of an architecture that ships with the project: nothing to fetch."""
        return self.effective_weights == "random" and self.model in _embedded()


@cache
def _embedded() -> dict[str, dict[str, Any]]:
    text = resources.files("vidcarbon.data").joinpath("llm_architectures.yaml").read_text()
    return parse_yaml(text)


def check_spec(name: str, spec: dict[str, Any]) -> None:
    """ConfigError for `architecture` overrides that cannot apply (torch-free, at DAG build)."""
    overrides = spec.get("architecture") or {}
    if not overrides:
        return
    key = f"llm.models.{name}.architecture"
    model = spec.get("model", TINY)
    if model == TINY or spec.get("weights", "random") != "random":
        raise ConfigError(
            f"config key '{key}': overrides change the model, so they need a hub model with "
            f"weights: random (got model {model!r}, weights {spec.get('weights', 'random')!r}); "
            "llama-tiny's sizes are hidden_size and layers"
        )
    known = _embedded().get(model)
    if known is not None:
        unknown = sorted(set(overrides) - set(known["config"]))
        if unknown:
            raise ConfigError(
                f"config key '{key}': unknown parameter(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known['config']))}"
            )


@dataclass
class LoadedLlm:
    model: Any
    tokenizer: Any
    context_tokens: int
    dtype: torch.dtype
    device: str
    chat: bool = False

    def model_text(self, prompt: str) -> str:
        """What the model reads: the prompt, or with `chat` a user turn of the chat template."""
        if not self.chat:
            return prompt
        return self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )

    def tokenize(self, texts: list[str], **kwargs):
        # a chat template writes its own BOS; the tokenizer must not add another
        return self.tokenizer(texts, add_special_tokens=not self.chat, **kwargs)

    def describe(self) -> dict[str, Any]:
        return {
            "dtype": str(self.dtype).removeprefix("torch."),
            "params": sum(p.numel() for p in self.model.parameters()),
            "context_tokens": self.context_tokens,
            "attention": getattr(self.model.config, "_attn_implementation", None),
        }


def _dtype(name: str, device: str) -> torch.dtype:
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return getattr(torch, name)


def load_llm(spec: LlmSpec, device: str) -> LoadedLlm:
    """Build or load the model and tokenizer on `device`, in eval mode, left-padding batches."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    dtype = _dtype(spec.dtype, device)
    if spec.model == TINY:
        from transformers import LlamaConfig, LlamaForCausalLM

        from vidcarbon.backends.tiny_parts import build_tokenizer

        tokenizer = build_tokenizer()
        torch.manual_seed(spec.weights_seed)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=spec.hidden_size,
            intermediate_size=2 * spec.hidden_size,
            num_hidden_layers=spec.layers,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=spec.context_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=None,
        )
        model = LlamaForCausalLM(config)
        context = spec.context_tokens
    elif spec.embedded:
        from vidcarbon.backends.tiny_parts import build_tokenizer

        tokenizer = build_tokenizer()
        model = build_random(embedded_config(spec, tokenizer), dtype, device, spec.weights_seed)
        context = int(model.config.max_position_embeddings)
    else:
        from vidcarbon.weights import local_snapshot

        # offline: the snapshot rule llm_weights fetched on the submitting host
        path = local_snapshot(spec.model, need_weights=spec.weights == "pretrained")
        tokenizer = AutoTokenizer.from_pretrained(path)
        if spec.weights == "pretrained":
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, device_map=device)
        else:
            config = AutoConfig.from_pretrained(path)
            for name, value in spec.architecture.items():
                if not hasattr(config, name):
                    raise ConfigError(
                        f"llm option architecture.{name}: {spec.model}'s config has no such "
                        "parameter"
                    )
                setattr(config, name, value)
            model = build_random(config, dtype, device, spec.weights_seed)
        context = int(model.config.max_position_embeddings)
    if tokenizer.pad_token_id is None:  # Llama-2 has no pad token; batches pad with EOS
        tokenizer.pad_token = tokenizer.eos_token
    if spec.chat and not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"llm option chat=true: the tokenizer of {spec.model!r} has no chat template; "
            "use a chat model (e.g. meta-llama/Llama-2-13b-chat-hf) or set chat: false"
        )
    tokenizer.padding_side = "left"
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(device=device, dtype=dtype).eval()
    return LoadedLlm(model, tokenizer, context, dtype, device, spec.chat)


# transformers model_type of each model class named in data/llm_architectures.yaml
_MODEL_TYPES = {"LlamaForCausalLM": "llama"}


def embedded_config(spec: LlmSpec, tokenizer):
    """The transformers config of an embedded architecture, with `spec.architecture` applied
    and the special ids of `tokenizer` (the project's own; they change no cost)."""
    from transformers import CONFIG_MAPPING

    entry = _embedded()[spec.model]
    values = {**copy.deepcopy(entry["config"]), **spec.architecture}
    values.update(
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None
    )
    return CONFIG_MAPPING[_MODEL_TYPES[entry["class"]]](**values)


def build_random(config, dtype: torch.dtype, device: str, seed: int):
    """The causal LM of `config` with seeded random weights, allocated and initialised on
    `device` itself: a 13B model built on the host first would need 26 GB there and a copy."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype)


def fetch_weights(spec: LlmSpec) -> dict[str, Any]:
    """On the submitting host: download what `load_llm` will read (nothing for llama-tiny or
    random weights of an embedded architecture)."""
    from vidcarbon import weights

    if spec.model == TINY:
        return weights.no_download(spec.model, "built in code")
    if spec.embedded:
        return weights.no_download(spec.model, "random weights of the embedded architecture")
    patterns = ["*.json", "tokenizer*", "*.model"]
    if spec.weights == "pretrained":
        patterns.append("*.safetensors")
    return weights.fetch(spec.model, patterns)
