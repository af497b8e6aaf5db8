# Shim: run timm's own tests/test_models.py on mobilezoo's models (the zoo stands in for timm's registry).
import timm
import mobilezoo

def _list_models(filter="", module="", pretrained=False, exclude_filters="", name_matches_cfg=False, include_tags=None):
    names = mobilezoo.list_models(filter, exclude_filters=exclude_filters or ())
    return [n for n in names if len(mobilezoo.get_pretrained_cfg(n).input_size) == 3]  # timm's tests are 2D

def _list_pretrained(filter="", exclude_filters=""):
    return []

def _get_value(name, key):
    return mobilezoo.get_pretrained_cfg(name).get(key)

timm.list_models = _list_models
timm.list_pretrained = _list_pretrained
timm.create_model = lambda name, **kw: mobilezoo.create_model(name, **kw)
timm.get_pretrained_cfg_value = _get_value
