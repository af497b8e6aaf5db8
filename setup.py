"""Install mobilezoo. Metadata and dependencies live in pyproject.toml; this file adds what it cannot say:

- every package under mobilezoo/ is found (a folder of modules without ``__init__.py`` is an error here, not a
  wheel that silently lacks it: ``mobilezoo.train`` once went missing that way);
- configs/ ships inside the package as ``mobilezoo.configs`` (export profiles, recipes and definitions are read
  at run time, from any folder).
"""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _packages() -> list[str]:
    packages = find_packages(HERE, include=["mobilezoo", "mobilezoo.*"])
    for folder, _, files in os.walk(os.path.join(HERE, "mobilezoo")):
        dotted = os.path.relpath(folder, HERE).replace(os.sep, ".")
        if any(f.endswith(".py") for f in files) and dotted not in packages:
            raise SystemExit(f"setup.py: {folder} holds modules but no __init__.py; add one so it is installed")
    return packages + ["mobilezoo.configs"]


setup(
    packages=_packages(),
    package_dir={"mobilezoo.configs": "configs"},
    package_data={
        "mobilezoo": ["weights/files/*", "models/searched/*.yaml", "py.typed"],
        "mobilezoo.configs": ["*.md", "*/*.yaml"],
    },
)
