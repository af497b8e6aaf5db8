"""Graph measures used by RandWire and the relational-graph study, and the DAG view of a graph."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import InvalidInputError
from .generators import Graph


def clustering_coefficient(graph: Graph) -> float:
    """Average local clustering: for each node, the share of its neighbour pairs that are linked."""
    adjacency = graph.neighbours()
    total = 0.0
    for node, neighbours in enumerate(adjacency):
        degree = len(neighbours)
        if degree < 2:
            continue
        links = sum(1 for a in neighbours for b in adjacency[a] if b in neighbours) / 2
        total += links / (degree * (degree - 1) / 2)
    return total / graph.num_nodes


def average_path_length(graph: Graph) -> float:
    """Mean shortest-path length over all ordered pairs of distinct nodes (graph must be connected)."""
    if not graph.is_connected():
        raise InvalidInputError("average path length needs a connected graph")
    adjacency = graph.neighbours()
    total = 0
    for source in range(graph.num_nodes):
        distance = {source: 0}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for other in adjacency[node]:
                if other not in distance:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        total += sum(distance.values())
    n = graph.num_nodes
    return total / (n * (n - 1))


@dataclass(frozen=True)
class DAG:
    """A graph directed from lower to higher node index, as RandWire wires a stage."""

    num_nodes: int
    predecessors: tuple[tuple[int, ...], ...]
    inputs: tuple[int, ...]  # nodes without predecessors: fed by the stage input
    outputs: tuple[int, ...]  # nodes without successors: averaged into the stage output


def to_dag(graph: Graph) -> DAG:
    predecessors: list[list[int]] = [[] for _ in range(graph.num_nodes)]
    has_successor = [False] * graph.num_nodes
    for u, v in graph.edges:
        low, high = min(u, v), max(u, v)
        predecessors[high].append(low)
        has_successor[low] = True
    return DAG(
        graph.num_nodes,
        tuple(tuple(sorted(p)) for p in predecessors),
        tuple(i for i, p in enumerate(predecessors) if not p),
        tuple(i for i in range(graph.num_nodes) if not has_successor[i]),
    )
