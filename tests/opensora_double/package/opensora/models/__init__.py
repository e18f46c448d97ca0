import xformers.ops  # noqa: F401 - the real opensora/models/layers/blocks.py imports it at load

from . import stdit, text_encoder, vae  # noqa: F401
