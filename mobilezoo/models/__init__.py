"""Model families. Importing this package registers every family with :mod:`mobilezoo.registry`."""

from . import anynet, darts, fbnet, randwire, relgraph, resnext, s3d  # noqa: F401  (importing registers each family)
from . import searched_networks  # noqa: F401  (the networks searches found, after their families)
from .base import FeatureListNet, ZooModel
from ..weights.packaged import register_packaged

register_packaged()  # weights shipped with the package (after every architecture is registered)

__all__ = ["FeatureListNet", "ZooModel"]
