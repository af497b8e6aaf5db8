"""S3D / S3D-G: torchvision parity, exact counts, short clips, the real-clip path."""

from __future__ import annotations

import pytest
import torch
import torchvision

import mobilezoo
from mobilezoo.data import preprocess_video, read_clip, sample_clip_path
from mobilezoo.profile import count_params, profile

from .conftest import recalibrate_bn


def test_torchvision_s3d_loads_with_identical_outputs():
    torch.manual_seed(0)
    reference = recalibrate_bn(torchvision.models.video.s3d(), (1, 3, 14, 224, 224))
    ours = mobilezoo.create_model("s3d")
    assert list(ours.state_dict()) == list(reference.state_dict())
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    clip = torch.randn(1, 3, 14, 224, 224, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, actual = reference(clip), ours(clip)
    assert expected.abs().mean() > 0.05
    assert (expected - actual).abs().max().item() <= 1e-4


def test_s3d_counts():
    model = mobilezoo.create_model("s3d")
    assert count_params(model)[0] == 8_320_048
    assert {m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)} == {1e-3}
    result = profile(model)  # native input 1x3x16x224x224
    assert result.input_shape == (1, 3, 16, 224, 224)
    assert round(result.macs_without_bn / 1e9, 3) == 17.979


def test_s3d_g_parameter_count_and_gating_positions():
    model = mobilezoo.create_model("s3d_g")
    assert count_params(model)[0] == 9_518_848
    gates = [name for name, m in model.named_modules() if type(m).__name__ == "FeatureGating"]
    assert len(gates) == 1 + 9 * 4  # after Conv2d_2c, then every branch of the 9 Inception blocks
    assert model.features[0][0].kernel_size == (3, 7, 7)  # a full 3D first conv, as in the TF reference


@pytest.mark.parametrize("name", ["s3d", "s3d_g"])
def test_short_and_small_clips_run(name):
    model = mobilezoo.create_model(name, num_classes=5).eval()
    with torch.no_grad():
        for frames, size in ((8, 112), (4, 64), (1, 32)):
            assert model(torch.randn(1, 3, frames, size, size)).shape == (1, 5)


def test_real_clip_path_matches_torchvision_preprocessing():
    frames = read_clip(sample_clip_path("bikes.mp4"), num_frames=16, step=2)
    assert frames.shape == (16, 272, 640, 3) and frames.dtype == torch.uint8
    cfg = mobilezoo.get_pretrained_cfg("s3d.tv_k400")
    clip = preprocess_video(frames, cfg)
    reference = torchvision.models.video.S3D_Weights.KINETICS400_V1.transforms()(frames.permute(0, 3, 1, 2))
    assert clip.shape == (3, 16, 224, 224)
    assert torch.equal(clip, reference)
    model = mobilezoo.create_model("s3d").eval()
    with torch.no_grad():
        assert model(clip[None]).shape == (1, 400)


def test_bad_clip_requests():
    with pytest.raises(mobilezoo.MobileZooError, match="has only"):
        read_clip(sample_clip_path("carphone_pristine.mp4"), num_frames=500)
    with pytest.raises(mobilezoo.MobileZooError, match="does not exist"):
        read_clip("/nonexistent.mp4")


def test_beta_batch_norm_matches_batch_norm_in_every_mode():
    """S3D-G's shift-only BN (written out for TorchScript) behaves as nn.BatchNorm3d, cumulative averages included."""
    from mobilezoo.models.calibration import reestimate_bn
    from mobilezoo.models.s3d import BetaBatchNorm3d

    ours, reference = BetaBatchNorm3d(4), torch.nn.BatchNorm3d(4, eps=1e-3, momentum=1e-3, affine=False)
    batches = [torch.randn(2, 4, 2, 3, 3) * 3 + 1 for _ in range(3)]
    reestimate_bn(ours, batches)  # momentum None: the plain average over the batches
    reestimate_bn(reference, batches)
    assert torch.allclose(ours.running_mean, reference.running_mean) and torch.allclose(ours.running_var, reference.running_var)
    ours.train(), reference.train()
    assert torch.allclose(ours(batches[0]) - ours.bias.view(1, -1, 1, 1, 1), reference(batches[0]), atol=1e-6)
    assert torch.allclose(ours.running_mean, reference.running_mean)
