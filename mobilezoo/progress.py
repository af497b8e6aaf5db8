"""Progress bars for long work: tqdm on a terminal, and plain periodic lines in logs (CI, pipes, files)."""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm import tqdm


def progress_bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar that stays readable when stderr is not a terminal.

    On a terminal it redraws in place. Elsewhere tqdm would either be silent or flood the log with carriage
    returns, so it writes one ASCII line at most every 30 s and keeps the last one.
    """
    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", 30.0)
        kwargs.setdefault("ascii", True)
        kwargs.setdefault("leave", True)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, file=sys.stderr, **kwargs)
