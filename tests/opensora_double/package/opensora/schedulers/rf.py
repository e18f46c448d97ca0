import torch

from opensora.registry import SCHEDULERS


@SCHEDULERS.register_module("rflow")
class RFLOW:
    def __init__(
        self,
        num_sampling_steps=10,
        num_timesteps=1000,
        cfg_scale=4.0,
        use_discrete_timesteps=False,
        use_timestep_transform=False,
        **kwargs,
    ):
        self.num_sampling_steps, self.num_timesteps = num_sampling_steps, num_timesteps
        self.cfg_scale = cfg_scale

    def sample(
        self,
        model,
        text_encoder,
        z,
        prompts,
        device,
        additional_args=None,
        mask=None,
        guidance_scale=None,
        progress=True,
    ):
        guidance_scale = self.cfg_scale if guidance_scale is None else guidance_scale
        n = len(prompts)
        model_args = text_encoder.encode(prompts)
        model_args["y"] = torch.cat([model_args["y"], text_encoder.null(n)], 0)
        if additional_args is not None:
            model_args.update(additional_args)
        for i in range(self.num_sampling_steps):
            t = torch.tensor([(1 - i / self.num_sampling_steps) * self.num_timesteps] * 2)
            pred = model(torch.cat([z, z], 0), t, **model_args).chunk(2, dim=1)[0]
            cond, uncond = pred.chunk(2, dim=0)
            v = uncond + guidance_scale * (cond - uncond)
            z = z + v.to(z.dtype) / self.num_sampling_steps
        return z
