"""The bundled, synthetic Jimo example area (generated deterministically on first use)."""

from .jimo import EXAMPLE_VERSION, generate_jimo

__all__ = ["EXAMPLE_VERSION", "generate_jimo"]
