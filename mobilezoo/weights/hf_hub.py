"""The Hugging Face Hub: share a zoo model the way timm does, and load one by ``hf-hub:owner/name[@revision]``.

A shared model is a folder of two files, timm's layout:
- ``model.safetensors``: the state dict (metadata ``format: pt``);
- ``config.json``: ``architecture``, ``num_classes``, ``num_features``, ``global_pool``, ``model_args`` (the builder
  options the model was made with), ``pretrained_cfg`` (timm's fields only, so ``timm.create_model`` reads it
  where timm has the architecture, e.g. ``resnext50_32x4d``), ``label_names``, and a ``mobilezoo`` entry with the
  preprocessing fields timm has no key for (resize, antialias, dataset, ...).

Downloads go through ``huggingface_hub`` (``pip install mobilezoo[hub]``) and its cache; ``HF_HUB_OFFLINE=1`` or
``MOBILEZOO_OFFLINE=1`` reads that cache only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, InvalidInputError, MobileZooError
from ..fileio import atomic_path, write_json_atomic
from .loading import _first_line

HF_HUB_PREFIX = "hf-hub:"
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
#: timm's PretrainedCfg fields the zoo's cfg also has: the only ones timm accepts in ``pretrained_cfg``
TIMM_CFG_FIELDS = ("architecture", "tag", "input_size", "fixed_input_size", "interpolation", "crop_pct", "crop_mode",
                   "mean", "std", "num_classes", "pool_size", "first_conv", "classifier", "license")
#: the zoo's preprocessing and provenance fields beyond timm's
ZOO_CFG_FIELDS = ("resize", "resize_mode", "antialias", "input_adaptation", "min_temporal_size", "dataset", "family",
                  "paper", "weights")


@dataclasses.dataclass(frozen=True)
class HubModel:
    """What a hub repository's ``config.json`` says to build, and the weights file beside it."""

    repo_id: str
    revision: str | None
    architecture: str
    num_classes: int
    model_args: dict[str, Any]
    pretrained_cfg: dict[str, Any]
    weights_file: Path | None = None  # None: the config only (pretrained=False)

    @property
    def name(self) -> str:
        return f"{HF_HUB_PREFIX}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


# --- writing --------------------------------------------------------------------------------------------


def hub_config(model: nn.Module) -> dict[str, Any]:
    """timm's ``config.json`` for ``model`` (see the module docstring)."""
    from ..registry import is_model

    cfg = getattr(model, "pretrained_cfg", None)
    if cfg is None or cfg.definition_file or not is_model(cfg.architecture):
        raise InvalidInputError("only models made by mobilezoo.create_model from a registered name can be shared "
                                "(a hub config names its architecture); register the definition file first "
                                "(mobilezoo/models/searched/) and create the model by that name")
    fields = cfg.to_dict()
    pretrained = {k: _jsonable(fields[k], k) for k in TIMM_CFG_FIELDS if fields.get(k) is not None}
    pretrained["num_classes"] = model.num_classes
    config: dict[str, Any] = {
        "architecture": cfg.architecture,
        "num_classes": model.num_classes,
        "num_features": model.num_features,
        "pretrained_cfg": pretrained,
        "model_args": _jsonable(getattr(model, "model_args", {}), "model_args"),
        "mobilezoo": {k: _jsonable(fields[k], k) for k in ZOO_CFG_FIELDS if fields.get(k) not in (None, "")},
    }
    if model.global_pool:
        config["global_pool"] = model.global_pool
    if cfg.class_names and len(cfg.class_names) == model.num_classes:
        config["label_names"] = list(cfg.class_names)
    return config


def save_for_hf_hub(model: nn.Module, folder: str | os.PathLike, repo_id: str | None = None) -> Path:
    """Write ``model.safetensors``, ``config.json`` and a model card (``README.md``, naming ``repo_id`` in its
    example) into ``folder`` (created if needed); returns the folder."""
    from safetensors.torch import save_file

    from ..version import __version__

    folder = Path(folder)
    config = hub_config(model)  # checks the model before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS_NAME) as scratch:
        save_file(state, str(scratch), metadata={"format": "pt", "mobilezoo_version": __version__})
    write_json_atomic(folder / CONFIG_NAME, config)
    with atomic_path(folder / "README.md") as scratch:
        scratch.write_text(model_card(config, repo_id or "OWNER/NAME"))
    return folder


def model_card(config: dict[str, Any], repo_id: str) -> str:
    """A short Hub model card: what the model is, its data and preprocessing, and how to load it."""
    zoo, cfg = config["mobilezoo"], config["pretrained_cfg"]
    lines = ["---", "library_name: mobilezoo", "tags:", "- image-classification", "- mobilezoo", "---", "",
             f"# {config['architecture']}", "",
             f"A mobilezoo `{config['architecture']}` ({zoo.get('family', 'zoo')} family), {config['num_classes']} classes"
             + (f", trained on {zoo['dataset']}." if zoo.get("dataset") else "."), ""]
    if zoo.get("weights"):
        lines += [f"Weights: {zoo['weights']}.", ""]
    lines += [f"Input {tuple(cfg['input_size'])}, mean {tuple(cfg['mean'])}, std {tuple(cfg['std'])}"
              + (f"; {zoo['input_adaptation']}" if zoo.get("input_adaptation") else "") + ".", "",
              "```python", "import mobilezoo", f"model = mobilezoo.create_model('hf-hub:{repo_id}', pretrained=True).eval()",
              "```", ""]
    return "\n".join(lines)


