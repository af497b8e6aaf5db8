"""Training: the loop (``engine``), its typed options (``config``), optimisers and schedule, DDP, pretext tasks,
MoCo and long-tail classifier re-balancing. ``mobilezoo train`` and the sweep runner's trials call :class:`Trainer`."""
