"""Install mobilezoo. Pins follow the stack measured for this project (torch 2.14.1 / torchvision 0.29.1)."""

from setuptools import find_packages, setup

CORE = [
    "torch==2.14.1",
    "torchvision==0.29.1",
    "numpy==2.4.6",
    "pyyaml==6.0.4",
    "networkx==3.6.1",
    "rich==15.0.0",
    "tqdm==4.70.1",
    "fvcore==0.1.5.post20221221",
    "safetensors==0.8.0",
    "matplotlib==3.11.2",
]

EXTRAS = {
    "onnx": ["onnx==1.23.2", "onnxruntime==1.32.0", "onnxscript==0.7.2"],
    "coreml": ["coremltools==9.0"],
    "executorch": ["executorch==1.5.1"],
    "litert": ["litert-torch==0.10.0"],
    "train": [],
    "data": ["scikit-learn==1.9.1", "scikit-image==0.26.0"],
    "baselines": ["timm==1.0.31"],
    "video": ["scikit-video==1.1.11", "av==18.1.0"],
    "sweep": ["ray==2.60.0", "scipy==1.17.1"],  # sweeps on Ray; scipy for the KS test's p-value
    "nasbench": ["analog-nasbench==0.1.3"],  # the NAS-Bench-201 table LaNAS is benchmarked on
}
EXTRAS["test"] = (["pytest==9.2.0"] + EXTRAS["onnx"] + EXTRAS["data"] + EXTRAS["baselines"] + EXTRAS["video"]
                  + EXTRAS["sweep"] + EXTRAS["nasbench"])
EXTRAS["all"] = sorted({req for group in EXTRAS.values() for req in group})

setup(
    name="mobilezoo",
    version="0.1.0",
    description="A model zoo for phones: efficient vision and video networks by name, with profiling and export",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    # configs/ ships inside the package as mobilezoo.configs: the export profiles are read at run time
    packages=find_packages(include=["mobilezoo", "mobilezoo.*"]) + ["mobilezoo.configs"],
    package_dir={"mobilezoo.configs": "configs"},
    package_data={"mobilezoo": ["weights/files/*", "models/searched/*.yaml"], "mobilezoo.configs": ["*.md", "*/*.yaml"]},
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["mobilezoo=mobilezoo.cli.main:main"]},
    license="MIT",
)
