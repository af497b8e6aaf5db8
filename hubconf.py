"""torch.hub entry points of a checkout: ``torch.hub.load(repo_dir, "resnext50_32x4d", source="local")``.

The entries live in the package (``mobilezoo/torchhub/hubconf.py``) so an installed copy has them too.
"""

dependencies = ["torch", "torchvision", "fvcore", "networkx", "yaml"]

from mobilezoo.torchhub.hubconf import *  # noqa: E402,F401,F403  (one entry point per registered model)
