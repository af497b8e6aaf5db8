"""Progress for long work: a tqdm bar on a terminal; in logs and pipes, plain lines (never carriage returns).

In a log, a piece of work prints ``<what>: started``, a line at most every ``LOG_INTERVAL_S`` seconds with how far
it got, and ``<what>: done in N s``: the same "started / done in N s" shape as :func:`status`. Both go to stdout,
so a log keeps them in order with the results and stderr keeps only warnings and errors.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Iterable, Iterator

from tqdm import tqdm

#: seconds between two progress lines in a log
LOG_INTERVAL_S = 30.0


class LogProgress:
    """The part of tqdm's interface this package uses, written as plain lines for logs."""

    def __init__(self, iterable: Iterable[Any] | None = None, total: int | float | None = None, desc: str = "",
                 unit: str = "it", disable: bool = False, interval: float = LOG_INTERVAL_S, **_: Any) -> None:
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.desc, self.unit, self.disable, self.interval = total, desc, unit, disable, interval
        self.n = 0
        self.postfix = ""
        self.started = time.perf_counter()
        self.last_line = self.started
        self.closed = False
        self._say(f"{desc}: started" + (f" ({total:,} {unit})" if total else ""))

    def _say(self, text: str) -> None:
        if not self.disable:
            print(text, flush=True)

    def _count(self) -> str:
        if self.total:
            return f"{self.n:,}/{self.total:,} {self.unit} ({100 * self.n / self.total:.0f}%)"
        return f"{self.n:,} {self.unit}"

    def update(self, n: int | float = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last_line >= self.interval:
            self.last_line = now
            self._say(f"{self.desc}: {self._count()} after {now - self.started:.0f} s{self.postfix}")

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = "".join(f", {key}={value}" for key, value in items.items())

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._say(f"{self.desc}: done in {time.perf_counter() - self.started:.1f} s ({self._count()}){self.postfix}")

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable or ():
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> tqdm | LogProgress:
    """A tqdm bar on a terminal; plain "started / N of M / done in N s" lines when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return LogProgress(iterable, **kwargs)
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
