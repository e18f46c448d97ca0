import copy

import torch.nn as nn


class Registry:
    def __init__(self, name):
        self.name, self.entries = name, {}

    def register_module(self, name=None):
        def add(obj):
            self.entries[name or obj.__name__] = obj
            return obj

        return add

    def build(self, cfg):
        cfg = dict(cfg)
        return self.entries[cfg.pop("type")](**cfg)


def build_module(module, builder, **kwargs):
    if isinstance(module, dict):
        cfg = copy.deepcopy(module)
        cfg.update(kwargs)
        return builder.build(cfg)
    if isinstance(module, nn.Module) or module is None:
        return module
    raise TypeError(type(module))


MODELS = Registry("model")
SCHEDULERS = Registry("scheduler")
