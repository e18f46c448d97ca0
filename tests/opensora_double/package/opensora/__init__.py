"""A test double of the `opensora` package (hpcaitech Open-Sora v1.1.0 / v1.2.0) for
tests/test_opensora.py. It is NOT Open-Sora: its modules are tiny and CPU-only, and none of its
code comes from Open-Sora. What it keeps from the real package (read at tags v1.1.0 and v1.2.0)
is what the `opensora` backend relies on:

- module paths: opensora.registry, opensora.models(.text_encoder.t5), opensora.schedulers,
  opensora.utils.inference_utils; opensora.models imports xformers.ops at load (a stub in
  ../../deps), and flash_attn / apex are separate stubs (../../kernels);
- `build_module(dict | nn.Module | None, registry, **kwargs)` merging kwargs into a copy;
- registry names: t5, STDiT2-XL/2, STDiT3-XL/2, VideoAutoencoderKL, OpenSoraVAE_V1_2, iddpm, rflow;
- `T5Encoder(from_pretrained, model_max_length, device, dtype)` with `.t5.model`,
  `encode(text) -> dict(y=(B, 1, L, 4096), mask=(B, L))` and `null(n)` from the denoiser's
  `y_embedder.y_embedding`;
- STDiT2's forward signature `(x, timestep, y, mask, x_mask, num_frames, height, width, ar, fps)`,
  learned sigma (2 x in_channels out), `config.enable_flash_attn / enable_layernorm_kernel`;
- the v1.1 gotcha: STDiT2-XL/2 given a hub id drops its kwargs (the hub config's flags are off);
  STDiT3-XL/2 passes them on; a local file or directory builds from the kwargs;
- `scheduler.sample(model, text_encoder, z, prompts, device, additional_args, mask)` calling
  `text_encoder.encode` and `null`, doubling the batch for guidance and calling the denoiser once
  per step: IDDPM through `model.forward(...)` (as its `forward_with_cfg` does), rflow through
  `model(...)`; IDDPM draws noise at every step from the global RNG;
- VAE `out_channels`, `get_latent_size` (8x spatial floor; v1.2: 17 frames -> 5 latents) and
  `decode(z)` / v1.2 `decode(z, num_frames)` to (B, 3, T, H, W) in [-1, 1].

Call counters (T5Encoder.encode_calls, TinySTDiT.calls) let the tests see what ran.
"""
