"""Seeded random graph generators (ER, BA, WS, WS-flex), graph measures, and the DAG view used by RandWire."""

from .generators import GRAPH_KINDS, Graph, barabasi_albert, erdos_renyi, make_graph, watts_strogatz, ws_flex
from .metrics import DAG, average_path_length, clustering_coefficient, to_dag

__all__ = [
    "DAG", "GRAPH_KINDS", "Graph", "average_path_length", "barabasi_albert", "clustering_coefficient",
    "erdos_renyi", "make_graph", "to_dag", "watts_strogatz", "ws_flex",
]
