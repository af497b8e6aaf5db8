"""Model registry: names, aliases, pretrained cfgs and weight entries (timm/torchvision conventions).

Names are lower-case ``family_variant`` (``fbnetv2_f1``, ``resnext50_32x4d``); a weight adds a tag
(``resnext50_32x4d.tv_in1k``); upstream spellings (``FBNetV2_F1``, ``dmasking_f1``) are aliases.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from torch import nn

from .errors import InvalidInputError, UnknownModelError
from .pretrained_cfg import IMAGENET_MEAN, IMAGENET_STD, PretrainedCfg


@dataclass(frozen=True)
class WeightEntry:
    """One set of weights for an architecture (torchvision ``Weights`` + timm pretrained cfg)."""

    tag: str
    url: str | None = None  # public download address (never fetched in tests)
    file: str | None = None  # file packaged with mobilezoo, relative to mobilezoo/weights/files
    sha256: str | None = None
    dataset: str = "ImageNet-1k"
    num_classes: int = 1000
    class_names: tuple[str, ...] | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. {"top1": 68.28, "top5": 87.83}
    source: str = ""  # where the weights come from (mobile-vision, torchvision, trained here)
    license: str = ""
    recipe: str = ""
    cfg: dict[str, Any] = field(default_factory=dict)  # PretrainedCfg fields these weights change (e.g. input_size)
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # builder options the weights need (RandWire seed)
    size_bytes: int | None = None
    notes: str = ""


@dataclass
class ModelEntry:
    """A registered architecture: its builder, default cfg, published figures and weights."""

    name: str
    builder: Callable[..., nn.Module]
    family: str
    cfg: PretrainedCfg
    published: dict[str, Any] = field(default_factory=dict)
    paper: str = ""
    aliases: tuple[str, ...] = ()
    weights: dict[str, WeightEntry] = field(default_factory=dict)
    description: str = ""

    @property
    def default_tag(self) -> str | None:
        return next(iter(self.weights), None)


_MODELS: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}  # lower-cased alias -> canonical name


def default_cfg(
    input_size: int | tuple[int, ...] = 224,
    resize: int | None = None,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
    interpolation: str = "bilinear",
    num_classes: int = 1000,
    **extra: Any,
) -> PretrainedCfg:
    """A :class:`PretrainedCfg` from timm-style arguments: ``input_size`` is (C, H, W), (C, T, H, W) or a side."""
    return PretrainedCfg.build(input_size, resize=resize, mean=mean, std=std, interpolation=interpolation,
                               num_classes=num_classes, **extra)


def register_weights(name: str, weight: WeightEntry) -> None:
    """Attach a weight entry to a registered architecture (used for packaged and trained weights)."""
    entry = _MODELS[_ALIASES[name.lower()]]
    entry.weights[weight.tag] = weight


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add an architecture to the registry; names and aliases must be unique."""
    for key in (entry.name, *entry.aliases):
        lowered = key.lower()
        owner = _ALIASES.get(lowered)
        if owner is not None and owner != entry.name:
            raise ValueError(f"model name '{key}' is already registered for '{owner}'")
        _ALIASES[lowered] = entry.name
    _MODELS[entry.name] = entry
    return entry


def _all_spellings() -> list[str]:
    names = list(_MODELS)
    for entry in _MODELS.values():
        names.extend(f"{entry.name}.{tag}" for tag in entry.weights)
    names.extend(alias for entry in _MODELS.values() for alias in entry.aliases)
    return names


def split_name(name: str) -> tuple[str, str | None]:
    """Split ``arch.tag`` into (arch, tag); the tag is None when absent."""
    arch, _, tag = name.partition(".")
    return arch, (tag or None)


def names_weights(name: str) -> bool:
    """True when ``name`` is ``arch.tag`` (it names weights), not a bare architecture or a definition file."""
    return isinstance(name, str) and not name.endswith((".yaml", ".yml", ".json")) and split_name(name)[1] is not None


