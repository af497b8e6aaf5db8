"""Random graph generators: Erdos-Renyi, Barabasi-Albert, Watts-Strogatz and WS-flex.

Every generator draws from its own ``random.Random(seed)`` (Mersenne Twister, same stream on every
platform and process; string seeds are hashed with SHA-512, not Python's salted ``hash``), so a seed
always gives the same edges. Node indices follow the RandWire paper's DAG convention: WS nodes are
numbered around the ring, BA nodes in the order they were added, ER nodes in draw order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError

GRAPH_KINDS = ("er", "ba", "ws", "ws_flex")


@dataclass(frozen=True)
class Graph:
    """An undirected simple graph on nodes ``0..n-1``; ``edges`` are sorted pairs ``(u, v)`` with ``u < v``."""

    num_nodes: int
    edges: tuple[tuple[int, int], ...]
    kind: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | str | None = None

    def neighbours(self) -> list[set[int]]:
        adjacency: list[set[int]] = [set() for _ in range(self.num_nodes)]
        for u, v in self.edges:
            adjacency[u].add(v)
            adjacency[v].add(u)
        return adjacency

    def is_connected(self) -> bool:
        if self.num_nodes == 0:
            return True
        adjacency, seen, stack = self.neighbours(), {0}, [0]
        while stack:
            for other in adjacency[stack.pop()]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return len(seen) == self.num_nodes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (saved with checkpoints and exports)."""
        return {
            "num_nodes": self.num_nodes,
            "edges": [list(e) for e in self.edges],
            "kind": self.kind,
            "params": dict(self.params),
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Graph":
        return cls(
            num_nodes=int(data["num_nodes"]),
            edges=_canonical(data["edges"]),
            kind=data.get("kind", ""),
            params=dict(data.get("params", {})),
            seed=data.get("seed"),
        )


def _canonical(edges: Any) -> tuple[tuple[int, int], ...]:
    return tuple(sorted({(min(int(u), int(v)), max(int(u), int(v))) for u, v in edges if u != v}))


def _check(n: int, **bounds: tuple[float, float, float]) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InvalidInputError(f"a graph needs a whole number of nodes >= 2, got {n!r}")
    for name, (value, low, high) in bounds.items():
        if not low <= value <= high:
            raise InvalidInputError(f"graph parameter {name}={value!r} is out of range [{low}, {high}]")


def erdos_renyi(n: int, p: float, seed: int | str = 0) -> Graph:
    """ER(P): each of the n(n-1)/2 possible edges is present with probability ``p``."""
    _check(n, p=(p, 0.0, 1.0))
    rng = random.Random(f"er:{seed}")
    edges = [(u, v) for u in range(n) for v in range(u + 1, n) if rng.random() < p]
    return Graph(n, _canonical(edges), "er", {"p": p}, seed)


def barabasi_albert(n: int, m: int, seed: int | str = 0) -> Graph:
    """BA(M): start from M isolated nodes; each new node links to M distinct nodes, chosen with
    probability proportional to degree (uniformly while every degree is zero)."""
    _check(n, m=(m, 1, n - 1))
    rng = random.Random(f"ba:{seed}")
    edges: list[tuple[int, int]] = []
    targets = list(range(m))
    endpoints: list[int] = []  # each node appears once per incident edge: sampling it is preferential
    for new in range(m, n):
        edges.extend((t, new) for t in targets)
        endpoints.extend(targets)
        endpoints.extend([new] * m)
        chosen: set[int] = set()
        while len(chosen) < m:
            chosen.add(rng.choice(endpoints))
        targets = sorted(chosen)
    return Graph(n, _canonical(edges), "ba", {"m": m}, seed)


def _rewire(n: int, ring: list[tuple[int, int]], p: float, rng: random.Random) -> list[tuple[int, int]]:
    """Rewire each clockwise edge (u, v) with probability p to (u, w), w uniform, no loops or duplicates.

    The random draws follow the relational-graph reference (graph2nn's ``ws_graph``) call for call, so a seed gives
    its graphs: one ``random()`` per edge; on a hit, ``w`` is drawn until it is neither ``u`` nor a neighbour of
    ``u``; when ``u`` is already linked to every other node, the rewiring is skipped after the second draw.
    """
    adjacency: list[set[int]] = [set() for _ in range(n)]
    for u, v in ring:
        adjacency[u].add(v)
        adjacency[v].add(u)
    for u, v in ring:
        if rng.random() >= p:
            continue
        w = rng.randrange(n)
        skipped = False
        while w == u or w in adjacency[u]:
            w = rng.randrange(n)
            if len(adjacency[u]) >= n - 1:
                skipped = True
                break
        if skipped:
            continue
        adjacency[u].discard(v)
        adjacency[v].discard(u)
        adjacency[u].add(w)
        adjacency[w].add(u)
    return [(u, v) for u in range(n) for v in adjacency[u] if u < v]


def watts_strogatz(n: int, k: int, p: float, seed: int | str = 0, tries: int = 200) -> Graph:
    """WS(K, P): a ring where each node links to its K nearest neighbours (K even), each clockwise edge
    rewired with probability P; redrawn (up to ``tries`` times) until connected, as RandWire does."""
    _check(n, p=(p, 0.0, 1.0), k=(k, 2, n - 1))
    if k % 2:
        raise InvalidInputError(f"WS needs an even K (neighbours split evenly around the ring), got {k}")
    rng = random.Random(f"ws:{seed}")
    for _ in range(tries):
        # rewire layer by layer: first every node's nearest clockwise edge, then the second, ...
        ring = [(u, (u + j) % n) for j in range(1, k // 2 + 1) for u in range(n)]
        graph = Graph(n, _canonical(_rewire(n, ring, p, rng)), "ws", {"k": k, "p": p}, seed)
        if graph.is_connected():
            return graph
    raise InvalidInputError(f"WS({k}, {p}) on {n} nodes gave no connected graph in {tries} tries; raise K or lower P")


def ws_flex(n: int, k: float, p: float, seed: int | str = 0, tries: int = 100) -> Graph:
    """WS-flex (relational graphs): any real average degree ``k``. round(k*n/2) edges are spread as evenly
    as possible over the nodes (the first ones get one extra), node i linked to its next clockwise
    neighbours, then rewired as in WS; redrawn with the same generator until connected."""
    _check(n, p=(p, 0.0, 1.0), k=(k, 2, n - 1))
    # an integer seed seeds the generator directly, as graph2nn does (its published graphs come out exactly)
    rng = random.Random(seed if isinstance(seed, int) else f"ws_flex:{seed}")
    total = round(k * n / 2)  # Python rounding (half to even), as the reference
    counts = [total // n + (1 if i < total % n else 0) for i in range(n)]
    for _ in range(tries):
        ring = [(u, (u + j) % n) for u in range(n) for j in range(1, counts[u] + 1)]
        graph = Graph(n, _canonical(_rewire(n, ring, p, rng)), "ws_flex", {"k": k, "p": p}, seed)
        if graph.is_connected():
            return graph
    raise InvalidInputError(f"WS-flex({k}, {p}) on {n} nodes gave no connected graph in {tries} tries")


def make_graph(kind: str, n: int, seed: int | str = 0, **params: Any) -> Graph:
    """Dispatch by name: ``er`` (p), ``ba`` (m), ``ws`` (k, p), ``ws_flex`` (k, p)."""
    builders = {"er": erdos_renyi, "ba": barabasi_albert, "ws": watts_strogatz, "ws_flex": ws_flex}
    if kind not in builders:
        raise InvalidInputError(f"unknown graph kind '{kind}'; use one of {', '.join(GRAPH_KINDS)}")
    try:
        return builders[kind](n, seed=seed, **params)
    except TypeError as exc:
        raise InvalidInputError(f"graph kind '{kind}' got wrong parameters {params}: {exc}") from None
