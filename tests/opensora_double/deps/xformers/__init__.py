"""Stub of xformers for the Open-Sora test double: importable, nothing more."""
