"""Stub of apex for the Open-Sora test double: importable, nothing more."""
