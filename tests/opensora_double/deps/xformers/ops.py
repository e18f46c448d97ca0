"""Stub of xformers.ops (the double never calls it)."""
