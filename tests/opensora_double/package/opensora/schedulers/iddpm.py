from functools import partial

import torch

from opensora.registry import SCHEDULERS


@SCHEDULERS.register_module("iddpm")
class IDDPM:
    def __init__(
        self,
        num_sampling_steps=None,
        timestep_respacing=None,
        noise_schedule="linear",
        use_kl=False,
        sigma_small=False,
        predict_xstart=False,
        learn_sigma=True,
        rescale_learned_sigmas=False,
        diffusion_steps=1000,
        cfg_scale=4.0,
        cfg_channel=None,
    ):
        self.num_timesteps = num_sampling_steps
        self.cfg_scale, self.cfg_channel = cfg_scale, cfg_channel

    def sample(self, model, text_encoder, z, prompts, device, additional_args=None, mask=None):
        n = len(prompts)
        z = torch.cat([z, z], 0)
        model_args = text_encoder.encode(prompts)
        model_args["y"] = torch.cat([model_args["y"], text_encoder.null(n)], 0)
        if additional_args is not None:
            model_args.update(additional_args)
        forward = partial(
            forward_with_cfg, model, cfg_scale=self.cfg_scale, cfg_channel=self.cfg_channel
        )
        for i in reversed(range(self.num_timesteps)):
            t = torch.tensor([i] * z.shape[0], device=device)
            eps = forward(z, t, **model_args)[:, : z.shape[1]]
            z = z - 0.1 * eps.to(z.dtype) + 0.01 * torch.randn_like(z)
        return z.chunk(2, dim=0)[0]


def forward_with_cfg(model, x, timestep, y, cfg_scale, cfg_channel=None, **kwargs):
    half = x[: len(x) // 2]
    out = model.forward(torch.cat([half, half], 0), timestep, y, **kwargs)
    cfg_channel = out.shape[1] // 2 if cfg_channel is None else cfg_channel
    eps, rest = out[:, :cfg_channel], out[:, cfg_channel:]
    cond, uncond = eps.chunk(2, dim=0)
    guided = uncond + cfg_scale * (cond - uncond)
    return torch.cat([torch.cat([guided, guided], 0), rest], dim=1)
