"""A local Ray for one machine's sweep: reachable from this machine only, and gone when the sweep is.

Two things Ray does not do by itself:

- **Loopback only.** Ray replaces a loopback node address with the machine's outward address and its servers
  (gcs_server, raylet, workers, the driver) listen on every interface, so anyone on the network could submit work.
  Ray's own single-machine setting (the one it uses on macOS and Windows) puts the node on 127.0.0.1; it is
  switched on here while the local instance starts, so every server binds to loopback.
- **Nothing left behind.** A reaper process (``mobilezoo.sweep.reaper``) waits for this driver to end, however it
  ends, ``kill -9`` included, and then ends every process the local Ray started (they all carry the driver's owner
  mark in their environment).

A cluster joined with ``--address`` is not touched: its nodes are the cluster's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import sys
from typing import Any, Iterator

from .reaper import OWNER_VARIABLE

# Ray's switch for "a single machine, not a cluster": its node address becomes loopback
SINGLE_MACHINE_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

_reapers: list[subprocess.Popen] = []  # held for the driver's life: their stdin pipes close only when it ends


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the processes started inside the block (Ray's children inherit them)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _single_machine_ray(ray_constants: Any) -> Iterator[None]:
    """Ray read its single-machine switch when it was imported; flip it for this start only."""
    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def start_reaper(token: str) -> subprocess.Popen:
    """Start the reaper for the processes marked with ``token``; it acts when this process ends."""
    reaper = subprocess.Popen([sys.executable, "-m", "mobilezoo.sweep.reaper", token, str(os.getpid())],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # its own session: a Ctrl-C or killpg of the sweep spares it
    _reapers.append(reaper)
    return reaper


def start_local_ray(num_cpus: int, object_store_bytes: int = 80 * 1024**2) -> str:
    """Start a local Ray with ``num_cpus`` CPUs on loopback, with a reaper; returns the owner token."""
    import ray
    import ray._private.ray_constants as ray_constants

    token = f"{os.getpid()}-{secrets.token_hex(8)}"
    start_reaper(token)
    with _environment({OWNER_VARIABLE: token, SINGLE_MACHINE_VARIABLE: "0"}), _single_machine_ray(ray_constants):
        ray.init(num_cpus=num_cpus, object_store_memory=object_store_bytes, include_dashboard=False,
                 logging_level=logging.ERROR, log_to_driver=False)
    return token
