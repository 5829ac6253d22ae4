"""Deterministic generator of Olist-shaped CSV files (the embedded default data and the test data)."""

from olist_synth.files import OLIST_FILES, REQUIRED_FILES
from olist_synth.generate import GeneratorConfig, generate_olist

__all__ = ["OLIST_FILES", "REQUIRED_FILES", "GeneratorConfig", "generate_olist"]
