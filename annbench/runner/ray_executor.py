"""Build points as Ray tasks, one whole node each (``annbench sweep --ray [ADDRESS]``).

Placement: each node that may run points is either free or running one point,
and a point starts only on a free node, as a task holding all of that node's
CPUs and GPUs (:func:`annbench.runner.ray_cluster.whole_node`): no two points,
nor any other Ray work, share a machine while timed.

Data: a node that sees the dataset at the driver's path with the same
fingerprint reads it there; the others get the file's bytes, put once in Ray's
object store and checked by fingerprint on arrival (:mod:`annbench.runner.ray_node`).

Failures: what the isolated worker reports (crash, hang, out of memory, an
exception) is the benchmark's result, recorded as in a local sweep. A lost task
(its node died, or its Ray worker) is not: that node runs nothing more in this
sweep and the point goes to another node, once; lost again, it is recorded as
failed. Records come back to the driver, which alone writes the results
directory, atomically, so resume works as before (a point still running when
the driver dies is measured again).
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator

from annbench.errors import UserError
from annbench.runner import identity, ray_cluster, ray_node
from annbench.runner.executor import Job

POLL_S = 0.2
ATTEMPTS = 2   # a point whose node dies under it is retried once, on another node
AGAIN = object()  # what _finish says of a point to run again, elsewhere


@dataclass
class Attempt:
    job: Job
    lost_on: dict[str, str] = field(default_factory=dict)  # node id -> "label: error", each node lost under it


class RayExecutor:
    """Runs a plan's build points on the nodes of the Ray cluster at ``address`` (as ``ray.init``
    takes it; None: Ray's default). ``ship_dataset`` sends the dataset through the object store even
    to nodes that see it at the driver's path."""

    def __init__(self, address: str | None, plan, ship_dataset: bool = False) -> None:
        self.address, self.plan, self.ship_dataset = address, plan, ship_dataset
        # read before run_plan fills in the driver's default: 0 lets each node take its own share
        self.memory_limit = plan.memory_limit_bytes
        self._ray = ray_cluster.connect(address)  # now: a bad address fails before the sweep writes anything
        self.nodes: list[ray_cluster.Node] | None = None

    def _cluster(self):
        """(ray, every node of the cluster), connected and probed once."""
        if self._ray is None:
            self._ray = ray_cluster.connect(self.address)
        if self.nodes is None:
            from annbench.backends import registry
            from annbench.data.hdf5io import sample_fingerprint

            libraries = sorted({lib for bp in self.plan.builds for lib in registry.get(bp.index).libraries})
            self.nodes = ray_cluster.nodes(self._ray, os.path.abspath(self.plan.dataset),
                                           sample_fingerprint(self.plan.dataset), libraries, self.ship_dataset)
        if all(n.unused for n in self.nodes):
            why = "; ".join(f"{n.label}: {n.unused}" for n in self.nodes) or "no node alive"
            self._disconnect()
            raise UserError(f"no node of the Ray cluster can run points ({why})")
        return self._ray, self.nodes

    def _disconnect(self) -> None:
        if self._ray is not None:
            self._ray.shutdown()
        self._ray = self.nodes = None

    def describe(self) -> dict:
        ray, nodes = self._cluster()
        return {"kind": "ray", "address": self.address or "default", "ray_version": ray.__version__,
                "nodes": [n.describe() for n in nodes]}

    def run(self, jobs: list[Job], store, on_poll: Callable[[Job], None]) -> Iterator[tuple[Job, str | None]]:
        try:
            yield from self._run(jobs, store, on_poll)
        finally:
            self._disconnect()

    def _run(self, jobs: list[Job], store, on_poll: Callable[[Job], None]) -> Iterator[tuple[Job, str | None]]:
        ray, nodes = self._cluster()
        free = [n for n in nodes if not n.unused]
        _announce(nodes)
        data = self._ship(ray, free) if jobs else None
        task = ray.remote(ray_node.run_point)
        queue, running = deque(Attempt(job) for job in jobs), {}
        while queue or running:
            for node in list(free):
                att = next((a for a in queue if node.node_id not in a.lost_on), None)
                if att is not None:
                    queue.remove(att)
                    free.remove(node)
                    running[self._start(task, att, node, data)] = (att, node)
            if not running:  # what is left has no node still up that it may run on
                for att in queue:
                    yield att.job, _lost_reason(att, "no node of the Ray cluster is left to run it")
                return
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            for att, _ in running.values():
                on_poll(att.job)
            for ref in ready:
                att, node = running.pop(ref)
                outcome, node_ok = self._finish(ray, ref, att, node, store)
                if node_ok:
                    free.append(node)
                if outcome is AGAIN:
                    queue.appendleft(att)
                else:
                    yield att.job, outcome

    def _ship(self, ray, nodes: list[ray_cluster.Node]):
        """An object ref of the dataset file's bytes when some node must receive them, else None."""
        if all(n.facts["dataset"] == ray_node.SHARED for n in nodes):
            return None
        import numpy as np

        return ray.put(np.memmap(self.plan.dataset, dtype=np.uint8, mode="r").view(np.ndarray))

    def _start(self, task, att: Attempt, node: ray_cluster.Node, data):
        att.job.spec["node"] = node.label
        spec = {**att.job.spec, "dataset": os.path.abspath(att.job.spec["dataset"])}
        shipped = data if node.facts["dataset"] == ray_node.SHIPPED else None
        return ray_cluster.whole_node(task, node).remote(spec, self.plan.timeout_s, self.memory_limit,
                                                         _forwarded(spec["threads"]), shipped)

    def _finish(self, ray, ref, att: Attempt, node: ray_cluster.Node, store) -> tuple[object, bool]:
        """(None, the reason the point failed, or AGAIN; whether ``node`` may run more points)."""
        from ray import exceptions as rx

        try:
            result = ray.get(ref)
        except rx.RayTaskError as exc:  # run_point itself raised (the dataset changed, say)
            return f"on {node.label}: {ray_cluster.error_text(exc)}", True
        except rx.OutOfMemoryError:
            return f"out of memory (Ray's memory monitor stopped it on {node.label})", True
        except rx.RayError as exc:  # the task was lost with its node or its Ray worker
            return _lost(att, node, exc), False
        _store_files(store, att.job, result["files"])
        return result["reason"], True


