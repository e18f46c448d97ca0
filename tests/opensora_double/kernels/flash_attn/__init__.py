"""Stub of flash_attn for the Open-Sora test double: importable, nothing more."""
