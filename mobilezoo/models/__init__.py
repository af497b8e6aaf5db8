"""Model families. Importing this package registers every family with :mod:`mobilezoo.registry`."""

from . import resnext  # noqa: F401  (registers resnext*)
from .base import FeatureListNet, ZooModel

__all__ = ["FeatureListNet", "ZooModel"]
