"""Sweeps: many short trainings, run on Ray (a local instance by default, a cluster with ``--address``).

:mod:`.config` reads and checks a sweep file; :mod:`.trials` turns it into trials and trains one;
:mod:`.store` keeps one JSON line per finished trial (what makes a sweep resumable); :mod:`.runner` schedules
the missing trials on Ray. Design-space analysis of the results lives in :mod:`mobilezoo.designspace`.
"""

from .config import SweepConfig
from .runner import run_sweep
from .store import ResultStore
from .trials import Trial, make_trials, run_trial

__all__ = ["ResultStore", "SweepConfig", "Trial", "make_trials", "run_sweep", "run_trial"]
