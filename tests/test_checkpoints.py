"""Checkpoint reading: containers, prefixes, mismatches named, corrupt and hostile files refused."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

import mobilezoo
from mobilezoo.errors import CheckpointError
from mobilezoo.weights import extract_state_dict, load_state_dict_strict, read_checkpoint


def small_model():
    return mobilezoo.create_model("resnext50_32x4d", num_classes=3)


def test_containers_and_prefixes_are_unwrapped():
    state = {"a": torch.zeros(1)}
    assert extract_state_dict({"model_ema": {"module.a": torch.zeros(1)}, "state_dict": {}}) == state
    assert extract_state_dict({"state_dict": {"module.a": torch.zeros(1)}}).keys() == state.keys()
    assert extract_state_dict({"model_ema": None, "state_dict": {"a": torch.zeros(1)}}).keys() == state.keys()


def test_shape_mismatch_names_the_tensor(tmp_path):
    state = small_model().state_dict()
    state["fc.weight"] = torch.zeros(5, 2048)
    with pytest.raises(CheckpointError, match=r"'fc.weight' has shape \(5, 2048\).*expects \(3, 2048\)"):
        load_state_dict_strict(small_model(), state)


def test_missing_and_unexpected_tensors_are_named():
    state = small_model().state_dict()
    del state["layer1.0.conv1.weight"]
    with pytest.raises(CheckpointError, match="lacks tensor 'layer1.0.conv1.weight'"):
        load_state_dict_strict(small_model(), state)
    state = small_model().state_dict()
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="has tensor 'extra.weight'"):
        load_state_dict_strict(small_model(), state)


def test_nan_weights_are_refused():
    state = small_model().state_dict()
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="'conv1.weight' contains NaN"):
        load_state_dict_strict(small_model(), state)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(small_model().state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="corrupt, truncated or not a checkpoint"):
        read_checkpoint(path)


class _Hostile:
    def __reduce__(self):
        return (os.system, ("touch /tmp/mobilezoo_pwned_marker",))


def test_hostile_pickle_is_refused_without_running_code(tmp_path):
    marker = "/tmp/mobilezoo_pwned_marker"
    if os.path.exists(marker):
        os.remove(marker)
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": _Hostile()}}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="pickled code"):
        read_checkpoint(path)
    assert not os.path.exists(marker)


def test_safetensors_round_trip(tmp_path):
    from safetensors.torch import save_file

    model = small_model()
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    loaded = mobilezoo.create_model("resnext50_32x4d", num_classes=3, checkpoint_path=path)
    assert torch.equal(loaded.fc.weight, model.fc.weight)
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        read_checkpoint(path)
