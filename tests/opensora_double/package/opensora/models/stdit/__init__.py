import os
from types import SimpleNamespace

import torch
import torch.nn as nn

from opensora.registry import MODELS

HUB_CONFIG = dict(
    enable_flash_attn=False,
    enable_layernorm_kernel=False,
    model_max_length=200,
    in_channels=4,
    caption_channels=4096,
)


class TinySTDiT(nn.Module):
    calls = []

    def __init__(
        self,
        in_channels=4,
        caption_channels=4096,
        model_max_length=120,
        enable_flash_attn=False,
        enable_layernorm_kernel=False,
        **kwargs,
    ):
        super().__init__()
        self.config = SimpleNamespace(
            enable_flash_attn=enable_flash_attn, enable_layernorm_kernel=enable_layernorm_kernel
        )
        self.y_embedder = SimpleNamespace(
            y_embedding=nn.Parameter(torch.zeros(model_max_length, caption_channels))
        )
        self.proj = nn.Conv3d(in_channels, 2 * in_channels, 1)

    def forward(
        self,
        x,
        timestep,
        y,
        mask=None,
        x_mask=None,
        num_frames=None,
        height=None,
        width=None,
        ar=None,
        fps=None,
    ):
        type(self).calls.append(
            dict(
                batch=x.shape[0],
                y_shape=tuple(y.shape),
                mask_shape=tuple(mask.shape),
                size=(num_frames[0].item(), height[0].item(), width[0].item()),
                ar=ar[0].item(),
                fps=fps[0].item(),
                timesteps=tuple(timestep.shape),
            )
        )
        return self.proj(x.to(self.proj.weight.dtype)).float() + y.float().mean()


@MODELS.register_module("STDiT2-XL/2")
def STDiT2_XL_2(from_pretrained=None, **kwargs):
    if from_pretrained is not None and not (
        os.path.isdir(from_pretrained) or os.path.isfile(from_pretrained)
    ):
        return TinySTDiT(**HUB_CONFIG)  # the hub config; kwargs are dropped
    return TinySTDiT(**kwargs)


@MODELS.register_module("STDiT3-XL/2")
def STDiT3_XL_2(from_pretrained=None, **kwargs):
    return TinySTDiT(**kwargs)
