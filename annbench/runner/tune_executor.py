"""Run a tune through the sweep's runner (checks, lock, run manifest, isolation, failure records): an
executor that runs the builds in grid order, one at a time, skips those beyond a stopped line and hands
each worker its bisection (the rule: :mod:`annbench.runner.tune`).

Every decision is replayed from the stored records (recall steers the bisection, stored QPS the lines),
so running the same tune again builds and measures nothing already complete.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pandas as pd

from annbench.results.store import ResultStore
from annbench.runner.executor import Job, LocalExecutor
from annbench.runner.plan import BuildPoint, Plan
from annbench.runner.tune import Best, build_name, settings, stops, tune_build


def grid_keys(plan: Plan) -> list[tuple[BuildPoint, list[dict]]]:
    """Every build point with the keys of every point the full grid would measure on it."""
    from annbench.data.hdf5io import describe
    from annbench.runner.sweep import Identity

    ident = Identity(plan, describe(plan.dataset)["d"])
    out = []
    for bp in plan.builds:
        _, env, blas = ident.of(bp.index)
        out.append((bp, plan.keys(bp, env, blas)))
    return out


def best_of(store: ResultStore, keys: list[dict], targets: list[float], recall: str) -> Best:
    """A build's best QPS per query set, nq and target, by the one selection rule
    (:func:`annbench.results.select.best`) over its stored points."""
    from annbench.results.select import best, with_load_columns

    records = [r for r in map(store.record, keys) if r is not None]
    if not records:
        return {}
    df = with_load_columns(pd.DataFrame(records))  # best() groups by clients and filter, as summaries do
    return {(row["query_set"], int(row["nq"]), t): float(row["qps"])
            for t in targets for _, row in best(df, t, recall).iterrows()}


class _Missing(Exception):
    pass


def still_needed(keys: list[dict], tune: dict, store: ResultStore) -> list[dict]:
    """Replay a build's bisection from its stored records: the keys of the first candidate it still has to
    measure; [] when it is complete or a candidate is stored as failed (a failure is a result)."""
    def measure(candidate: list[dict]) -> dict:
        if missing := [k for k in candidate if not store.has(k)]:
            raise _Missing(missing)
        return {}

    try:
        tune_build(keys, tune, measure, store.record)
    except _Missing as exc:
        return exc.args[0]
    return []


def line_of(bp: BuildPoint) -> tuple:
    """The builds a line of builds runs along: one index on one device (and GPU spread)."""
    return bp.index, bp.device, bp.gpus, bp.gpu_mode


def value_order(builds: list[BuildPoint]) -> dict[tuple, dict[str, list]]:
    """Per line of builds (:func:`line_of`), each build parameter's values in grid order."""
    out: dict[tuple, dict[str, list]] = {}
    for bp in builds:
        order = out.setdefault(line_of(bp), {})
        for name, value in bp.build.items():
            if value not in order.setdefault(name, []):
                order[name].append(value)
    return out


class TuneExecutor:
    """The builds in grid order, one at a time in a child process here; each gets its bisection."""

    def __init__(self, plan: Plan, targets, recall: str) -> None:
        self.plan, self.targets, self.recall = plan, sorted(set(targets)), recall
        self.tunes = [settings(bp.index, bp.searches, self.targets, recall) for bp in plan.builds]
        self.grid: list[dict] = []  # every key of the full grid
        self.tried: list[dict] = []  # the keys of the builds tried (built now or before)
        self.skipped: list[str] = []  # the builds never built

    def _local(self) -> LocalExecutor:
        """The sweep's executor, made when the runner has filled in the plan's memory limit."""
        from annbench.runner.sweep import _child_env  # the sweep's own thread variables

        return LocalExecutor(self.plan.timeout_s, self.plan.memory_limit_bytes, _child_env(self.plan.threads))

    def describe(self) -> dict:
        """For the run manifest: where the builds ran, and what the tune aimed at."""
        return {**self._local().describe(), "tune": {"targets": self.targets, "recall": self.recall}}

    def run(self, jobs: list[Job], store: ResultStore, on_poll: Callable[[Job], None]) -> Iterator[tuple[Job, str | None]]:
        waiting = {build_name(job.spec["build_point"]): job for job in jobs}
        orders, tried = value_order(self.plan.builds), {}
        for (bp, keys), tune in zip(grid_keys(self.plan), self.tunes):
            self.grid += keys
            line = tried.setdefault(line_of(bp), {})
            if stops(bp.build, orders[line_of(bp)], line):
                self.skipped.append(bp.label())
                continue
            self.tried += keys
            job = waiting.get(build_name(bp.spec()))
            if job is not None and still_needed(keys, tune, store):
                yield from self._run_one(job, keys, tune, store, on_poll)
            line[build_name(bp.build)] = best_of(store, keys, self.targets, self.recall)

    def _run_one(self, job: Job, keys: list[dict], tune: dict, store: ResultStore, on_poll):
        job.spec.update(keys=keys, tune=tune)  # the worker bisects over all of them, replaying stored ones
        for done, reason in self._local().run([job], store, on_poll):
            if reason:  # the failure is recorded on the candidate it was measuring, not on the whole grid
                job.missing = [k for k in job.missing if store.has(k)] + still_needed(keys, tune, store)
            yield done, reason


def run_tune(plan: Plan, targets, recall: str, results: str, argv: list[str] | None = None) -> dict:
    """Tune ``plan``; returns the sweep's counts plus ``grid`` (points the full grid would measure),
    ``points`` (those measured by this tune, now or before), ``ids`` (the record ids of the builds tried)
    and ``skipped_builds``. Bad plans raise UserError, writing nothing."""
    from annbench.results.schema import point_id
    from annbench.runner.sweep import run_plan

    executor = TuneExecutor(plan, targets, recall)
    counts = run_plan(plan, results, argv, executor)
    store = ResultStore(results, neighbors=plan.save_neighbors)
    return {**counts, "grid": len(executor.grid), "points": sum(map(store.has, executor.tried)),
            "ids": [point_id(k) for k in executor.tried], "skipped_builds": executor.skipped}


def winners(results: str, ids: list[str], targets: list[float], recall: str) -> list[tuple[float, pd.DataFrame]]:
    """Per target, :func:`annbench.results.select.best` over the tune's points (a row per comparable group)."""
    from annbench.results.frame import load_results
    from annbench.results.select import best

    df = load_results(results)
    df = df[df["id"].isin(set(ids))] if len(df) else df
    return [(t, best(df, t, recall)) for t in sorted(set(targets))]
