from . import t5  # noqa: F401
