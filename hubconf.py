"""torch.hub entry points: ``torch.hub.load(repo_dir, "resnext50_32x4d", source="local")``.

Every registered model is an entry point; keyword arguments go to :func:`mobilezoo.create_model`.
"""

dependencies = ["torch", "torchvision", "fvcore", "networkx", "yaml"]

import mobilezoo as _mobilezoo  # noqa: E402


def _entrypoint(name):
    def load(pretrained=False, **kwargs):
        return _mobilezoo.create_model(name, pretrained=pretrained, **kwargs)

    load.__name__ = name
    load.__doc__ = f"{name}: {_mobilezoo.registry.get_model_entry(name).description}"
    return load


for _name in _mobilezoo.list_models():
    globals()[_name] = _entrypoint(_name)
