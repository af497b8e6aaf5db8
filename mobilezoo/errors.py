"""Errors raised for bad user input.

Every error a user can cause derives from :class:`MobileZooError`. Its message is one line that
names the problem and the fix; the CLI prints it without a traceback and exits with code 2.
"""

from __future__ import annotations


class MobileZooError(Exception):
    """Base class for errors caused by user input (names, sizes, files, definitions)."""


class UnknownModelError(MobileZooError, KeyError):
    """A model name that is not registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class InvalidInputError(MobileZooError, ValueError):
    """An input size, channel count or option value the model cannot take."""


class ArchDefError(MobileZooError, ValueError):
    """A malformed architecture definition."""


class CheckpointError(MobileZooError, ValueError):
    """A checkpoint that is corrupt, unsafe or does not match the model."""


class MissingDependencyError(MobileZooError, ImportError):
    """An optional dependency is not installed."""