def resolve(name: str) -> tuple[ModelEntry, str | None]:
    """Find the entry (and weight tag) for a name, alias or ``name.tag``; unknown names list the closest."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError("model name must be a non-empty string; run `mobilezoo list` to see the names")
    arch, tag = split_name(name.strip())
    canonical = _ALIASES.get(arch.lower())
    if canonical is None:
        close = difflib.get_close_matches(name.lower(), [n.lower() for n in _all_spellings()], n=5, cutoff=0.5)
        hint = f"closest: {', '.join(close)}" if close else "run `mobilezoo list` to see all names"
        raise UnknownModelError(f"unknown model '{name}'; {hint}")
    entry = _MODELS[canonical]
    if tag is not None and tag not in entry.weights:
        known = ", ".join(f"{entry.name}.{t}" for t in entry.weights) or "none yet"
        raise UnknownModelError(f"model '{entry.name}' has no weights tagged '{tag}'; available: {known}")
    return entry, tag


def is_model(name: str) -> bool:
    """True when ``name`` (or ``name.tag``) is registered."""
    try:
        resolve(name)
    except UnknownModelError:
        return False
    return True


def list_models(
    pattern: str | Iterable[str] = "*", pretrained: bool = False, exclude: str | Iterable[str] = (), *,
    filter: str | Iterable[str] = "", module: str | Iterable[str] = "", exclude_filters: str | Iterable[str] = (),
    name_matches_cfg: bool = False, include_tags: bool | None = None,
) -> list[str]:
    """Sorted registered names matching fnmatch ``pattern`` (a string or list, case-insensitive).

    A pattern matches a model through its name or any alias (``'mobilenet*'`` finds ``mnv3``); the result
    holds canonical names. With ``pretrained=True`` it lists ``name.tag`` for every weight entry instead.
    timm's keywords work too: ``filter`` (= ``pattern``), ``exclude_filters`` (= ``exclude``), ``module`` (a family,
    e.g. ``'fbnet'``, or its module ``'mobilezoo.models.fbnet'``), ``include_tags`` (``name.tag`` per weight, names
    without weights as they are; default: ``pretrained``) and ``name_matches_cfg`` (every zoo name has its own cfg).
    """
    if filter:
        pattern = filter
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    patterns = [p or "*" for p in patterns] or ["*"]  # timm's list_models('') lists everything
    excludes = [exclude] if isinstance(exclude, str) else list(exclude)
    excludes += [exclude_filters] if isinstance(exclude_filters, str) else list(exclude_filters)
    modules = {m.lower().rsplit(".", 1)[-1] for m in ([module] if isinstance(module, str) else module) if m}
    tags = pretrained if include_tags is None else include_tags

    def matches(names: Iterable[str], globs: list[str]) -> bool:
        return any(fnmatch.fnmatch(n.lower(), g.lower()) for n in names for g in globs)

    found = []
    for entry in _MODELS.values():
        if modules and entry.family.lower() not in modules and _module_of(entry) not in modules:
            continue
        spellings = [entry.name, *entry.aliases]
        if tags and (entry.weights or pretrained):
            for tag in entry.weights:
                tagged = [f"{s}.{tag}" for s in spellings]
                if matches(tagged, patterns) and not matches(tagged, excludes):
                    found.append(f"{entry.name}.{tag}")
        elif not pretrained and matches(spellings, patterns) and not matches(spellings, excludes):
            found.append(entry.name)
    return sorted(found)


def _module_of(entry: ModelEntry) -> str:
    """The last part of the builder's module name (``fbnet`` for mobilezoo.models.fbnet)."""
    return str(getattr(entry.builder, "__module__", "")).rsplit(".", 1)[-1].lower()


def list_pretrained(pattern: str | Iterable[str] = "*") -> list[str]:
    """``name.tag`` of every weight entry matching ``pattern``."""
    return list_models(pattern, pretrained=True)


def get_model_entry(name: str) -> ModelEntry:
    return resolve(name)[0]


def get_pretrained_cfg(name: str) -> PretrainedCfg:
    """The cfg of ``name`` (its tag's weights and preprocessing when a tag is given or implied by none).

    ``weights`` says "random init": :func:`mobilezoo.create_model` replaces it with the weights it loads.
    """
    entry, tag = resolve(name)
    cfg = entry.cfg.replace(architecture=entry.name, tag=tag, family=entry.family, paper=entry.paper)
    weight = entry.weights.get(tag) if tag else None
    if weight is not None:
        cfg = cfg.replace(**copy.deepcopy(weight.cfg))
        cfg = cfg.replace(num_classes=weight.num_classes, dataset=weight.dataset, class_names=weight.class_names,
                          url=weight.url, file=weight.file, sha256=weight.sha256, license=weight.license)
    return cfg


def get_model_info(name: str) -> dict[str, Any]:
    """Everything known about a model: pretrained cfg, published figures, aliases and weight entries."""
    entry, _ = resolve(name)
    info = get_pretrained_cfg(name).to_dict()
    info["published"] = copy.deepcopy(entry.published)
    info["aliases"] = list(entry.aliases)
    info["description"] = entry.description
    info["weights"] = {tag: asdict(w) for tag, w in entry.weights.items()}
    return info


def check_num_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise InvalidInputError(f"num_classes must be a whole number >= 0, got {num_classes!r}")
    return num_classes


def model_entries() -> list[ModelEntry]:
    """All registered entries, sorted by name."""
    return [_MODELS[n] for n in sorted(_MODELS)]
