from . import iddpm, rf  # noqa: F401
