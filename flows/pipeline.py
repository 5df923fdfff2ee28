"""The whole pipeline, split -> tune -> train -> evaluate, as one flow run with a subflow per stage.

``tunepipe run`` runs :func:`pipeline`; ``dvc repro`` runs each stage's flow on its own
(``tunepipe split`` ...). Both go through :func:`run`, so there is one implementation of each stage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import Flow, flow, tags
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from flows import runners
from flows.evaluate import evaluate
from flows.split import split
from flows.train import train
from flows.tune import tune
from tunepipe import report
from tunepipe.config import Config
from tunepipe.threads import plan_threads

# In pipeline order: dvc.yaml has one stage per entry, with the same name.
STAGES: dict[str, Flow[..., Any]] = {"split": split, "tune": tune, "train": train, "evaluate": evaluate}


def sized(stage: Flow[..., Any], cfg: Config) -> Flow[..., Any]:
    """``stage`` with a task runner sized by ``cfg.execution`` (the thread budget).

    Only the search fans out, so only the tune stage runs on ``execution.runner``; the others
    run their few tasks on threads (a Dask cluster per stage would cost more than it saves).
    """
    if stage is tune:
        return stage.with_options(task_runner=runners.task_runner(cfg.execution))
    # Prefect's default thread pool is unbounded: bound it by the thread budget.
    workers, _ = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)
    return stage.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))


def subflow(stage: str, cfg: Config) -> Flow[..., Any]:
    """A stage's flow, sized, named as ``dvc repro`` names it (``tune: tpe lightgbm on stops.csv``)."""
    return sized(STAGES[stage], cfg).with_options(flow_run_name=run_labels(cfg, stage)[0])


@flow(name="tunepipe")
def pipeline(cfg: Config, root: str = ".") -> dict[str, Any] | State:
    """Every stage in order, each a subflow run; stops at a failed search with its message."""
    data = subflow("split", cfg)(cfg, root=root)
    searched = subflow("tune", cfg)(cfg, root=root, return_state=True)
    if searched.is_failed():
        # Re-stated here so the pipeline's state carries the search's message, not "1/1 states failed".
        return Failed(message=searched.message, data=searched.result(raise_on_failure=False))
    search = searched.result()
    models = subflow("train", cfg)(cfg, root=root)
    scored = subflow("evaluate", cfg)(cfg, root=root)
    # The parent run tells the story in the UI: the summary and the top of the leaderboard.
    summary = create_markdown_artifact(
        key="tunepipe-run",
        markdown=report.run_markdown(
            search["cv"], scored["test"], search["winner"]["params"], cfg.search.resource, search["leaderboard"][:5]
        ),
        description="What ran, what won, and how it scored against the model's defaults",
    )
    return {
        "cv": search["cv"],
        "test": scored["test"],
        "trials_run": search["trials_run"],
        "trials_cached": search["trials_cached"],
        "outputs": [*data["outputs"], *search["outputs"], *models["outputs"], *scored["outputs"]],
        "artifacts": [*search["artifacts"], *scored["artifacts"], str(summary)],
    }


def run_labels(cfg: Config, stage: str | None) -> tuple[str, list[str]]:
    """A flow run's name and tags, so a user can tell runs apart in the UI: what ran, how, on what."""
    data = Path(cfg.data.path).name
    what = f"{cfg.search.strategy} {cfg.model.name} on {data}"
    tags = [f"strategy:{cfg.search.strategy}", *(f"model:{k}" for k in cfg.model.kinds), f"data:{data}"]
    return (what if stage is None else f"{stage}: {what}"), tags


def run(cfg: Config, root: str = ".", stage: str | None = None, **options: Any) -> Any:
    """Run one stage's flow, or the whole :func:`pipeline` (``stage=None``).

    Extra keyword arguments go to the flow call (e.g. ``return_state=True``).
    """
    name, labels = run_labels(cfg, stage)
    target: Callable[..., Any] = sized(pipeline if stage is None else STAGES[stage], cfg).with_options(flow_run_name=name)
    with tags(*labels):
        return target(cfg, root=root, **options)
