"""``create_model``: build any registered model (or a user's definition file) by name."""

from __future__ import annotations

import inspect
import os
from typing import Any, Sequence

from torch import nn

from .errors import InvalidInputError, MobileZooError
from .fileio import sha256_of
from .inputs import MAX_CHANNELS, check_count
from .models.base import FeatureListNet, ZooModel
from .pretrained_cfg import WeightsSource, adapt_cfg_channels
from .registry import check_num_classes, get_pretrained_cfg, resolve
from .weights.hf_hub import HF_HUB_PREFIX
from .weights.loading import load_state_dict_strict

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


def create_model(
    name: str,
    pretrained: bool = False,
    num_classes: int | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    in_chans: int | None = None,
    global_pool: str | None = None,
    *,
    pretrained_cfg_overlay: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike | None = None,
    scriptable: bool | None = None,
    exportable: bool | None = None,
    no_jit: bool | None = None,
    output_stride: int | None = None,
    feature_cls: str | None = None,
    drop_rate: float | None = None,
    drop_path_rate: float | None = None,
    **overrides: Any,
) -> nn.Module:
    """Build a model by name, like ``timm.create_model``.

    Args:
        name: a registered name (``fbnetv2_f1``), a weight-tagged name (``fbnetv2_f1.fmnist``), an
            upstream alias (``FBNetV2_F1``), or the path of an architecture definition file (YAML/JSON).
        pretrained: load the weights of the tag (or the architecture's default tag).
        num_classes: classifier size; with ``pretrained`` the head is replaced after loading.
        features_only: return a module that outputs the multi-scale feature maps (``feature_info`` is timm's
            :class:`~mobilezoo.models.base.FeatureInfo`).
        out_indices: which feature levels ``features_only`` returns (default: all; negative counts from the end).
        checkpoint_path: a local checkpoint (``.pth`` or ``.safetensors``) to load strictly.
        in_chans: input channels; pretrained stem weights are adapted as timm does (summed over RGB for 1
            channel, repeated and scaled by 3/in_chans otherwise).
        global_pool: ``'avg'`` (default) or ``''`` (no pooling: ``forward`` returns the spatial map).
        pretrained_cfg_overlay: fields that replace the registered cfg's (timm's; ``file`` names a local weights
            file to load instead of the tag's).
        cache_dir: the folder downloads and cached weights go to for this call (default: the zoo's cache).
        scriptable, exportable, no_jit: timm's layer switches; every zoo model scripts, traces and exports as
            built (the test suite checks each), so they change nothing.
        output_stride: 32 (default), or 16 / 8 for the ResNet-layout families (ResNeXt, relational ResNets), which
            then dilate their last stages as torchvision's ``replace_stride_with_dilation`` does; the weights are
            the same, so pretrained ones load.
        feature_cls: how ``features_only`` taps the network: ``None`` or ``'getter'`` (the zoo's one way).
        drop_rate: dropout before the classifier, in training (timm's).
        drop_path_rate: stochastic depth on the residual branches, in training: linear from 0 at the first
            residual block to this rate at the last, as timm schedules it (DARTS cells: this rate in every cell,
            as the reference); an error for a family without residual blocks.
        **overrides: architecture options passed to the family builder (e.g. ``seed`` for RandWire).

    The model is returned in train mode; call ``.eval()`` before inference. ``model.pretrained_cfg.weights``
    says where its weights came from ("random init" unless weights were loaded).
    """
    if isinstance(name, str) and name.startswith(HF_HUB_PREFIX):  # a Hugging Face Hub repository (timm's prefix)
        return _create_from_hf_hub(name, pretrained, num_classes=num_classes, features_only=features_only,
                                  out_indices=out_indices, checkpoint_path=checkpoint_path, cache_dir=cache_dir,
                                  in_chans=in_chans, global_pool=global_pool, output_stride=output_stride,
                                  drop_rate=drop_rate, drop_path_rate=drop_path_rate, **overrides)
    if feature_cls not in (None, "getter"):
        raise InvalidInputError(f"feature_cls={feature_cls!r}: features_only taps the network one way here, 'getter'")
    del scriptable, exportable, no_jit  # accepted for timm's callers: nothing to switch
    overlay = dict(pretrained_cfg_overlay or {})
    local_file = overlay.pop("file", None)
    if local_file is not None and checkpoint_path is None and pretrained:
        checkpoint_path, pretrained = local_file, False  # timm's overlay file: these weights instead of the tag's
    if cache_dir is not None:
        from .weights.hub import using_cache_dir

        with using_cache_dir(cache_dir):
            return create_model(name, pretrained, num_classes, features_only, out_indices, checkpoint_path, in_chans,
                                global_pool, pretrained_cfg_overlay=overlay or None, output_stride=output_stride,
                                drop_rate=drop_rate, drop_path_rate=drop_path_rate, **overrides)
    if num_classes is not None:
        check_num_classes(num_classes)
    if in_chans is not None:
        check_count(in_chans, "in_chans", 1, MAX_CHANNELS)
        overrides["in_chans"] = in_chans
    if isinstance(name, (str, os.PathLike)) and os.fspath(name).endswith(DEFINITION_SUFFIXES):
        from .models.definition_files import build_from_definition_file

        model = build_from_definition_file(os.fspath(name), num_classes=num_classes, **overrides)
        _set_training_switches(model, output_stride, drop_rate, drop_path_rate)
        return _finish(model, checkpoint_path, features_only, out_indices, global_pool)

    entry, tag = resolve(name)
    if pretrained and tag is None:
        tag = entry.default_tag
        if tag is None:
            raise MobileZooError(
                f"no pretrained weights are registered for '{entry.name}'; "
                "use pretrained=False or pass checkpoint_path=<your file>"
            )
    cfg = get_pretrained_cfg(f"{entry.name}.{tag}" if tag else entry.name)
    if overlay:  # known fields replaced, any other key kept in the cfg's extras (as timm keeps them)
        import dataclasses

        known = {f.name for f in dataclasses.fields(cfg)} | {"crop_pct"}
        cfg = cfg.replace(**{k: v for k, v in overlay.items() if k in known})
        cfg.extra.update({k: v for k, v in overlay.items() if k not in known})
    if pretrained:  # the weights fix some builder options (e.g. the RandWire graph seed)
        overrides = {**entry.weights[tag].model_kwargs, **overrides}
    build_classes = cfg.num_classes if pretrained else (num_classes if num_classes is not None else cfg.num_classes)
    model = _call_builder(entry.builder, entry.name, num_classes=build_classes, **overrides)
    model.model_args = dict(overrides)  # the builder options, so the model can be rebuilt (a hub config.json)
    _set_training_switches(model, output_stride, drop_rate, drop_path_rate)
    model.pretrained_cfg = cfg.replace(num_classes=build_classes)
    if pretrained:
        from .weights.hub import load_pretrained

        load_pretrained(model, entry, tag)
        if num_classes is not None and num_classes != build_classes:
            model.reset_classifier(num_classes)
            model.pretrained_cfg.num_classes = num_classes
            model.pretrained_cfg.class_names = None
    return _finish(model, checkpoint_path, features_only, out_indices, global_pool)


