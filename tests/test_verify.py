"""The artifact-vs-eager bar: plain 1e-4, widened only to a multiple of eager's own fp32-vs-fp64 error."""

import numpy as np
import torch

from mobilezoo.export.verify import FP32_RTOL, FP64_SLACK, run_checks


class Cancelling(torch.nn.Module):
    """(x + 1e4) - 1e4 in fp32 loses ~1e-3 absolute: eager itself is ~3e-4 relative from exact."""

    def forward(self, x):
        return (x + 1e4) - 1e4


def _exact(x):
    return x.double().numpy()


def test_plain_bar_holds_for_a_model_eager_computes_exactly():
    x = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    model = torch.nn.Identity()
    near = run_checks(model, lambda t: t.numpy() * (1 + 0.5 * FP32_RTOL), [("a", x)])[0]
    far = run_checks(model, lambda t: t.numpy() * (1 + 3 * FP32_RTOL), [("a", x)])[0]
    assert near.passed and near.tolerance == FP32_RTOL and near.eager_fp32_vs_fp64 is None
    # eager fp32 equals fp64 here, so the bar does not widen
    assert not far.passed and far.tolerance == FP32_RTOL and far.eager_fp32_vs_fp64 == 0.0


def test_bar_widens_to_eager_fp32_error_and_no_further():
    x = torch.rand(4, 64, generator=torch.Generator().manual_seed(1)) + 1.0
    model = Cancelling()
    exact = run_checks(model, _exact, [("exact", x)])[0]
    error = exact.eager_fp32_vs_fp64
    assert error is not None and error > FP32_RTOL  # the plain bar was missed by the exact answer itself
    assert exact.passed and exact.tolerance == FP64_SLACK * error
    reference = model(x).numpy()
    scale = np.abs(reference).max()
    beyond = run_checks(model, lambda t: reference + 2 * FP64_SLACK * error * scale, [("beyond", x)])[0]
    assert not beyond.passed and beyond.max_rel > beyond.tolerance


def test_int8_checks_are_reported_without_a_bar():
    x = torch.randn(1, 4)
    check = run_checks(torch.nn.Identity(), lambda t: t.numpy() + 1.0, [("q", x)], tolerance=None)[0]
    assert check.passed is None and check.tolerance is None
