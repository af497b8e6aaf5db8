"""mobilezoo: efficient vision and video networks for phones.

Load models by name, profile their parameters and multiply-adds, and export them for deployment::

    import mobilezoo
    model = mobilezoo.create_model("fbnetv2_f1").eval()
    print(mobilezoo.list_models("fbnetv2_*"))
    print(mobilezoo.profile("resnext50_32x4d").gmacs)
"""

from __future__ import annotations

from . import models as _models  # noqa: F401  (registers every family)
from . import torchhub  # noqa: F401  (torch.hub.load(mobilezoo.torchhub.DIR, NAME, source="local"))
from .errors import MobileZooError
from .export import export
from .factory import create_model
from .profile import profile
from .registry import (
    get_model_info,
    get_pretrained_cfg,
    is_model,
    list_models,
    list_pretrained,
)
from .torchvision_api import get_model, get_model_weights, get_weight

from .version import __version__

__all__ = [
    "MobileZooError",
    "create_model",
    "export",
    "get_model",
    "get_model_info",
    "get_model_weights",
    "get_pretrained_cfg",
    "get_weight",
    "is_model",
    "list_models",
    "list_pretrained",
    "profile",
    "__version__",
]
