"""The reaper of a local Ray: ends every process the sweep's Ray started once the sweep's driver is gone.

Ray's own fate-sharing ends gcs_server and the raylet with the driver, but after a ``kill -9`` of the driver its
agents (DashboardAgent, RuntimeEnvAgent) wait a minute or more on the dead GCS before exiting. The driver starts this
module as a small process in its own session with a pipe on stdin; stdin reaching end-of-file means the driver
exited or was killed. The reaper then ends every process whose environment carries the driver's owner mark
(``MOBILEZOO_RAY_OWNER=<token>``, inherited by all Ray processes from the driver): SIGTERM, then SIGKILL after a
grace period. Linux only (it reads ``/proc``); elsewhere Ray's own clean-up is all there is.

Run as ``python -m mobilezoo.sweep.reaper TOKEN DRIVER_PID``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

OWNER_VARIABLE = "MOBILEZOO_RAY_OWNER"
GRACE_SECONDS = 3.0


def marked_processes(token: str, spare: tuple[int, ...] = (), proc: Path = Path("/proc")) -> list[int]:
    """Pids of the processes whose environment holds ``OWNER_VARIABLE=token``, except this one and ``spare``."""
    mark = f"{OWNER_VARIABLE}={token}".encode()
    spared = {os.getpid(), *spare}
    pids = []
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's process
            continue
        if mark in environment.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def reap(token: str, spare: tuple[int, ...] = (), grace: float = GRACE_SECONDS) -> int:
    """End the marked processes (but ``spare``): SIGTERM, then SIGKILL for those still there after ``grace``
    seconds. Returns how many were found."""
    found = marked_processes(token, spare)
    _signal_all(found, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and marked_processes(token, spare):
        time.sleep(0.1)
    _signal_all(marked_processes(token, spare), signal.SIGKILL)
    return len(found)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[0] or not args[1].isdigit():
        print("usage: python -m mobilezoo.sweep.reaper TOKEN DRIVER_PID", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the sweep must not skip the clean-up
    while sys.stdin.buffer.read(4096):  # the driver never writes: this returns b"" when it is gone
        pass
    reap(args[0], spare=(int(args[1]),))  # never the driver itself
    return 0


if __name__ == "__main__":
    sys.exit(main())
