import torch
import torch.nn as nn

from opensora.registry import MODELS


class SpatialVAE(nn.Module):
    out_channels = 4

    def __init__(self):
        super().__init__()
        self.proj = nn.Conv3d(4, 3, 1)

    def get_latent_size(self, input_size):
        return [input_size[0], input_size[1] // 8, input_size[2] // 8]

    def decode(self, z):
        x = self.proj(z).repeat_interleave(8, dim=3).repeat_interleave(8, dim=4)
        return torch.tanh(x)


@MODELS.register_module()
class VideoAutoencoderKL(SpatialVAE):
    def __init__(
        self, from_pretrained=None, micro_batch_size=None, cache_dir=None, local_files_only=False
    ):
        super().__init__()


@MODELS.register_module("OpenSoraVAE_V1_2")
class TemporalVAE(SpatialVAE):
    def __init__(
        self,
        micro_batch_size=4,
        micro_frame_size=17,
        from_pretrained=None,
        local_files_only=False,
        freeze_vae_2d=False,
        cal_loss=False,
    ):
        super().__init__()
        self.micro_frame_size = micro_frame_size

    def get_latent_size(self, input_size):
        frames, rest = divmod(input_size[0], self.micro_frame_size)
        latent = frames * -(-self.micro_frame_size // 4) + -(-rest // 4)
        return [latent, input_size[1] // 8, input_size[2] // 8]

    def decode(self, z, num_frames=None):
        chunks, per_chunk = [], -(-self.micro_frame_size // 4)
        for start in range(0, z.shape[2], per_chunk):
            frames = min(self.micro_frame_size, num_frames)
            x = z[:, :, start : start + per_chunk].repeat_interleave(4, dim=2)
            chunks.append(x[:, :, x.shape[2] - frames :])
            num_frames -= self.micro_frame_size
        return super().decode(torch.cat(chunks, dim=2))
