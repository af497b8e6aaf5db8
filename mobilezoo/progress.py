"""Progress bars for long work: tqdm on a terminal, and plain periodic lines in logs (CI, pipes, files)."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Iterable, Iterator

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


@contextlib.contextmanager
def status(text: str, quiet: bool = False) -> Iterator[None]:
    """A spinner on a terminal; elsewhere a line on stdout when the work starts and one when it ends, so logs
    keep both and stderr keeps only errors. ``quiet`` (e.g. under ``--json``) shows nothing."""
    if quiet:
        yield
        return
    if sys.stderr.isatty():
        from rich.console import Console

        with Console(stderr=True).status(text):
            yield
        return
    print(text, flush=True)
    started = time.perf_counter()
    yield
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
