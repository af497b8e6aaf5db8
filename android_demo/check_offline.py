#!/usr/bin/env python
"""Check the Android demo offline (no Android SDK or Maven here): what can be checked without building.

1. The manifest and every layout/values XML parse; activities named in the manifest have sources;
   @string references resolve.
2. Gradle files pin every plugin and dependency to an exact version.
3. The Java sources type-check with javac against small stubs of the Android and runtime APIs
   (stubs/), with an R class generated from the layouts' ids as the Android build would.
4. With --assets DIR: the assets the app opens exist (model.pte, model.ptl, model_config.properties,
   the image it names) and the config has every key the app reads.

    python android_demo/check_offline.py [--assets android_demo/app/src/main/assets]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "app" / "src" / "main"
ANDROID = "{http://schemas.android.com/apk/res/android}"
COORDINATE = re.compile(r"""(?:implementation|api|classpath)\s+["']([^"']+)["']""")
PLUGIN = re.compile(r"""id\s+["']([^"']+)["']\s*(?:version\s+["']([^"']+)["'])?""")
CONFIG_KEYS = ("size", "mean", "std", "labels", "image")


def check_xml() -> list[str]:
    problems = []
    manifest = ET.parse(APP / "AndroidManifest.xml").getroot()
    for activity in manifest.iter("activity"):
        name = activity.get(f"{ANDROID}name", "").lstrip(".")
        if not (APP / "java" / "org" / "mobilezoo" / "demo" / f"{name}.java").is_file():
            problems.append(f"manifest names activity {name} but there is no {name}.java")
    strings = {e.get("name") for e in ET.parse(APP / "res" / "values" / "strings.xml").getroot().iter("string")}
    for layout in (APP / "res" / "layout").glob("*.xml"):
        for element in ET.parse(layout).getroot().iter():
            for value in element.attrib.values():
                if value.startswith("@string/") and value[8:] not in strings:
                    problems.append(f"{layout.name}: @string/{value[8:]} is not defined")
    if manifest.find("application").get(f"{ANDROID}label", "").removeprefix("@string/") not in strings:
        problems.append("manifest label string is not defined")
    return problems


def check_gradle() -> list[str]:
    problems = []
    for gradle in (HERE / "build.gradle", HERE / "app" / "build.gradle"):
        text = gradle.read_text()
        for coordinate in COORDINATE.findall(text):
            parts = coordinate.split(":")
            if len(parts) != 3 or not re.fullmatch(r"\d+(\.\d+)*", parts[2]):
                problems.append(f"{gradle.name}: dependency '{coordinate}' is not pinned to an exact version")
        for plugin, version in PLUGIN.findall(text):
            if gradle.parent == HERE and not version:
                problems.append(f"{gradle.name}: plugin '{plugin}' has no pinned version")
    return problems


def generate_r(directory: Path) -> Path:
    ids = sorted({v[5:] for f in (APP / "res" / "layout").glob("*.xml") for e in ET.parse(f).getroot().iter()
                  for v in e.attrib.values() if v.startswith("@+id/")})
    layouts = sorted(f.stem for f in (APP / "res" / "layout").glob("*.xml"))
    body = ["package org.mobilezoo.demo;", "public final class R {",
            "  public static final class id {" + "".join(f" public static final int {n} = {i + 1};" for i, n in enumerate(ids)) + " }",
            "  public static final class layout {" + "".join(f" public static final int {n} = {i + 100};" for i, n in enumerate(layouts)) + " }",
            "}"]
    path = directory / "R.java"
    path.write_text("\n".join(body) + "\n")
    return path


def check_javac() -> list[str]:
    javac = shutil.which("javac")
    if javac is None:
        return ["javac is not installed: the type check did not run"]
    with tempfile.TemporaryDirectory() as work:
        sources = [str(p) for p in (APP / "java").rglob("*.java")]
        sources += [str(p) for p in (HERE / "stubs").rglob("*.java")]
        sources.append(str(generate_r(Path(work))))
        proc = subprocess.run([javac, "-d", str(Path(work) / "classes"), "--release", "17", *sources],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return ["javac: " + line for line in proc.stderr.strip().splitlines()[:20]]
    return []


def check_assets(assets: Path) -> list[str]:
    problems = [f"asset {name} is missing" for name in ("model.pte", "model.ptl", "model_config.properties")
                if not (assets / name).is_file()]
    config_path = assets / "model_config.properties"
    if config_path.is_file():
        config = dict(line.split("=", 1) for line in config_path.read_text().splitlines() if "=" in line)
        problems += [f"model_config.properties lacks '{k}'" for k in CONFIG_KEYS if k not in config]
        if "image" in config and not (assets / config["image"]).is_file():
            problems.append(f"the image the app opens, {config['image']}, is not in the assets")
        if "mean" in config and len(config["mean"].split(",")) != 3:
            problems.append("mean must have 3 values (the app feeds RGB)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=Path, help="also check an exported assets folder")
    args = parser.parse_args(argv)
    problems = check_xml() + check_gradle() + check_javac()
    if args.assets:
        problems += check_assets(args.assets)
    checks = "XML, Gradle pins, javac type check" + (", assets" if args.assets else "")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"android_demo offline checks passed ({checks}); the APK itself needs the Android SDK to build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
