"""Keep third-party log noise off the user's stderr, and nothing else.

The runtimes behind the exports write informational lines straight to file descriptor 2 from native code
(ExecuTorch's cpuinfo probing, LiteRT's "Created TensorFlow Lite XNNPACK delegate", absl ``I0000`` lines from the
converters), where neither ``logging`` nor ``contextlib.redirect_stderr`` reaches. :func:`native_stderr_filtered`
captures descriptor 2 for the length of such a call and writes back every line that is not one of those known
informational lines, so warnings and errors still reach the user, in order, once the call returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from typing import Iterator

#: informational lines of the runtimes, matched at the start of a line; anything else is passed through
NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] "  # absl / glog INFO lines (I0000 00:00:1796335150.28 4606 port.cc:153] ...)
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|\[cpuinfo_utils\.cpp:\d+\] "  # ExecuTorch's threadpool probing /sys for an ARM midr register
    r"|\[threadpool\.cpp:\d+\] Resetting threadpool to \d+ threads\."
)

#: Python loggers whose INFO / WARNING lines are about the libraries' own internals, not the user's work
CHATTY_LOGGERS = ("torch.utils._pytree", "torch._export", "absl", "torchao")


def is_noise(line: str) -> bool:
    """Whether ``line`` is one of the runtimes' known informational lines."""
    return NOISE.match(line) is not None


def quiet_third_party_logs() -> None:
    """Raise the threshold of the chatty third-party loggers to ERROR (their warnings are deprecations inside the
    libraries: e.g. torchao registering an Enum with torch's pytree)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Capture file descriptor 2 while the block runs; afterwards re-emit every line that is not noise.

    The capture is a temporary file (never a pipe, which a chatty library could fill and block on). Where
    descriptor 2 cannot be duplicated (an embedding host without one), the block runs unfiltered.
    """
    quiet_third_party_logs()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
