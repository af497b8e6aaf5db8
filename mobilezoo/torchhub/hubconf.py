"""torch.hub entry points: ``torch.hub.load(repo_or_dir, "resnext50_32x4d", source="local")``.

Every registered model is an entry point; keyword arguments go to :func:`mobilezoo.create_model`. ``weights="TAG"``
loads that weight entry (``torch.hub.load(dir, "fbnetv2_f1", source="local", weights="fmnist")``), as
``create_model("fbnetv2_f1.fmnist", pretrained=True)`` does; ``pretrained=True`` alone loads the default tag.
"""

dependencies = ["torch", "torchvision", "fvcore", "networkx", "yaml"]

import mobilezoo.factory as _factory  # noqa: E402  (torch.hub imports this file by path: absolute imports only)
import mobilezoo.registry as _registry  # noqa: E402


def _entrypoint(name):
    def load(pretrained=False, weights=None, **kwargs):
        if weights is not None:
            return _factory.create_model(f"{name}.{weights}", pretrained=True, **kwargs)
        return _factory.create_model(name, pretrained=pretrained, **kwargs)

    load.__name__ = name
    load.__doc__ = f"{name}: {_registry.get_model_entry(name).description}"
    return load


for _name in _registry.list_models():
    globals()[_name] = _entrypoint(_name)
