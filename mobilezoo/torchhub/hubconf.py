"""torch.hub entry points: ``torch.hub.load(repo_or_dir, "resnext50_32x4d", source="local")``.

Every registered model is an entry point; keyword arguments go to :func:`mobilezoo.create_model`. ``weights="TAG"``
loads that weight entry (``torch.hub.load(dir, "fbnetv2_f1", source="local", weights="fmnist")``), as
``create_model("fbnetv2_f1.fmnist", pretrained=True)`` does; ``pretrained=True`` alone loads the default tag.
"""

dependencies = ["torch", "torchvision", "fvcore", "networkx", "yaml"]

import mobilezoo as _mobilezoo  # noqa: E402


def _entrypoint(name):
    def load(pretrained=False, weights=None, **kwargs):
        if weights is not None:
            return _mobilezoo.create_model(f"{name}.{weights}", pretrained=True, **kwargs)
        return _mobilezoo.create_model(name, pretrained=pretrained, **kwargs)

    load.__name__ = name
    load.__doc__ = f"{name}: {_mobilezoo.registry.get_model_entry(name).description}"
    return load


for _name in _mobilezoo.list_models():
    globals()[_name] = _entrypoint(_name)
