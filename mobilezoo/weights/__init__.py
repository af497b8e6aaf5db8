"""Checkpoint reading and loading, the weights cache and converters from upstream layouts."""

from .loading import extract_state_dict, load_state_dict_strict, read_checkpoint

__all__ = ["extract_state_dict", "load_state_dict_strict", "read_checkpoint"]
