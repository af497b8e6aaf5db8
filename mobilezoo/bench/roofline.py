"""Measured rooflines: what each runtime reaches on the two kernels phone networks are made of.

A network's GFLOP/s (2 x MACs / latency) only means something next to what the same runtime, thread count and
machine reach on plain work: a dense 1x1 convolution (a GEMM, the compute-bound ceiling) and a 3x3 depthwise
convolution (memory-bound, the floor most inverted-residual layers live near). Both run through the same
export-and-run path as every benchmarked model, with the latency rule's synthetic weights.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .weights import synthetic_weights

#: name -> (module builder, per-sample input shape); sizes of a mid-network FBNet layer at 224 px
KERNELS = {
    "gemm_1x1_conv": (lambda: nn.Conv2d(256, 256, 1, bias=False), (256, 28, 28)),
    "depthwise_3x3": (lambda: nn.Conv2d(256, 256, 3, padding=1, groups=256, bias=False), (256, 56, 56)),
}


def kernel_macs(name: str) -> int:
    builder, (channels, height, width) = KERNELS[name]
    conv = builder()
    per_output = (conv.in_channels // conv.groups) * conv.kernel_size[0] * conv.kernel_size[1]
    return conv.out_channels * height * width * per_output


def measure_rooflines(runtimes: list[str], threads: int, warmup: int = 10, iters: int = 30) -> list[dict[str, Any]]:
    """One record per (kernel, runtime): p50 latency and GFLOP/s."""
    from .runtimes import benchmark

    records = []
    for name, (builder, shape) in KERNELS.items():
        module = synthetic_weights(builder(), shape, seed=0)
        macs = kernel_macs(name)
        for runtime in runtimes:
            record = benchmark(module, runtime, shape, threads=threads, warmup=warmup, iters=iters, name=name, macs=macs)
            record["weights"] = "synthetic, seed 0"
            records.append(record)
    return records