def push_to_hf_hub(
    model: nn.Module,
    repo_id: str,
    *,
    commit_message: str = "Add model",
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> Any:
    """Upload ``model`` to the Hugging Face Hub repository ``repo_id`` (created if missing), as timm's
    ``push_to_hf_hub`` does; returns huggingface_hub's commit info. Needs a token with write access."""
    _check_repo_id(repo_id)
    HfApi = _hf().HfApi
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="mobilezoo-hf-") as folder:
        save_for_hf_hub(model, folder, repo_id)
        api.create_repo(repo_id, private=private, exist_ok=True)
        return api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message,
                                 revision=revision, create_pr=create_pr)


# --- reading --------------------------------------------------------------------------------------------


def split_hub_name(name: str) -> tuple[str, str | None]:
    """``hf-hub:owner/name@revision`` -> (``owner/name``, ``revision`` or None)."""
    repo = name[len(HF_HUB_PREFIX):] if name.startswith(HF_HUB_PREFIX) else name
    repo_id, _, revision = repo.partition("@")
    _check_repo_id(repo_id)
    return repo_id, revision or None


def fetch_hub_model(name: str, cache_dir: str | os.PathLike | None = None, weights: bool = True) -> HubModel:
    """Download (or read from the cache) a repository's ``config.json`` (and its weights unless ``weights=False``),
    and check the config."""
    repo_id, revision = split_hub_name(name)
    config_path = _download(repo_id, CONFIG_NAME, revision, cache_dir)
    try:
        config = json.loads(Path(config_path).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{name}: {CONFIG_NAME} is not valid JSON ({exc}); fix or re-upload it") from None
    hub = _parse_config(config, repo_id, revision)
    if weights:
        hub = dataclasses.replace(hub, weights_file=Path(_download(repo_id, WEIGHTS_NAME, revision, cache_dir)))
    return hub


def _parse_config(config: Any, repo_id: str, revision: str | None) -> HubModel:
    from ..registry import is_model

    where = f"hf-hub:{repo_id}"
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise CheckpointError(f"{where}: {CONFIG_NAME} has no 'architecture'; it is not a timm/mobilezoo model config")
    architecture = config["architecture"]
    if not is_model(architecture):
        raise MobileZooError(f"{where} holds a '{architecture}', which mobilezoo does not have; "
                             f"load it with timm.create_model('hf-hub:{repo_id}')")
    pretrained = dict(config.get("pretrained_cfg") or {})
    pretrained.update((config.get("mobilezoo") or {}))
    num_classes = config.get("num_classes", pretrained.get("num_classes"))
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise CheckpointError(f"{where}: {CONFIG_NAME} has num_classes={num_classes!r}; expected a whole number >= 0")
    if config.get("label_names"):
        pretrained["class_names"] = tuple(config["label_names"])
    for key in ("architecture", "tag", "num_classes", "pool_size", "first_conv", "classifier", "weights"):
        pretrained.pop(key, None)  # these follow from the built model, not from the file
    model_args = config.get("model_args") or {}
    if not isinstance(model_args, dict):
        raise CheckpointError(f"{where}: model_args in {CONFIG_NAME} must be a mapping")
    return HubModel(repo_id, revision, architecture, num_classes, model_args, pretrained)


def _download(repo_id: str, filename: str, revision: str | None, cache_dir: str | os.PathLike | None) -> str:
    from .hub import offline

    hf = _hf()
    no_downloads = offline() or bool(hf.constants.HF_HUB_OFFLINE)
    try:
        return hf.hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir,
                                  local_files_only=no_downloads, library_name="mobilezoo")
    except Exception as exc:  # huggingface_hub raises a family of errors: name the repo, the file and the fix
        hint = ("it is not in the Hugging Face cache and downloads are off (HF_HUB_OFFLINE / MOBILEZOO_OFFLINE): "
                "unset them or copy the repository into the cache" if no_downloads else _first_line(exc))
        raise MobileZooError(f"hf-hub:{repo_id}: cannot get {filename}: {hint}") from None


def _hf() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise MobileZooError("the Hugging Face Hub needs huggingface_hub: pip install 'mobilezoo[hub]'") from None
    return huggingface_hub


def _check_repo_id(repo_id: str) -> None:
    owner, _, name = repo_id.partition("/")
    if not owner or not name or "/" in name or any(c.isspace() for c in repo_id):
        raise InvalidInputError(f"'{repo_id}' is not a Hugging Face repository id; write it as 'owner/name'")


def _jsonable(value: Any, key: str) -> Any:
    """A JSON value for ``value`` (genotypes and graphs by their ``to_dict``); an error names what cannot be."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, key) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    raise InvalidInputError(f"'{key}' holds a {type(value).__name__}, which config.json cannot store; "
                            "build the model from plain options (numbers, strings, lists, dicts)")
