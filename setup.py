"""Install mobilezoo. Metadata and dependencies live in pyproject.toml; this file adds what it cannot say:

- every package under mobilezoo/ is found (a folder of modules without ``__init__.py`` is an error here, not a
  wheel that silently lacks it: ``mobilezoo.train`` once went missing that way);
- folders of data (packaged weights, searched definitions) are listed as data packages, so setuptools ships
  them without warning about importable folders it was not told of;
- configs/ ships inside the package as ``mobilezoo.configs`` (export profiles, recipes and definitions are read
  at run time, from any folder).
"""

import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_FILES = ["*.yaml", "*.md", "*.json", "*.safetensors", "py.typed"]


def _folders(root: str, dotted: str) -> list[tuple[str, list[str]]]:
    """(dotted name, file names) of ``root`` and every folder below it, caches left out."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__" and not d.startswith("."))
        relative = os.path.relpath(folder, root)
        found.append((dotted if relative == "." else f"{dotted}.{relative.replace(os.sep, '.')}", files))
    return found


def _packages() -> list[str]:
    packages = []
    for name, files in _folders(os.path.join(HERE, "mobilezoo"), "mobilezoo"):
        if any(f.endswith(".py") for f in files) and "__init__.py" not in files:
            raise SystemExit(f"setup.py: {name} holds modules but no __init__.py; add one so it is installed")
        packages.append(name)
    return packages + [name for name, _ in _folders(os.path.join(HERE, "configs"), "mobilezoo.configs")]


setup(
    packages=_packages(),
    package_dir={"mobilezoo.configs": "configs"},
    package_data={"": DATA_FILES},
)
