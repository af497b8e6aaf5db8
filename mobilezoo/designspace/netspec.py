"""One network of a design space, as data: what ``create_model("anynet_cifar", **spec.model_kwargs())`` builds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class NetSpec:
    """One network of a design space: what ``create_model("anynet_cifar", **spec.model_kwargs())`` builds."""

    block: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bottleneck_ratios: tuple[float, ...] = (1.0, 1.0, 1.0)
    groups: tuple[int, ...] = (1, 1, 1)

    def model_kwargs(self) -> dict[str, Any]:
        return {"block": self.block, "depths": list(self.depths), "widths": list(self.widths),
                "bottleneck_ratios": list(self.bottleneck_ratios), "groups": list(self.groups)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetSpec":
        return cls(data["block"], tuple(data["depths"]), tuple(data["widths"]), tuple(data["bottleneck_ratios"]),
                   tuple(data["groups"]))
