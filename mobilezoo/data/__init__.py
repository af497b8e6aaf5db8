"""Data: preprocessing from a model's pretrained cfg, video decoding, datasets."""

from .transforms import preprocess_image, preprocess_video
from .video import read_clip, sample_clip_path

__all__ = ["preprocess_image", "preprocess_video", "read_clip", "sample_clip_path"]