def _lost(att: Attempt, node: ray_cluster.Node, exc: Exception) -> object:
    """AGAIN while the point has an attempt left, else the reason it is recorded as failed."""
    from ray import exceptions as rx

    what = type(exc).__name__
    print(f"\nannbench: node {node.label} lost {att.job.label} ({what}); it runs no more points", file=sys.stderr)
    if isinstance(exc, rx.TaskUnschedulableError):  # the node was gone before the point started
        return AGAIN
    att.lost_on[node.node_id] = f"{node.label}: {what}"
    if len(att.lost_on) < ATTEMPTS:
        print(f"annbench: {att.job.label}: retrying on another node", file=sys.stderr)
        return AGAIN
    return _lost_reason(att, "its node died")


def _lost_reason(att: Attempt, what: str) -> str:
    return what + (f" ({'; then '.join(att.lost_on.values())})" if att.lost_on else "")


def _store_files(store, job: Job, files: dict[str, bytes]) -> None:
    """Write what the node's worker wrote, each file atomically: the arrays, then the records (a
    record means its point is done), which name the driver's dataset path, as a local sweep's do."""
    from annbench.atomic import atomic_path
    from annbench.results.schema import key_of

    records = sorted(rel for rel in files if rel.startswith("records/"))
    for rel in sorted(set(files) - set(records)):
        with atomic_path(store.root / rel) as tmp:
            tmp.write_bytes(files[rel])
    for rel in records:
        record = json.loads(files[rel])
        store.write_record(key_of(record), {**record, "dataset_path": job.spec["dataset"]})


def _forwarded(threads: int) -> dict:
    """What a node's worker must run under from the driver: the OpenMP/BLAS variables (they key the
    points), the thread counts and the backend plugins."""
    from annbench.backends.registry import PLUGINS_ENV
    from annbench.runner.sweep import thread_vars

    return {**identity.runtime(), **thread_vars(threads), PLUGINS_ENV: os.environ.get(PLUGINS_ENV, "")}


def _announce(nodes: list[ray_cluster.Node]) -> None:
    used = [n.label for n in nodes if not n.unused]
    print(f"ray: {len(used)} node(s) run points: {', '.join(used)}", file=sys.stderr)
    for node in nodes:
        if node.unused:
            print(f"ray: not used: {node.label} ({node.unused})", file=sys.stderr)
