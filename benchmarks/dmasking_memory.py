#!/usr/bin/env python
"""Peak memory of one supernet training step: channel masking (DMaskingNAS eq. 3) vs running every option (eq. 1).

A stage block (1x1 expand, 3x3 depthwise, 1x1 project) chooses its output width among K options spread evenly
up to --max-width, for K = 1, 2, 4, 8, 16, 32. Masking builds the block once at the largest width and multiplies
its output by M = sum_i g_i 1_i; the naive form builds K blocks (one per width), runs them all, pads each output
to the largest width and sums them with the same Gumbel weights. One step = forward, cross-entropy on a linear
read-out, backward, in the same run for both forms, same batch.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the peak of the bytes the torch allocator holds,
from the profiler's allocation and free events of each op (``profile_memory=True``, each op's own, not its
children's) summed in time order, which counts
every tensor (activations kept for backward, gradients, temporaries), not process RSS.
Goal (issue 14): masking <= 1.3x from 1 to 32 options while the naive form grows >= 10x.

    python benchmarks/dmasking_memory.py [--batch 32] [--size 32] [--max-width 96]
Writes benchmarks/results/dmasking_memory/{memory.json,memory.md,memory.png}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os

import torch
from torch import nn

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import write_json_atomic
from mobilezoo.nas.supernet import MaskedIR, prefix_masks

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "dmasking_memory")
OPTIONS = (1, 2, 4, 8, 16, 32)


def widths(count: int, largest: int) -> tuple[int, ...]:
    return tuple(round(largest * (i + 1) / count) for i in range(count))


class Masked(nn.Module):
    def __init__(self, c_in: int, options: tuple[int, ...]) -> None:
        super().__init__()
        self.block = MaskedIR("ir_k3", c_in, 4 * max(options), max(options), 1, has_pw=True)
        self.register_buffer("masks", prefix_masks(options, max(options)))

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(self.block.dw.conv.out_channels, device=x.device)
        return self.block(x, ones, ones[:1], g @ self.masks)


class Naive(nn.Module):
    def __init__(self, c_in: int, options: tuple[int, ...]) -> None:
        super().__init__()
        self.largest = max(options)
        self.blocks = nn.ModuleList(MaskedIR("ir_k3", c_in, 4 * c, c, 1, has_pw=True) for c in options)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        total = 0
        for weight, block in zip(g, self.blocks):
            c = block.pwl.conv.out_channels
            ones = torch.ones(4 * c, device=x.device)
            y = block(x, ones, ones[:1], torch.ones(c, device=x.device))
            total = total + weight * nn.functional.pad(y, (0, 0, 0, 0, 0, self.largest - c))
        return total


def step(net: nn.Module, x: torch.Tensor, labels: torch.Tensor, g: torch.Tensor, head: nn.Module) -> None:
    y = net(x, g)
    loss = nn.functional.cross_entropy(head(y.mean((2, 3))), labels)
    loss.backward()


def peak_bytes(net: nn.Module, x: torch.Tensor, labels: torch.Tensor, g: torch.Tensor, head: nn.Module) -> int:
    """Peak allocated bytes during one training step (beyond what was allocated before it)."""
    if x.is_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(net, x, labels, g, head)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(net, x, labels, g, head)
    # each op's own allocations and frees (self_: without its children's, which are events of their own)
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    held = peak = 0
    for event in events:
        held += event.self_cpu_memory_usage
        peak = max(peak, held)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--max-width", type=int, default=96)
    parser.add_argument("--in-width", type=int, default=32)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.in_width, args.size, args.size, device=device)
    labels = torch.randint(0, 10, (args.batch,), device=device)
    head = nn.Linear(args.max_width, 10).to(device)
    rows = []
    for count in OPTIONS:
        options = widths(count, args.max_width)
        g = torch.softmax(torch.randn(count), 0).to(device)
        row = {"options": count, "widths": list(options)}
        for name, cls in (("masked", Masked), ("naive", Naive)):
            net = cls(args.in_width, options).to(device).train()
            peak_bytes(net, x, labels, g, head)  # warm-up: first-call allocations are not the step's
            net.zero_grad(set_to_none=True)
            row[f"{name}_peak_mb"] = round(peak_bytes(net, x, labels, g, head) / 2**20, 3)
            row[f"{name}_params"] = sum(p.numel() for p in net.parameters())
        rows.append(row)
        print(json.dumps(row))
    first = rows[0]
    masked_growth = rows[-1]["masked_peak_mb"] / first["masked_peak_mb"]
    naive_growth = rows[-1]["naive_peak_mb"] / first["naive_peak_mb"]
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "device": torch.cuda.get_device_name() if device.type == "cuda" else host_cpu(),
              "measure": "torch.cuda.max_memory_allocated" if device.type == "cuda" else
              "torch.profiler allocation/free events of each op (self_cpu_memory_usage, profile_memory=True), running sum, peak",
              "command": f"python benchmarks/dmasking_memory.py --batch {args.batch} --size {args.size} "
                         f"--max-width {args.max_width} --in-width {args.in_width}",
              "input": [args.batch, args.in_width, args.size, args.size], "rows": rows,
              "masked_growth_1_to_32": round(masked_growth, 3), "naive_growth_1_to_32": round(naive_growth, 3),
              "goal": "masked <= 1.3x and naive >= 10x from 1 to 32 options",
              "goal_met": masked_growth <= 1.3 and naive_growth >= 10}
    os.makedirs(OUT, exist_ok=True)
    write_json_atomic(os.path.join(OUT, "memory.json"), record)
    lines = ["# DMaskingNAS memory: masking (eq. 3) vs every option padded (eq. 1)", "",
             f"{record['date']}; {record['device']}; one training step, input {'x'.join(map(str, record['input']))}; "
             f"peak from {record['measure']}.", "",
             "| options | masked peak MB | naive peak MB | masked params | naive params |", "|---|---|---|---|---|"]
    lines += [f"| {r['options']} | {r['masked_peak_mb']:.2f} | {r['naive_peak_mb']:.2f} | {r['masked_params']:,} | "
              f"{r['naive_params']:,} |" for r in rows]
    lines += ["", f"Growth from 1 to 32 options: masked {masked_growth:.2f}x, naive {naive_growth:.2f}x "
              f"(goal: masked <= 1.3x, naive >= 10x: {'met' if record['goal_met'] else 'NOT met'})."]
    with open(os.path.join(OUT, "memory.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3.6))
    axis.plot(OPTIONS, [r["masked_peak_mb"] for r in rows], marker="o", label="masking (eq. 3)")
    axis.plot(OPTIONS, [r["naive_peak_mb"] for r in rows], marker="s", label="every option, padded (eq. 1)")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set(xlabel="channel options in the stage", ylabel="peak memory of one step (MB)",
             title="supernet training step: peak memory")
    axis.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(OUT, "memory.png"), dpi=110)
    print(json.dumps({k: record[k] for k in ("masked_growth_1_to_32", "naive_growth_1_to_32", "goal_met")}))


if __name__ == "__main__":
    main()
