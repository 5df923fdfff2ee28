"""The Dask worker plugin that hands a split to each worker and, when the run ends, frees it there
(imported only with ``runner: dask``)."""

from __future__ import annotations

import logging
from typing import Any

from distributed import WorkerPlugin

from tunepipe import execution, io

# The worker's own logger: what it logs is in the worker's log (Client.get_worker_logs()).
logger = logging.getLogger("distributed.worker")


class ReceiveSplit(WorkerPlugin):
    """On each worker: make ``execution.load_split(ref)`` read the shipped bytes, not ``ref.path``."""

    def __init__(self, ref: io.SplitRef, files: dict[str, bytes]) -> None:
        self.ref = ref
        self.files = files

    def setup(self, worker: Any) -> None:
        execution.SPLITS.receive(self.ref, self.files)
        logger.info("tunepipe: received split %s (%d bytes)", self.ref.fingerprint, sum(map(len, self.files.values())))

    def teardown(self, worker: Any) -> None:
        """When the run unregisters the plugin: the worker frees the split and all it grew on it."""
        execution.forget_split(self.ref)
        logger.info("tunepipe: freed split %s", self.ref.fingerprint)
