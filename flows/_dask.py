"""The Dask worker plugin that hands a split to each worker (imported only with ``runner: dask``)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from tunepipe import io


class ReceiveSplit(WorkerPlugin):
    """On each worker: make ``io.load_split(ref)`` read the shipped bytes, not ``ref.path``."""

    def __init__(self, ref: io.SplitRef, files: dict[str, bytes]) -> None:
        self.ref = ref
        self.files = files

    def setup(self, worker: Any) -> None:
        io.receive_split(self.ref, self.files)