def _create_from_hf_hub(name: str, pretrained: bool = True, *, num_classes: int | None = None,
                       features_only: bool = False, out_indices: Any = None,
                       checkpoint_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                       **kwargs: Any) -> nn.Module:
    """``create_model("hf-hub:owner/name")``: the repository's architecture, options and preprocessing, with its
    weights loaded strictly when ``pretrained`` (timm's rule: without it, the config only).

    ``num_classes`` other than the repository's replaces the classifier after loading, as timm does.
    """
    from .weights.hf_hub import WEIGHTS_NAME, fetch_hub_model

    hub = fetch_hub_model(name, cache_dir, weights=pretrained and checkpoint_path is None)
    weights = checkpoint_path or hub.weights_file
    given = {k: v for k, v in kwargs.items() if v is not None}  # the caller's options win over the repository's
    model = create_model(hub.architecture, num_classes=hub.num_classes, checkpoint_path=weights,
                         **{**hub.model_args, **given})
    cfg = model.pretrained_cfg
    for key, value in hub.pretrained_cfg.items():
        cfg[key] = value
    if checkpoint_path is None and hub.weights_file is not None:
        cfg.weights = WeightsSource.hf_hub(hub.name, WEIGHTS_NAME, sha256_of(hub.weights_file))
    if num_classes is not None and num_classes != hub.num_classes:
        model.reset_classifier(num_classes)
        cfg.num_classes, cfg.class_names = num_classes, None
    if features_only:
        return FeatureListNet(model, out_indices)
    if out_indices is not None:
        raise InvalidInputError("out_indices only applies with features_only=True")
    return model


