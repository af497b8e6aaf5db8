"""LaNAS: learn to partition the search space with a tree of linear models, then sample where the scores are good.

Wang, Zhao, Jiang, Tian, Fonseca, "Learning Search Space Partition for Black-box Optimization using Monte Carlo
Tree Search" / "Sample-Efficient Neural Architecture Search by Learning Action Space" (arXiv 1906.06832), from the
paper's description:

- A complete binary tree of fixed height ``h`` (``2**h - 1`` nodes; the NAS-Bench-101 runs use h = 5, 16 leaves).
- Every internal node fits a linear model ``score ~ w . x + b`` on the encodings of the architectures it holds.
  Its split threshold is the mean of the model's predictions on them; the architectures it holds go to the good
  child (score >= threshold) or the bad child by their *true* score, an unseen architecture by its *predicted*
  score. The hyperplane ``w . x + b = threshold`` is the node's "latent action".
- Selection: from the root, the child with the largest UCB ``mean + 2 Cp sqrt(2 ln n_parent / n_child)``
  (infinite for an unvisited child; ties at random). Cp = 0.1 for scores in [0, 1] as in the paper's NAS-Bench-101
  runs (the LA-MCTS rule of thumb: Cp ~ 0.1 x the best score).
- Sampling in the chosen leaf's region, i.e. among the architectures that satisfy every constraint on its path:
  exhaustively where the space can be listed (route every unseen architecture through the tree and draw from the
  leaf's bag, as the NAS-Bench-101 code does), by rejection sampling against *all* of the path's constraints
  otherwise (the one-shot code accepts a sample as soon as any one holds; we require all).
- After each evaluation the visit counts and mean scores are back-propagated up the path; the tree is rebuilt
  from all samples every ``batch`` evaluations (first after ``init_samples`` random ones: 10 and 20 in the paper).

Our choices where the paper leaves room: the linear model is fitted in closed form (ridge least squares with a
small penalty and a free intercept; the reference code trains an ``nn.Linear`` with Adam for thousands of epochs
towards the same minimiser); a node holding fewer than two architectures, or architectures with one score, is
not split (selection stops there and samples its region); a region left with no unseen feasible architecture is
skipped by selection.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInputError
from .discrete_space import Arch, CategoricalSpace
from .searchers import Searcher


@dataclass
class TreeNode:
    index: int  # heap order: children of i are 2i+1 (good) and 2i+2 (bad)
    depth: int
    members: list[int] = field(default_factory=list)  # indices into the search history
    n: int = 0
    mean: float = 0.0
    weights: np.ndarray | None = None  # the linear model (None: not split)
    bias: float = 0.0
    threshold: float = 0.0

    @property
    def split(self) -> bool:
        return self.weights is not None

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights + self.bias

    def goes_good(self, x: np.ndarray) -> np.ndarray:
        """Routing of unseen architectures: predicted score >= threshold."""
        return self.predict(x) >= self.threshold

    def update(self, score: float) -> None:
        self.n += 1
        self.mean += (score - self.mean) / self.n


def fit_linear(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, float]:
    """Ridge least squares with an unpenalised intercept: (w, b) minimising |x w + b - y|^2 + ridge |w|^2."""
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc, yc = x - x_mean, y - y_mean
    weights = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ yc)
    return weights, float(y_mean - x_mean @ weights)


def ucb(child: TreeNode, parent_n: int, cp: float) -> float:
    if child.n == 0:
        return math.inf
    return child.mean + 2 * cp * math.sqrt(2 * math.log(max(parent_n, 1)) / child.n)


def select_child(children: list[TreeNode], parent_n: int, cp: float, rng: random.Random) -> TreeNode:
    """The child with the largest UCB (an unvisited one first), ties broken at random."""
    values = [ucb(c, parent_n, cp) for c in children]
    top = max(values)
    return rng.choice([c for c, v in zip(children, values) if v == top])


class LaNAS(Searcher):
    """Latent-action Monte-Carlo tree search over a :class:`CategoricalSpace`."""

    algorithm = "lanas"

    def __init__(self, space: CategoricalSpace, seed: int = 0, height: int = 5, cp: float = 0.1,
                 init_samples: int = 10, batch: int = 20, ridge: float = 1e-3, rejection_tries: int = 20_000) -> None:
        super().__init__(space, seed)
        if height < 1 or init_samples < 1 or batch < 1 or cp < 0:
            raise InvalidInputError(f"LaNAS needs height >= 1, init_samples >= 1, batch >= 1 and cp >= 0, got "
                                    f"{height}, {init_samples}, {batch}, {cp}")
        self.height, self.cp, self.init_samples, self.batch = height, cp, init_samples, batch
        self.ridge, self.rejection_tries = ridge, rejection_tries
        self.nodes: list[TreeNode] = []
        self._built_at = -1
        self._encoded: list[np.ndarray] = []  # encodings of the history, in order
        self._path: list[TreeNode] = []  # path of the pending proposal
        self._bags: dict[int, list[Arch]] | None = None  # enumerable spaces: unseen architectures per node region
        self.rebuilds = 0
        self._exhausted: set[int] = set()  # non-enumerable spaces: regions where rejection sampling found nothing

    # --- the tree -------------------------------------------------------------------------------------

    def children(self, node: TreeNode) -> list[TreeNode]:
        return [self.nodes[2 * node.index + 1], self.nodes[2 * node.index + 2]]

    def build_tree(self) -> None:
        """Fit the tree on every architecture evaluated so far."""
        x = np.stack(self._encoded)
        y = np.array([e.score for e in self.history])
        self.nodes = [TreeNode(i, int(math.log2(i + 1))) for i in range(2 ** self.height - 1)]
        self.nodes[0].members = list(range(len(y)))
        for node in self.nodes:
            members = np.array(node.members, dtype=np.int64)
            node.n = len(members)
            node.mean = float(y[members].mean()) if len(members) else 0.0
            if node.depth == self.height - 1 or len(members) < 2 or np.ptp(y[members]) == 0:
                continue  # a leaf, or nothing to learn from
            node.weights, node.bias = fit_linear(x[members], y[members], self.ridge)
            node.threshold = float(node.predict(x[members]).mean())
            good = y[members] >= node.threshold  # the node's own architectures go by their true score
            good_child, bad_child = self.children(node)
            good_child.members, bad_child.members = members[good].tolist(), members[~good].tolist()
        self._built_at = len(self.history)
        self.rebuilds += 1
        self._bags = self._route_unseen() if self.space.enumerable else None

    def _route_unseen(self) -> dict[int, list[Arch]]:
        """Every unseen feasible architecture routed by prediction: the bag of each node's region."""
        pool = [a for a in self.feasible_pool() if a not in self.seen]
        bags: dict[int, list[Arch]] = {0: pool}
        if not pool:
            return bags
        at = np.zeros(len(pool), dtype=np.int64)  # current node of each architecture
        x = self.space.encode(pool)
        for node in self.nodes:  # heap order: parents before children
            if not node.split:
                continue
            inside = np.flatnonzero(at == node.index)
            if not len(inside):
                continue
            good = node.goes_good(x[inside])
            at[inside[good]], at[inside[~good]] = 2 * node.index + 1, 2 * node.index + 2
            bags[2 * node.index + 1] = [pool[i] for i in inside[good]]
            bags[2 * node.index + 2] = [pool[i] for i in inside[~good]]
        return bags

    def path_constraints(self, path: list[TreeNode]) -> list[tuple[TreeNode, bool]]:
        """(node, must go good) for every split node on ``path`` above its end."""
        return [(node, child.index == 2 * node.index + 1) for node, child in zip(path, path[1:])]

    def in_region(self, arch: Arch, path: list[TreeNode]) -> bool:
        x = self.space.encode(arch)
        return all(bool(node.goes_good(x)) == good for node, good in self.path_constraints(path))

    # --- selection and sampling ------------------------------------------------------------------------

    def _has_unseen(self, node: TreeNode) -> bool:
        if self._bags is None:
            return node.index not in self._exhausted
        return any(a not in self.seen for a in self._bags.get(node.index, ()))

    def select_path(self) -> list[TreeNode] | None:
        """Root to the node to sample in, by UCB among children whose region still has unseen architectures."""
        node, path = self.nodes[0], [self.nodes[0]]
        if not self._has_unseen(node):
            return None
        while node.split:
            open_children = [c for c in self.children(node) if self._has_unseen(c)]
            if not open_children:
                break
            node = select_child(open_children, node.n, self.cp, self.rng)
            path.append(node)
        return path

    def _sample_region(self, path: list[TreeNode]) -> Arch | None:
        if self._bags is not None:
            bag = [a for a in self._bags.get(path[-1].index, ()) if a not in self.seen]
            self._bags[path[-1].index] = bag  # keep bags small as they are used up
            return self.rng.choice(bag) if bag else None
        accept = lambda a: a not in self.seen and self.in_region(a, path)  # noqa: E731
        return self.space.sample_feasible(self.rng, accept, self.rejection_tries)

    def propose(self) -> Arch | None:
        if len(self.history) < self.init_samples:
            self._path = []
            return self.random_unseen()
        if self._built_at < 0 or len(self.history) - self._built_at >= self.batch:
            self.build_tree()
        self._exhausted: set[int] = set()
        while True:
            path = self.select_path()
            if path is None:
                return None
            arch = self._sample_region(path)
            if arch is not None:
                self._path = path
                return arch
            self._exhausted.add(path[-1].index)  # rejection sampling found nothing: treat the region as used up
            if self._bags is not None:
                self._bags[path[-1].index] = []

    def observe(self, arch: Arch, score: float) -> None:
        self._encoded.append(self.space.encode(arch))
        for node in self._path:  # back-propagation of the visit count and mean score
            node.update(score)
