"""Model families. Importing this package registers every family with :mod:`mobilezoo.registry`."""

from . import fbnet, randwire, resnext, s3d  # noqa: F401  (importing registers each family)
from .base import FeatureListNet, ZooModel

__all__ = ["FeatureListNet", "ZooModel"]