def _set_training_switches(model: nn.Module, output_stride: int | None, drop_rate: float | None,
                           drop_path_rate: float | None) -> None:
    """timm's build-time switches, set on the built model (none changes a parameter, so weights still load)."""
    if output_stride is not None:
        model.set_output_stride(output_stride)
    if drop_rate is not None:
        model.set_drop_rate(drop_rate)
    if drop_path_rate is not None:
        model.set_drop_path_rate(drop_path_rate)


def _call_builder(builder: Any, name: str, **kwargs: Any) -> nn.Module:
    accepted = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [k for k in kwargs if k not in accepted and not takes_any]
    if unknown:
        options = ", ".join(k for k in accepted if k not in ("num_classes",)) or "none"
        raise InvalidInputError(f"'{name}' has no option '{unknown[0]}'; its options are: {options}")
    return builder(**kwargs)


def _describe_model(model: nn.Module) -> None:
    """Fill the cfg fields that follow from the built model: first conv, classifier, input channels, pool size."""
    cfg = model.pretrained_cfg
    fixed = getattr(model, "fixed_input_size", None)  # a network that takes one input size only (an MLP)
    if fixed is not None and tuple(cfg.input_size[1:]) != tuple(fixed):
        cfg = model.pretrained_cfg = cfg.for_input_size((cfg.input_size[0], *fixed))
    if fixed is not None:
        cfg.fixed_input_size = True
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    first = next((n for n, m in model.named_modules() if isinstance(m, convs)), None)
    # a network without convolutions (an MLP) starts with a linear layer: timm names that one
    cfg.first_conv = first or next((n for n, m in model.named_modules() if isinstance(m, nn.Linear)), None)
    cfg.classifier = getattr(model, "classifier_name", None)
    in_chans = getattr(model, "in_chans", cfg.input_size[0])
    if in_chans != cfg.input_size[0]:
        adapt_cfg_channels(cfg, in_chans)
    if isinstance(model, ZooModel) and len(cfg.input_size) == 3:  # timm's pool_size: the map at the native size
        cfg.pool_size = model.feature_map_size(cfg.input_size[1:])


def _finish(
    model: nn.Module,
    checkpoint_path: str | os.PathLike | None,
    features_only: bool,
    out_indices: Sequence[int] | None,
    global_pool: str | None = None,
) -> nn.Module:
    _describe_model(model)
    if checkpoint_path is not None:
        load_state_dict_strict(model, checkpoint_path)
        model.pretrained_cfg.weights = WeightsSource.checkpoint(os.fspath(checkpoint_path), sha256_of(checkpoint_path))
    if global_pool is not None:
        model.set_global_pool(global_pool)
    if features_only:
        return FeatureListNet(model, out_indices)
    if out_indices is not None:
        raise InvalidInputError("out_indices only applies with features_only=True")
    return model
