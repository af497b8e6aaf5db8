"""Export: the model-family x format matrix, manifest contents, int8, bad input, no partial files."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

import mobilezoo
from mobilezoo.errors import InvalidInputError, MissingDependencyError
from mobilezoo.export import FORMATS, UNSUPPORTED, UnsupportedExportError, export, matrix_markdown
from mobilezoo.export.verify import FP32_RTOL, FP64_SLACK, fp32_bar
from mobilezoo.models.calibration import recalibrate_bn

from .conftest import REPO_ROOT

# one model per family, at a reduced input size where it keeps the suite fast
FAMILY_MODELS = {
    "fbnet": ("fbnetv2_f1", (3, 64, 64)),
    "resnext": ("resnext50_32x4d", (3, 64, 64)),
    "randwire": ("randwire_ws_small", (3, 64, 64)),
    "s3d": ("s3d", (3, 4, 64, 64)),
    "anynet": ("anynet_cifar", (3, 32, 32)),
    "darts": ("darts_net", (3, 32, 32)),
    "relgraph": ("relgraph_mlp", (3, 32, 32)),
}
FAMILY_KWARGS = {"darts": {"genotype": "unnas_imagenet_jig", "channels": 8, "layers": 3, "layout": "cifar"},
                 "anynet": {"depths": [1, 1, 1], "widths": [16, 24, 32]},
                 "randwire": {"nodes": 12}}  # 12 of 32 nodes a stage: the same random wiring ops, a third of the graph
_MODELS: dict[str, torch.nn.Module] = {}


def calibrated(family: str) -> torch.nn.Module:
    """A model of the family with BN statistics re-estimated, so outputs are O(1) and diffs mean something."""
    if family not in _MODELS:
        name, shape = FAMILY_MODELS[family]
        torch.manual_seed(0)
        _MODELS[family] = recalibrate_bn(mobilezoo.create_model(name, **FAMILY_KWARGS.get(family, {})), (2, *shape))
    return _MODELS[family]


def test_the_export_matrix_covers_every_registered_family():
    from mobilezoo.export.support import families, matrix_markdown

    assert set(FAMILY_MODELS) == set(families())  # a new family joins the matrix (and the README's table)
    assert all(f"| {family} |" in matrix_markdown() for family in families())


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("exports")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)  # ~1 GB of artifacts: pytest keeps shared folders otherwise


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("family", list(FAMILY_MODELS))
def test_export_matrix(family, fmt, out_dir):
    name, shape = FAMILY_MODELS[family]
    model = calibrated(family)
    if (family, fmt) in UNSUPPORTED:
        before = set(os.listdir(out_dir))
        with pytest.raises(UnsupportedExportError, match=f"{family} models cannot be exported to {fmt}"):
            export(model, fmt, out_dir, input_size=shape, seed=0)
        assert set(os.listdir(out_dir)) == before  # refused before any file was written
        return
    result = export(model, fmt, out_dir, input_size=shape, seed=0)
    entry = result.entry
    assert result.path.exists() and entry["format"] == fmt
    assert len(entry["sha256"]) == 64 and entry["size_bytes"] > 0
    if fmt == "coreml":
        assert entry["status"] == "converted, not run (prediction needs macOS)" and entry["checks"] == []
        inventory = entry["export_info"]["op_inventory"]
        assert inventory.get("conv", 0) + inventory.get("linear", 0) > 0  # the network's weighted layers made it
        return
    assert entry["status"] == "verified"
    names = [c["name"] for c in entry["checks"]]
    if FORMATS[fmt].dynamic_batch:
        assert names[:2] == ["random batch 1", "random batch 3"]  # exported with batch 2, run at 1 and 3
    assert any(n.startswith("real") for n in names)  # a real image or clip went through the runtime
    for check in entry["checks"]:  # the export's own bar: 1e-4, or 4x eager's fp32-vs-fp64 error where that is larger
        assert check["passed"] is True and check["max_rel"] < check["tolerance"]
        assert check["tolerance"] == FP32_RTOL or check["tolerance"] == FP64_SLACK * check["eager_fp32_vs_fp64"]
    if fmt == "executorch":
        assert 0.5 < entry["export_info"]["delegated_share"] <= 1.0


def ensure_exported(out_dir, family, fmt):
    """The matrix usually made it already; export it here when this test runs alone."""
    name, shape = FAMILY_MODELS[family]
    model = calibrated(family)
    file_name = f"{model.pretrained_cfg['architecture']}{FORMATS[fmt].suffix}"
    if not (out_dir / file_name).exists():
        export(model, fmt, out_dir, input_size=shape, seed=0)
    return out_dir / file_name


def test_manifest_lists_every_artifact_with_its_figures(out_dir):
    ensure_exported(out_dir, "randwire", "onnx")
    manifest = json.loads((out_dir / "manifest.json").read_text())
    files = {a["file"] for a in manifest["artifacts"]}
    assert files == {p for p in os.listdir(out_dir) if p != "manifest.json" and not p.startswith(".")}  # hidden: locks
    entry = next(a for a in manifest["artifacts"] if a["format"] == "onnx" and a["model"] == "randwire_ws_small")
    assert entry["model_config"]["wiring"]["stages"]["conv3"]["num_nodes"] == FAMILY_KWARGS["randwire"]["nodes"]
    assert {"torch", "onnxruntime"} <= set(entry["versions"])
    assert entry["preprocessing"]["mean"] == [0.485, 0.456, 0.406]
    assert entry["input"]["batch"] == "dynamic" and entry["input"]["shape"] == [None, 3, 64, 64]


def test_manifest_entry_is_typed_and_is_what_the_manifest_stores(tmp_path):
    """``result.entry`` is a ManifestEntry; the manifest stores its JSON form, with the keys in the order the manifest
    has always had them, and reading it back gives the same entry."""
    from mobilezoo.export import ManifestEntry
    from mobilezoo.export.manifest import locked_manifest
    from mobilezoo.export.verify import Check

    model = mobilezoo.create_model("relgraph_mlp", num_classes=10)
    result = export(model, "onnx", tmp_path, seed=0)
    entry = result.entry
    assert isinstance(entry, ManifestEntry) and all(isinstance(c, Check) for c in entry.checks)
    stored = json.loads((tmp_path / "manifest.json").read_text())["artifacts"]
    assert stored == [json.loads(json.dumps(entry.to_dict()))]
    assert list(stored[0]) == ["file", "model", "format", "description", "precision", "status", "sha256", "size_bytes",
                               "input", "output", "weights", "preprocessing", "class_labels", "model_config", "checks",
                               "tolerance", "random_seed", "runtime", "export_info", "export_seconds", "versions",
                               "warnings"]
    assert list(stored[0]["input"]) == ["name", "shape", "dtype", "batch", "layout"]
    assert stored[0]["input"]["shape"] == [None, 3, 32, 32] and stored[0]["output"]["num_classes"] == 10
    with locked_manifest(tmp_path) as manifest:
        assert manifest.entries() == [ManifestEntry.from_dict(stored[0])]
        assert manifest.entries()[0].to_dict() == stored[0]
    assert entry.worst_rel_error == max(c["max_rel"] for c in stored[0]["checks"]) < FP32_RTOL
    assert entry.min_top1_agreement == 1.0
    assert entry["status"] == entry.status == "verified" and entry.get("absent", 7) == 7  # read as the JSON reads
    assert result.checks[0]["max_rel"] == result.checks[0].max_rel and result.checks[0].get("absent") is None


def test_artifacts_rerun_by_hand_agree_with_eager(out_dir):
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    for fmt in ("onnx", "tflite", "torchscript"):
        ensure_exported(out_dir, "fbnet", fmt)
    model = calibrated("fbnet")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)
    scale = reference.abs().max()
    bar, _ = fp32_bar(model, x, reference)  # the export's rule, not a second hard-coded bar
    session = ort.InferenceSession(str(out_dir / "fbnetv2_f1.onnx"), providers=["CPUExecutionProvider"])
    onnx_out = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    assert ((onnx_out - reference).abs().max() / scale) < bar
    interpreter = Interpreter(model_path=str(out_dir / "fbnetv2_f1.tflite"))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x.numpy())
    interpreter.invoke()
    tflite_out = torch.from_numpy(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    assert ((tflite_out - reference).abs().max() / scale) < bar
    loaded = torch.jit.load(str(out_dir / "fbnetv2_f1.pt"))
    assert torch.allclose(loaded(x), reference, atol=1e-5)


@pytest.mark.parametrize("fmt", ["onnx", "executorch"])
def test_int8_reports_agreement(fmt, tmp_path):
    model = calibrated("fbnet")
    result = export(model, fmt, tmp_path, int8=True, input_size=(3, 64, 64), calibration_samples=8, seed=0)
    entry = result.entry
    assert entry["precision"] == "int8" and entry["file"].endswith(f"_int8{FORMATS[fmt].suffix}")
    assert entry["export_info"]["int8"]["calibration_samples"] == 8
    assert all(c["passed"] is None and 0 <= c["top1_agreement"] <= 1 for c in entry["checks"])
    assert entry["tolerance"] is None
    if entry["input"]["batch"] == "dynamic":  # agreement on images the calibration never saw, not on its own
        assert [c["name"] for c in entry["checks"]][-1] == "held-out real batch 8 (not calibrated on)"
    assert not any("calibration set" in c["name"] for c in entry["checks"])


def test_calibration_and_held_out_real_images_are_disjoint():
    from mobilezoo.data.samples import real_inputs

    cfg = mobilezoo.create_model("fbnetv2_f1").pretrained_cfg
    calibration, held_out = real_inputs(cfg, 12), real_inputs(cfg, 12, split="held_out")  # photos vs clip frames
    assert held_out.shape == calibration.shape
    assert min((a - b).abs().max().item() for a in calibration for b in held_out) > 0.1
    with pytest.raises(ValueError, match="split must be one of"):
        real_inputs(cfg, 1, split="test")


def test_bad_input_is_refused_without_files(tmp_path):
    model = calibrated("fbnet")
    with pytest.raises(InvalidInputError, match="unknown export format 'tflight'"):
        export(model, "tflight", tmp_path)
    with pytest.raises(InvalidInputError, match="static shapes"):
        export(model, "tflite", tmp_path, batch="dynamic", input_size=64)
    with pytest.raises(UnsupportedExportError, match="--int8 is available for onnx, executorch"):
        export(model, "tflite", tmp_path, int8=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidInputError, match="cannot create output folder"):
        export(model, "onnx", blocker / "sub", input_size=64)
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_failed_verification_leaves_no_file(tmp_path, monkeypatch):
    from mobilezoo.export.onnx_format import OnnxFormat

    real_runner = OnnxFormat.load_runner

    def corrupted_runner(self, path, ctx):
        run = real_runner(self, path, ctx)
        return lambda x: run(x) + 1.0  # an artifact whose outputs drifted

    monkeypatch.setattr(OnnxFormat, "load_runner", corrupted_runner)
    from mobilezoo.export import ExportVerificationError

    with pytest.raises(ExportVerificationError, match="differs from eager PyTorch"):
        export(calibrated("fbnet"), "onnx", tmp_path, input_size=64, seed=0)
    assert os.listdir(tmp_path) == []


def test_missing_dependency_names_the_extra(monkeypatch):
    import importlib.util

    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "coremltools" else real_find(n, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install 'mobilezoo\[coreml\]'"):
        export("fbnetv2_f1", "coreml", "unused")


def test_cli_export_errors_exit_2(capsys, tmp_path):
    from mobilezoo.cli.main import main

    assert main(["export", "fbnetv2_f1", "--format", "pdf", "--out", str(tmp_path)]) == 2
    assert "unknown export format 'pdf'" in capsys.readouterr().err
    assert main(["export", "s3d", "--format", "executorch", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "max_pool3d_with_indices.out" in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_cli_export_writes_artifact_and_manifest(capsys, tmp_path):
    from mobilezoo.cli.main import main

    assert main(["export", "fbnetv2_f1", "--format", "torchscript,ptl", "--input-size", "64", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and (tmp_path / "fbnetv2_f1.pt").exists() and (tmp_path / "fbnetv2_f1.ptl").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {a["format"] for a in manifest["artifacts"]} == {"torchscript", "ptl"}


def test_readme_matrix_is_generated_from_the_support_table():
    readme = open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8").read()
    assert matrix_markdown() in readme


@pytest.mark.slow  # end-to-end, ~30-80 s: in CI (tests/run.sh), not in a plain pytest
def test_bundle_pipeline(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "export", "run.py"), "--profile", "server", "--models", "fbnetv2_f1",
         "--out", str(tmp_path), "--input-size", "64"],
        capture_output=True, text=True, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(a["file"] for a in manifest["artifacts"]) == ["fbnetv2_f1.onnx", "fbnetv2_f1_int8.onnx"]
    bad = subprocess.run([sys.executable, os.path.join(REPO_ROOT, "export", "run.py"), "--profile", "watch",
                          "--models", "fbnetv2_f1", "--out", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "export profile 'watch' not found" in bad.stderr


@torch.no_grad()
def test_channel_padding_is_exact_and_reaches_multiples_of_eight():
    from mobilezoo.export.channel_padding import needs_padding, pad_channels
    from mobilezoo.models.calibration import recalibrate_bn

    model = recalibrate_bn(mobilezoo.create_model("dmasking_f1").eval(), (2, 3, 64, 64))
    for module in model.modules():  # trained-like scales: no channel may hide behind a zero gamma
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
    assert needs_padding(model)
    padded = pad_channels(model)
    convs = [m for m in padded.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.out_channels % 8 == 0 for c in convs[:-1]) and all(c.in_channels % 8 == 0 for c in convs[1:])
    assert convs[0].in_channels == 3 and convs[-1].out_channels == 1000  # input and classes keep their sizes
    x = torch.randn(2, 3, 64, 64)
    expected = model(x)
    assert (padded(x) - expected).abs().max() <= 1e-5 * expected.abs().max()
    assert not needs_padding(mobilezoo.create_model("fbnetv2_f1"))  # already multiples of 8
    assert not needs_padding(mobilezoo.create_model("fbnet_a"))  # channel shuffles: padding would not be exact


def test_onnx_export_of_a_width_divisor_one_network_is_padded_and_verified(tmp_path):
    from mobilezoo.models.calibration import recalibrate_bn

    model = recalibrate_bn(mobilezoo.create_model("dmasking_f1").eval(), (2, 3, 64, 64))
    entry = export(model, "onnx", tmp_path, input_size=64, seed=0).entry
    assert "zero-padded to multiples of 8" in entry["export_info"]["channel_padding"]
    assert entry["status"] == "verified" and all(c["passed"] and c["max_rel"] < c["tolerance"] for c in entry["checks"])
