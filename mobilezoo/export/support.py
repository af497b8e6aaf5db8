"""Which model families export to which formats: the one place where every expected failure is written.

The export API refuses an unsupported pair before writing any file; the export matrix test expects
exactly these failures; the README's model x format table is generated from this table.
"""

from __future__ import annotations

from ..errors import MobileZooError
from .formats import FORMATS

FAMILIES = ("fbnet", "resnext", "randwire", "s3d")

#: (family, format) -> why it cannot work here
UNSUPPORTED: dict[tuple[str, str], str] = {
    ("s3d", "executorch"): (
        "the ExecuTorch pip runtime has no kernels for the 3D pooling operators "
        "aten::max_pool3d_with_indices.out and aten::avg_pool3d.out, so the program would not load"
    ),
}

#: notes shown in the table for pairs that work with a caveat
CAVEATS: dict[tuple[str, str], str] = {
    ("s3d", "coreml"): "tensor input (no image preprocessing for clips)",
}
FORMAT_CAVEATS: dict[str, str] = {
    "coreml": "converted and spec-checked; prediction needs macOS",
    "ptl": "optimize_for_mobile needs XNNPACK, absent in these torch builds: frozen trace instead",
    "torchscript": "deprecated by PyTorch",
}


class UnsupportedExportError(MobileZooError):
    """A model/format pair that cannot work; raised before any file is written."""


def check_supported(family: str, fmt: str, int8: bool = False) -> None:
    reason = UNSUPPORTED.get((family, fmt))
    if reason:
        raise UnsupportedExportError(f"{family} models cannot be exported to {fmt}: {reason}")
    if int8 and not FORMATS[fmt].int8:
        with_int8 = ", ".join(f for f, spec in FORMATS.items() if spec.int8)
        raise UnsupportedExportError(f"--int8 is available for {with_int8}, not for {fmt}")


def matrix_markdown() -> str:
    """The README's model-family x format table."""
    header = "| family | " + " | ".join(FORMATS) + " |"
    lines = [header, "|---|" + "---|" * len(FORMATS)]
    for family in FAMILIES:
        cells = []
        for fmt in FORMATS:
            if (family, fmt) in UNSUPPORTED:
                cells.append("no: " + UNSUPPORTED[(family, fmt)].split(",")[0])
            else:
                cell = "yes" + (" (int8)" if FORMATS[fmt].int8 else "")
                if (family, fmt) in CAVEATS:
                    cell += f"; {CAVEATS[(family, fmt)]}"
                cells.append(cell)
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    notes = [f"- **{fmt}**: {note}" for fmt, note in FORMAT_CAVEATS.items()]
    return "\n".join(lines + [""] + notes)


if __name__ == "__main__":
    print(matrix_markdown())
