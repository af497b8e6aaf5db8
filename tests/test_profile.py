"""Profiling: exact counts on small hand-checkable nets, the elementwise column, JSON, input sizes."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from mobilezoo.errors import InvalidInputError
from mobilezoo.inputs import parse_input_size
from mobilezoo.profile import ProfileResult, count_params, profile_model


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)  # 8*3*9 weights (+8 bias)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.Hardswish()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = self.act(self.bn(self.conv(x)))
        y = y + y  # a residual-style add
        return self.fc(y.mean((2, 3)))


def test_counts_match_hand_arithmetic():
    result = profile_model(Tiny(), (3, 5, 5), name="tiny")
    conv = 8 * 3 * 9 * 25
    assert result.params == 8 * 3 * 9 + 8 + 8 * 2 + 8 * 4 + 4
    assert result.params_conv_linear_weights == 8 * 3 * 9 + 8 * 4
    assert result.by_operator["conv"] == conv and result.by_operator["linear"] == 32
    assert result.batch_norm_macs == result.by_operator["batch_norm"] > 0
    assert result.macs == result.macs_without_bn + result.batch_norm_macs
    # hardswish (8*25) and the add (8*25) are counted as elementwise, never in MACs
    assert result.elementwise_ops == 2 * 8 * 25
    assert "elementwise" in result.notes[0]


def test_json_round_trip():
    result = profile_model(Tiny(), (3, 5, 5), name="tiny")
    data = json.loads(result.to_json())
    assert data["input_shape"] == [1, 3, 5, 5]
    assert ProfileResult.from_dict(data) == result


def test_count_params_ignores_bn_and_bias_for_weights():
    assert count_params(nn.Sequential(nn.Conv2d(2, 4, 1), nn.BatchNorm2d(4))) == (8 + 4 + 8, 8)


@pytest.mark.parametrize(
    "text,expected",
    [("224", (3, 224, 224)), ("160x128", (3, 160, 128)), ("3,96,96", (3, 96, 96)), (" 1 64 64 ", (1, 64, 64))],
)
def test_parse_input_size_image(text, expected):
    assert parse_input_size(text, (3, 224, 224)) == expected


def test_parse_input_size_video():
    assert parse_input_size("112", (3, 16, 224, 224)) == (3, 16, 112, 112)
    assert parse_input_size("8,112,112", (3, 16, 224, 224)) == (3, 8, 112, 112)


@pytest.mark.parametrize("text", ["0", "-4", "abc", "2.5", "", "1,2,3,4"])
def test_parse_input_size_rejects_bad_values(text):
    with pytest.raises(InvalidInputError):
        parse_input_size(text, (3, 224, 224))


def test_model_that_cannot_run_at_a_size_is_a_clear_error():
    import mobilezoo

    with pytest.raises(InvalidInputError, match="cannot run on input"):
        mobilezoo.profile("resnext50_32x4d", input_size=(3, 1, 1), num_classes=2) if False else profile_model(
            nn.Conv2d(3, 3, 5), (3, 2, 2), name="conv5"
        )


def test_profile_rows_sum_to_the_total():
    import mobilezoo

    result = mobilezoo.profile("resnext50_32x4d", input_size=64)
    assert sum(r.macs_without_bn for r in result.modules) == result.macs_without_bn - result.by_operator[
        "adaptive_avg_pool2d"
    ]
    assert sum(r.params for r in result.modules) == result.params
