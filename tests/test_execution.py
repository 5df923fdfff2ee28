"""The process's state for trials: a search frees only its own live boosters; a forgotten split
leaves nothing behind."""

from __future__ import annotations

import json

import numpy as np

from tunepipe import execution
from tunepipe.io import SplitRef


class _Booster:
    """Stands in for lgbm.LiveBooster in the store: only its size matters there."""

    def estimated_bytes(self) -> int:
        return 1000


def _lineage(data: str, params: dict[str, int]) -> str:
    return json.dumps({"data": data, "spec": "s", "threads": 1, "params": params}, sort_keys=True)


def test_a_search_frees_its_own_boosters_and_not_anothers(monkeypatch):
    live = execution.LiveBoosters(budget_bytes=10**6)
    monkeypatch.setattr(execution, "LIVE", live)
    mine, theirs = _lineage("f1", {"a": 1}), _lineage("f2", {"a": 1})
    for key in ((mine, 0), (mine, 1), (theirs, 0)):
        live.put(key, _Booster())
    execution.release_live_models({mine})
    assert live.take((mine, 0)) is None and live.take((theirs, 0)) is not None
    assert live.nbytes == 0 and len(live) == 0


def test_a_taken_booster_can_be_peeked_until_it_is_dropped_or_evicted():
    """A pbt member copying another snapshots that member's booster even while its own next step
    has taken it; a dropped or evicted booster is gone for peek too (memory is freed)."""
    live = execution.LiveBoosters(budget_bytes=1500)
    a, b, c = (_lineage("f", {"a": k}) for k in (1, 2, 3))
    first = _Booster()
    live.put((a, 0), first)
    assert live.take((a, 0)) is first and live.take((a, 0)) is None
    assert live.peek((a, 0)) is first  # taken, still known
    live.put((b, 0), _Booster())
    live.put((c, 0), _Booster())  # 2000 bytes stored > 1500: the oldest, b, is evicted (a is taken)
    assert live.peek((b, 0)) is None and live.peek((c, 0)) is not None
    live.drop(lambda lineage: lineage in {a, c})
    assert live.peek((a, 0)) is None and live.peek((c, 0)) is None


def test_forgetting_a_split_frees_its_bytes_folds_and_boosters_only(monkeypatch):
    live, folds, binned = execution.LiveBoosters(budget_bytes=10**6), execution._Cache(8), execution._Cache(8)
    splits = execution.SplitStore()
    monkeypatch.setattr(execution, "LIVE", live)
    monkeypatch.setattr(execution, "_FOLDS", folds)
    monkeypatch.setattr(execution, "_BINNED", binned)
    monkeypatch.setattr(execution, "SPLITS", splits)
    for data in ("f1", "f2"):
        live.put((_lineage(data, {"a": 1}), 0), _Booster())
        folds.get((data, 0, 10, "category", (), ()), lambda: np.zeros(3))
        binned.get((data, 0, 10, "category", (), (), "key", 1), lambda: np.zeros(3))
        splits.receive(SplitRef(f"/nowhere/{data}", data), {"meta.json": b"{}"})
    execution.forget_split(SplitRef("/nowhere/f1", "f1"))
    assert [k[0] for k in folds._items] == ["f2"] and [k[0] for k in binned._items] == ["f2"]
    assert len(live) == 1 and live.take((_lineage("f2", {"a": 1}), 0)) is not None
    assert splits.held() == 1


def test_fold_pools_shut_down_and_start_again():
    pool = execution.fold_pool(2)
    assert pool.submit(lambda: 3).result() == 3
    execution.shutdown_fold_pools()
    assert execution.fold_pool(2) is not pool and execution.fold_pool(2).submit(lambda: 4).result() == 4
    execution.shutdown_fold_pools()
