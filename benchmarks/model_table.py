#!/usr/bin/env python
"""Params and MACs of every registered model, measured, next to the published figures.

    python benchmarks/model_table.py        # writes benchmarks/results/model_table.md
"""

from __future__ import annotations

import os
import warnings

from tqdm import tqdm

import mobilezoo
from mobilezoo.profile import profile

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    warnings.filterwarnings("ignore")
    lines = ["# Registered models: measured vs published", "",
             "Measured with fvcore at each model's native input size (batch 1). `weights` = Conv/Linear weight "
             "parameters (mobile-vision `params_m`); MACs without BN = torchvision `_ops` / mobile-vision `flops_m`. "
             "RandWire: seed 0 (the paper reports the mean over random instances). DARTS-space networks: the published "
             "MMACs count conv + fc only (the measured column adds pooling). Relational networks: published MMACs are "
             "effective MACs (each relational layer at its mask density), measured in the last column.", "",
             "| model | input | params | weights | published params | MMACs (no BN) | published MMACs | effective MMACs |",
             "|---|---|---|---|---|---|---|---|"]
    for name in tqdm(mobilezoo.list_models()):
        result = profile(name)
        published = mobilezoo.get_model_info(name)["published"]
        pub_params = published.get("params") or (published.get("params_m") and published["params_m"] * 1e6)
        pub_weights = published.get("weight_params")
        pub_macs = (published.get("flops_m") or (published.get("gmacs") and published["gmacs"] * 1e3)
                    or published.get("macs_m") or (published.get("macs") and published["macs"] / 1e6))
        effective = result.effective_macs_without_bn
        shown_params = f"{pub_params:,.0f}" if pub_params else (f"{pub_weights:,} (weights)" if pub_weights else "-")
        lines.append(f"| {name} | {'x'.join(map(str, result.input_shape[1:]))} | {result.params:,} | "
                     f"{result.params_conv_linear_weights:,} | {shown_params} | {result.macs_without_bn / 1e6:,.3f} | "
                     f"{f'{pub_macs:,.3f}' if pub_macs else '-'} | {f'{effective / 1e6:,.3f}' if effective else '-'} |")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "model_table.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
