#!/usr/bin/env python
"""Export the demo's assets from the zoo: model.pte (ExecuTorch), model.ptl (lite interpreter fallback),
model_config.properties (input size, mean/std, labels) and the bundled image.

    python android_demo/export_assets.py --model fbnetv2_f1.fmnist --pretrained
    python android_demo/export_assets.py --model fbnetv2_f1 --input-size 128 --assets-dir /tmp/assets

Both artifacts are verified against eager PyTorch in their runtimes; see the manifest.json beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ASSETS = os.path.join(HERE, "app", "src", "main", "assets")


def bundled_image(cfg: dict, path: str) -> None:
    """A real image to classify: a Fashion-MNIST test image for fmnist models, else a scikit-image photo."""
    from PIL import Image

    if cfg.get("dataset") == "Fashion-MNIST":
        from mobilezoo.data.fashion_mnist import load_fashion_mnist

        images, _ = load_fashion_mnist("test")
        Image.fromarray(images[0]).convert("RGB").resize((112, 112), Image.NEAREST).save(path)
    else:
        from mobilezoo.data.samples import sample_photos

        Image.fromarray(np.ascontiguousarray(sample_photos()[0])).save(path)


def main(argv: list[str] | None = None) -> int:
    import mobilezoo
    from mobilezoo.errors import MobileZooError
    from mobilezoo.export.labels import class_labels
    from mobilezoo.fileio import atomic_path
    from mobilezoo.inputs import resolve_input_shape

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fbnetv2_f1.fmnist")
    parser.add_argument("--pretrained", action="store_true")
    parser.add_argument("--input-size", help="override the native input size")
    parser.add_argument("--assets-dir", default=DEFAULT_ASSETS)
    args = parser.parse_args(argv)
    try:
        from mobilezoo.registry import names_weights

        model = mobilezoo.create_model(args.model, pretrained=args.pretrained or names_weights(args.model)).eval()
        shape = resolve_input_shape(model, args.input_size, args.model)
        if shape[0] != 3 or len(shape) != 3:
            raise MobileZooError("the demo app takes 3-channel images (C,H,W); pick an image classifier")
        cfg = model.pretrained_cfg.for_input_size(shape)
        os.makedirs(args.assets_dir, exist_ok=True)
        work = os.path.join(args.assets_dir, ".export")
        for fmt, target in (("executorch", "model.pte"), ("ptl", "model.ptl")):
            result = mobilezoo.export(model, fmt, work, input_size=shape, batch=1, name="model")
            shutil.copyfile(result.path, os.path.join(args.assets_dir, target))
        shutil.copyfile(os.path.join(work, "manifest.json"), os.path.join(args.assets_dir, "manifest.json"))
        shutil.rmtree(work)
        labels = class_labels(cfg, model.num_classes)
        lines = [f"size={shape[-1]}", "mean=" + ",".join(f"{m:.6f}" for m in cfg["mean"]),
                 "std=" + ",".join(f"{s:.6f}" for s in cfg["std"]), "labels=" + "|".join(l.replace("|", "/") for l in labels),
                 "image=sample.png", f"model={args.model}"]
        with atomic_path(os.path.join(args.assets_dir, "model_config.properties")) as temporary:
            temporary.write_text("\n".join(lines) + "\n")
        bundled_image(cfg, os.path.join(args.assets_dir, "sample.png"))
    except MobileZooError as exc:
        print(f"export_assets.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"assets written to {args.assets_dir}: model.pte, model.ptl, model_config.properties, sample.png, manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
