"""Preloaded by the forkserver of local worker processes (``executors._context``), and imported
by nothing else: the forkserver asks for SIGKILL when its parent, the driver, dies (even by
``kill -9``), so that the pool's workers, whose parent it is, get theirs in turn.
"""

from __future__ import annotations

import os

from .executors import DRIVER_ENV, _alive, set_parent_death_signal

set_parent_death_signal()
_driver = int(os.environ.get(DRIVER_ENV) or 0)
if _driver and _driver != os.getpid() and not _alive(_driver):  # died before the call above
    os._exit(1)
