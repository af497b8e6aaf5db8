"""Which model families export to which formats, read from the format classes (their ``unsupported_families``).

The export API refuses an unsupported pair before writing any file; the export matrix test expects
exactly these failures; the README's model x format table is generated from them.
"""

from __future__ import annotations

from ..errors import MobileZooError
from .formats import FORMATS



def families() -> list[str]:
    """Every registered model family, in registration order (the export matrix test covers each)."""
    from ..registry import model_entries

    return list(dict.fromkeys(entry.family for entry in model_entries()))


#: (family, format) -> why it cannot work here
UNSUPPORTED: dict[tuple[str, str], str] = {
    (family, fmt.name): reason for fmt in FORMATS.values() for family, reason in fmt.unsupported_families.items()
}


class UnsupportedExportError(MobileZooError):
    """A model/format pair that cannot work; raised before any file is written."""


def check_supported(family: str, fmt: str, int8: bool = False) -> None:
    reason = UNSUPPORTED.get((family, fmt))
    if reason:
        raise UnsupportedExportError(f"{family} models cannot be exported to {fmt}: {reason}")
    if int8 and not FORMATS[fmt].int8:
        with_int8 = ", ".join(name for name, spec in FORMATS.items() if spec.int8)
        raise UnsupportedExportError(f"--int8 is available for {with_int8}, not for {fmt}")


def matrix_markdown() -> str:
    """The README's model-family x format table."""
    header = "| family | " + " | ".join(FORMATS) + " |"
    lines = [header, "|---|" + "---|" * len(FORMATS)]
    for family in families():
        cells = []
        for name, fmt in FORMATS.items():
            if (family, name) in UNSUPPORTED:
                cells.append("no: " + UNSUPPORTED[(family, name)].split(",")[0])
            else:
                cell = "yes" + (" (int8)" if fmt.int8 else "")
                if family in fmt.family_caveats:
                    cell += f"; {fmt.family_caveats[family]}"
                cells.append(cell)
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    notes = [f"- **{name}**: {fmt.caveat}" for name, fmt in FORMATS.items() if fmt.caveat]
    return "\n".join(lines + [""] + notes)


if __name__ == "__main__":
    print(matrix_markdown())
