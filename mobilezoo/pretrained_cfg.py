"""The pretrained cfg: what a model takes as input and where its weights come from, in one typed place.

It follows timm's ``pretrained_cfg`` vocabulary, and reads like timm's dict (``cfg["input_size"]``,
``cfg.get("mean")``, ``"pool_size" in cfg``), so code written for timm works unchanged; ``to_dict()`` gives
the JSON form written into manifests, release records and ``mobilezoo info --json``.

``crop_pct`` is derived from ``input_size`` and ``resize`` (it is not stored), so the two can never disagree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_WEIGHTS = "random init"


class WeightsSource(str):
    """Where a model's weights came from, in one type.

    It is the text records have always carried (``"fbnetv2_f1.fmnist (file, sha256 ...)"``), so manifests, release
    records and JSON stay as they were, and it says what it is: ``kind`` (``random``, ``tag``, ``checkpoint``,
    ``hf-hub``, ``training-run``, ``synthetic``), ``label`` (the ``name.tag``, file, repository or run) and
    ``sha256`` (a prefix, where a file was hashed). Build it with the class methods; :meth:`of` reads a text back
    from a record (the one place that knows the text forms).
    """

    kind: str
    label: str
    sha256: str | None

    def __new__(cls, text: str, kind: str, label: str = "", sha256: str | None = None) -> "WeightsSource":
        source = super().__new__(cls, text)
        source.kind, source.label, source.sha256 = kind, label, sha256
        return source

    def __reduce__(self) -> tuple:  # copies and pickles keep the kind
        return (WeightsSource, (str(self), self.kind, self.label, self.sha256))

    @classmethod
    def random(cls, seed: int | None = None) -> "WeightsSource":
        return cls(RANDOM_WEIGHTS if seed is None else f"{RANDOM_WEIGHTS}, seed {seed}", "random")

    @classmethod
    def tagged(cls, name_tag: str, file_name: str, sha256: str) -> "WeightsSource":
        return cls(f"{name_tag} ({file_name}, sha256 {sha256[:16]})", "tag", name_tag, sha256[:16])

    @classmethod
    def checkpoint(cls, path: str, sha256: str) -> "WeightsSource":
        return cls(f"checkpoint {path} (sha256 {sha256[:16]})", "checkpoint", path, sha256[:16])

    @classmethod
    def hf_hub(cls, hub_name: str, file_name: str, sha256: str) -> "WeightsSource":
        return cls(f"{hub_name} ({file_name}, sha256 {sha256[:16]})", "hf-hub", hub_name, sha256[:16])

    @classmethod
    def training_run(cls, checkpoint: str, epoch: Any) -> "WeightsSource":
        return cls(f"{checkpoint} (epoch {epoch})", "training-run", checkpoint)

    @classmethod
    def synthetic(cls, seed: int) -> "WeightsSource":
        return cls(f"synthetic, seed {seed}", "synthetic", str(seed))

    @classmethod
    def of(cls, value: Any) -> "WeightsSource":
        """``value`` as a WeightsSource: itself, or the text of a record read back."""
        if isinstance(value, WeightsSource):
            return value
        text = str(value)
        label, _, rest = text.partition(" (")
        sha = rest.rpartition("sha256 ")[2].rstrip(")") if "sha256 " in rest else None
        if text.startswith(RANDOM_WEIGHTS):
            return cls(text, "random")
        if text.startswith("synthetic"):
            return cls(text, "synthetic", text.rpartition(" ")[2])
        if text.startswith("checkpoint "):
            return cls(text, "checkpoint", label[len("checkpoint "):], sha)
        if text.startswith("hf-hub:"):
            return cls(text, "hf-hub", label, sha)
        if rest.startswith("epoch "):
            return cls(text, "training-run", label)
        return cls(text, "tag", label, sha)

    @property
    def is_random(self) -> bool:
        return self.kind == "random"

#: the keys that say how an input is preprocessed (exported into manifests and release records)
PREPROCESSING_KEYS = ("input_size", "resize", "crop_pct", "crop_mode", "resize_mode", "interpolation", "antialias",
                      "mean", "std", "input_adaptation")


@dataclass
class PretrainedCfg:
    """A model's pretrained cfg (timm's keys; typed)."""

    #: registered architecture name, the weight tag (None: no weights named) and family
    architecture: str = ""
    tag: str | None = None
    family: str = ""
    paper: str = ""
    #: per-sample input shape: (C, H, W), or (C, T, H, W) for video
    input_size: tuple[int, ...] = (3, 224, 224)
    #: the short side (``resize_mode="shorter_side"``, torchvision's ImageClassification) or both sides
    #: (``"square"``, its VideoClassification) before the center crop to ``input_size``
    resize: int = 256
    resize_mode: str = "shorter_side"
    crop_mode: str = "center"
    interpolation: str = "bilinear"
    antialias: bool = True
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    #: how raw data becomes the input (e.g. grey Fashion-MNIST replicated to 3 channels); free text
    input_adaptation: str = ""
    num_classes: int = 1000
    class_names: tuple[str, ...] | None = None
    #: spatial size of ``forward_features`` at ``input_size`` (timm); set by ``create_model``
    pool_size: tuple[int, ...] | None = None
    #: module names of the first conv (its weight is adapted for ``in_chans != 3``) and the classifier
    first_conv: str | None = None
    classifier: str | None = None
    #: video models: the shortest clip they run on; whether other input sizes work
    min_temporal_size: int | None = None
    fixed_input_size: bool = False
    #: the data set the weights were trained on, and where they come from
    dataset: str = ""
    weights: WeightsSource = field(default_factory=WeightsSource.random)  # reads as "random init", "<name.tag> (...)"
    url: str | None = None
    file: str | None = None
    sha256: str | None = None
    license: str = ""
    #: a model built from a definition file records its path
    definition_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # anything a family needs beyond these keys

    # --- derived -----------------------------------------------------------------------------------

    @property
    def crop_pct(self) -> float:
        """``input_size / resize``: the share of the resized image the center crop keeps."""
        return round(self.input_size[-1] / self.resize, 4)

    @classmethod
    def build(cls, input_size: int | Sequence[int] = 224, resize: int | None = None,
              crop_pct: float | None = None, **fields: Any) -> "PretrainedCfg":
        """A cfg from timm-style arguments: ``input_size`` an int (square, 3 channels) or a shape; the resize
        from ``resize``, else from ``crop_pct``, else 224/256's ratio (0.875)."""
        shape = (3, input_size, input_size) if isinstance(input_size, int) else tuple(int(s) for s in input_size)
        if resize is None:
            resize = round(shape[-1] / (crop_pct or 0.875))
        for key in ("mean", "std", "class_names"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        if isinstance(fields.get("pool_size"), list):
            fields["pool_size"] = tuple(fields["pool_size"])
        return cls(input_size=shape, resize=int(resize), **fields)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "weights":  # a record's text or a source: always held as a WeightsSource
            value = WeightsSource.of(value)
        object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PretrainedCfg":
        """Inverse of :meth:`to_dict` (JSON lists become tuples; ``crop_pct`` is recomputed, not read)."""
        known = {f.name for f in dataclasses.fields(cls)}
        data = dict(data)
        crop_pct = data.pop("crop_pct", None)
        extra = {k: data.pop(k) for k in list(data) if k not in known}
        fields = {k: v for k, v in data.items() if k != "input_size"}
        fields["extra"] = {**fields.get("extra", {}), **extra}
        return cls.build(data.get("input_size", 224), crop_pct=crop_pct, **fields)

    def replace(self, **changes: Any) -> "PretrainedCfg":
        """A copy with ``changes`` (timm-style keys; ``crop_pct`` sets ``resize``)."""
        crop_pct = changes.pop("crop_pct", None)
        if "input_size" in changes:
            changes["input_size"] = tuple(changes["input_size"])
        for key in ("mean", "std", "class_names"):
            if changes.get(key) is not None:
                changes[key] = tuple(changes[key])
        copy = dataclasses.replace(self, extra=dict(self.extra), **changes)
        if crop_pct is not None:
            copy.resize = int(round(copy.input_size[-1] / crop_pct))
        return copy

    def for_input_size(self, shape: Sequence[int]) -> "PretrainedCfg":
        """The cfg for another input shape, keeping the crop ratio (and so the preprocessing's intent)."""
        shape = tuple(int(s) for s in shape)
        if shape == self.input_size:
            return self.replace()
        return self.replace(input_size=shape, resize=int(round(shape[-1] / self.crop_pct)))

    def preprocessing(self) -> dict[str, Any]:
        return {k: self[k] for k in PREPROCESSING_KEYS}

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict (``crop_pct`` included, ``extra`` merged in), ready for ``json.dumps``."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        data["crop_pct"] = self.crop_pct
        data.update(self.extra)
        return data

    # --- timm's dict reading ------------------------------------------------------------------------

    def _has(self, key: str) -> bool:
        return key == "crop_pct" or key in self.extra or key in {f.name for f in dataclasses.fields(self)}

    def __getitem__(self, key: str) -> Any:
        if key in self.extra:
            return self.extra[key]
        if not self._has(key) or key == "extra":
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "crop_pct":
            self.resize = int(round(self.input_size[-1] / value))
        elif key in {f.name for f in dataclasses.fields(self)} and key != "extra":
            setattr(self, key, tuple(value) if isinstance(value, list) and key not in ("extra",) else value)
        else:
            self.extra[key] = value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._has(key) and key != "extra"

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return default if value is None else value

    def keys(self) -> list[str]:
        return list(self.to_dict())

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter((k, self[k]) for k in self.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


def adapt_cfg_channels(cfg: PretrainedCfg, in_chans: int) -> None:
    """Make ``cfg`` describe a model whose stem takes ``in_chans`` channels (timm's ``in_chans``).

    One channel gets the mean of the RGB statistics (a grey image normalised as its replicated RGB
    would be, channel by channel); other counts cycle through them.
    """
    old = cfg.input_size[0]
    if in_chans == old:
        return
    cfg.input_size = (in_chans, *cfg.input_size[1:])
    if in_chans == 1:
        cfg.mean, cfg.std = (sum(cfg.mean) / len(cfg.mean),), (sum(cfg.std) / len(cfg.std),)
    else:
        cfg.mean = tuple(cfg.mean[i % len(cfg.mean)] for i in range(in_chans))
        cfg.std = tuple(cfg.std[i % len(cfg.std)] for i in range(in_chans))
    note = f"stem adapted from {old} to {in_chans} input channel(s)"
    cfg.input_adaptation = f"{cfg.input_adaptation}; {note}" if cfg.input_adaptation else note
