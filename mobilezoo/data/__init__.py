"""Data: preprocessing from a model's pretrained cfg, video decoding, datasets."""

from .samples import real_inputs, sample_photos
from .transforms import preprocess_image, preprocess_video
from .video import read_clip, sample_clip_path

__all__ = ["real_inputs", "sample_photos", "preprocess_image", "preprocess_video", "read_clip", "sample_clip_path"]
