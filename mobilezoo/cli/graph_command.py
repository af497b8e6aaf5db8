"""``mobilezoo graph``: print and draw the random graphs that wire a RandWire model."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .numbers import Count

from ..errors import InvalidInputError


def add_graph(verbs: Any) -> None:
    p = verbs.add_parser(
        "graph",
        help="show or draw the stage graphs of a randomly wired model",
        description="Show the wiring of a RandWire model (per stage: nodes, edges, inputs, outputs, "
        "clustering C and path length L) and optionally draw it to a PNG.",
    )
    p.add_argument("name", help="a randwire_* model")
    p.add_argument("--seed", type=Count(0, 2**31 - 1), default=0, help="graph seed (default 0)")
    p.add_argument("--png", metavar="FILE", help="write the stage graphs to this PNG")
    p.add_argument("--json", action="store_true", help="print the full wiring as JSON")
    p.set_defaults(run=run_graph)


def run_graph(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..factory import create_model
    from ..graphs import average_path_length, clustering_coefficient, to_dag
    from ..registry import get_model_entry

    entry = get_model_entry(args.name)
    if entry.family != "randwire":
        raise InvalidInputError(f"'{entry.name}' is not randomly wired; try one of the randwire_* models")
    if args.png:
        directory = os.path.dirname(os.path.abspath(args.png))
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
            raise InvalidInputError(f"cannot write '{args.png}': folder '{directory}' is missing or not writable")
    model = create_model(entry.name, seed=args.seed)
    stages = {name: stage.stage_graph for name, stage in model.random_stages().items()}
    if args.json:
        print(json.dumps(model.wiring(), indent=2))
    else:
        table = Table(title=f"{entry.name} wiring (seed {args.seed})")
        for column in ("stage", "nodes", "edges", "inputs", "outputs", "C", "L"):
            table.add_column(column, justify="left" if column == "stage" else "right")
        for name, graph in stages.items():
            dag = to_dag(graph)
            table.add_row(name, str(graph.num_nodes), str(len(graph.edges)), str(len(dag.inputs)), str(len(dag.outputs)),
                          f"{clustering_coefficient(graph):.3f}", f"{average_path_length(graph):.3f}" if graph.is_connected() else "-")
        Console(width=120).print(table)
    if args.png:
        from ..graphs.draw import draw_stage_graphs

        draw_stage_graphs(stages, args.png, title=f"{entry.name}, seed {args.seed}")
        print(f"wrote {args.png}")
    return 0
