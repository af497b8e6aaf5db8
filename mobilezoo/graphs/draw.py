"""Draw RandWire stage graphs to a PNG: nodes on a circle in index order, edges low -> high."""

from __future__ import annotations

import math
from typing import Mapping

from ..fileio import save_png
from .generators import Graph
from .metrics import average_path_length, clustering_coefficient, to_dag


def draw_stage_graphs(graphs: Mapping[str, Graph], path: str, title: str = "") -> str:
    """Write one panel per stage (input nodes green, output nodes red) to ``path`` atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(graphs)
    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 4.6), squeeze=False)
    for axis, (name, graph) in zip(axes[0], graphs.items()):
        dag = to_dag(graph)
        n = graph.num_nodes
        position = [(math.cos(math.pi / 2 - 2 * math.pi * i / n), math.sin(math.pi / 2 - 2 * math.pi * i / n)) for i in range(n)]
        for u, v in graph.edges:
            (x0, y0), (x1, y1) = position[min(u, v)], position[max(u, v)]
            axis.annotate("", xy=(x1, y1), xytext=(x0, y0),
                          arrowprops={"arrowstyle": "-|>", "color": "0.55", "lw": 0.6, "shrinkA": 4, "shrinkB": 4})
        colours = ["tab:green" if i in dag.inputs else "tab:red" if i in dag.outputs else "tab:blue" for i in range(n)]
        axis.scatter([p[0] for p in position], [p[1] for p in position], c=colours, s=40, zorder=3)
        for i, (x, y) in enumerate(position):
            axis.text(1.12 * x, 1.12 * y, str(i), ha="center", va="center", fontsize=6)
        stats = f"C={clustering_coefficient(graph):.2f}"
        if graph.is_connected():
            stats += f", L={average_path_length(graph):.2f}"
        axis.set_title(f"{name}: {n} nodes, {len(graph.edges)} edges\n{stats}; in {len(dag.inputs)}, out {len(dag.outputs)}", fontsize=9)
        axis.set_aspect("equal")
        axis.axis("off")
    figure.suptitle((title + "   " if title else "") + "green: input nodes, red: output nodes, arrows: low -> high index",
                    fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.92))
    save_png(figure, path)  # atomic, and never onto a device, pipe or folder
    return path
