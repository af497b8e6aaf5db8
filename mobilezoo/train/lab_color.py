"""CIE Lab colour and the quantised ab bins of colorization (Zhang, Isola, Efros 2016; UnNAS's colorization task).

Conversion: sRGB (D65, IEC 61966-2-1 companding) -> linear RGB -> XYZ -> CIE Lab with the D65 white
(0.95047, 1, 1.08883), the CIE 1976 formulas (epsilon 216/24389, kappa 24389/27), and back. In torch, on
[..., 3, H, W] tensors with values in [0, 1], so it runs on batches.

Bins: Zhang et al.'s Q = 313 "in-gamut" ab bins (the ``pts_in_hull`` file UnNAS loads), centres on a grid of 10:
:data:`REFERENCE_GAMUT` holds them as 20 columns of a (each a contiguous run of b), and :func:`reference_ab_bins`
lists them in the reference file's order (by a, then b), so a bin's index is the reference's class. A pixel's
target is its nearest bin. :func:`ab_bins` is the zoo's earlier set (the 261 grid cells some 8-bit sRGB colour
falls into), kept for comparison: the 313 reach further into saturated greens and blues than sRGB can.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPSILON, _KAPPA = 216 / 24389, 24389 / 27
_RGB_TO_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                            [0.2126729, 0.7151522, 0.0721750],
                            [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", matrix.to(image.dtype), image)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], [..., 3, H, W] -> Lab (L in [0, 100], a and b roughly in [-128, 127])."""
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0) + 0.055) / 1.055) ** 2.4)
    xyz = _apply(_RGB_TO_XYZ, linear) / torch.tensor(WHITE_D65, dtype=rgb.dtype).view(3, 1, 1)
    f = torch.where(xyz > _EPSILON, xyz.clamp(min=1e-12) ** (1 / 3), (_KAPPA * xyz + 16) / 116)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Lab -> sRGB in [0, 1] (clipped unless ``clip=False``, which shows whether a colour is in gamut)."""
    l, a, b = lab.unbind(-3)
    fy = (l + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200
    xyz = torch.stack([torch.where(f**3 > _EPSILON, f**3, (116 * f - 16) / _KAPPA) for f in (fx, fy, fz)], dim=-3)
    xyz = xyz * torch.tensor(WHITE_D65, dtype=lab.dtype).view(3, 1, 1)
    linear = _apply(_XYZ_TO_RGB, xyz)
    rgb = torch.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear.clamp(min=0) ** (1 / 2.4) - 0.055)
    return rgb.clamp(0, 1) if clip else rgb


#: the 313 bins of the reference (facebookresearch/unnas ``pycls/datasets/files/pts_in_hull.npy``): per a, the
#: lowest and highest b of its column (every multiple of 10 between them is a bin)
REFERENCE_GAMUT = ((-90, 50, 90), (-80, 20, 90), (-70, 0, 90), (-60, -20, 90), (-50, -30, 100), (-40, -40, 100),
                   (-30, -50, 100), (-20, -50, 100), (-10, -60, 100), (0, -70, 100), (10, -80, 90), (20, -80, 90),
                   (30, -90, 90), (40, -100, 90), (50, -100, 80), (60, -110, 80), (70, -110, 80), (80, -110, 70),
                   (90, -110, 70), (100, -90, 0))


@lru_cache(maxsize=1)
def reference_ab_bins() -> np.ndarray:
    """[313, 2] ab bin centres in the reference's order (its class indices)."""
    bins = [(a, b) for a, low, high in REFERENCE_GAMUT for b in range(low, high + 1, 10)]
    return np.asarray(bins, dtype=np.float32)


@lru_cache(maxsize=4)
def ab_bins(grid: int = 10) -> np.ndarray:
    """[Q, 2] ab bin centres (multiples of ``grid``) that at least one 8-bit sRGB colour falls into (nearest centre)."""
    levels = torch.arange(256, dtype=torch.float64) / 255
    g, b = torch.meshgrid(levels, levels, indexing="ij")
    span = 64  # cells -span..span-1 on each axis: a, b stay within +-128
    seen = torch.zeros(2 * span, 2 * span, dtype=torch.bool)
    for start in range(0, 256, 32):  # 8 slabs of 32 x 65,536 colours: every 8-bit sRGB colour once
        red = levels[start:start + 32].view(-1, 1, 1).expand(-1, 256, 256)
        rgb = torch.stack([red, g.expand_as(red), b.expand_as(red)], dim=1)  # [32, 3, 256, 256]
        cells = torch.round(rgb_to_lab(rgb)[:, 1:] / grid).to(torch.int64) + span
        seen[cells[:, 0].reshape(-1), cells[:, 1].reshape(-1)] = True
    index = seen.nonzero().numpy() - span
    return (index * grid).astype(np.float32)


def nearest_bin(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Index of the nearest bin of every pixel: ab [..., 2, H, W], bins [Q, 2] -> [..., H, W]."""
    flat = ab.movedim(-3, -1).reshape(-1, 2).to(bins.dtype)
    index = torch.cdist(flat, bins).argmin(dim=1)
    return index.view(*ab.shape[:-3], *ab.shape[-2:])
