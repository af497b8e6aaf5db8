"""Export for phone deployment, with every artifact verified in its own runtime.

    result = mobilezoo.export("fbnetv2_f1", "executorch", "out/")
    result.entry.checks         # per-input max abs / relative error against eager PyTorch
    result.entry.to_dict()      # what manifest.json records of the artifact (a ManifestEntry)
"""

from .api import ExportResult, ExportVerificationError, export
from .format_base import ExportFormat
from .formats import FORMATS
from .manifest_entry import ArtifactInput, ArtifactOutput, ManifestEntry
from .support import UNSUPPORTED, UnsupportedExportError, check_supported, matrix_markdown

__all__ = [
    "FORMATS", "UNSUPPORTED", "ArtifactInput", "ArtifactOutput", "ExportResult", "ExportVerificationError", "ExportFormat",
    "ManifestEntry", "UnsupportedExportError",
    "check_supported", "export", "matrix_markdown",
]
