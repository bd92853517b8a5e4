"""The driver's view of a Ray cluster (``annbench sweep --ray``): connecting, the nodes and what each
reports of itself, and a task that holds one whole node.

A node runs points only when it has CPUs and the same machine facts and library
versions as the driver: every point's key names the driver's environment
(:mod:`annbench.runner.identity`), so a point measured elsewhere would be stored
under a false name. Run the driver on one of the cluster's machines.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field

from annbench.errors import UserError
from annbench.runner import identity, ray_node

CONNECT_TIMEOUT_S = 10.0
CLIENT = "ray://"


@dataclass
class Node:
    node_id: str
    ip: str
    hostname: str
    cpus: float
    gpus: float
    facts: dict = field(default_factory=dict)  # ray_node.probe's answer (nodes with CPUs)
    unused: str = ""                           # why it runs no point ("" when it does)

    @property
    def label(self) -> str:
        """What a record's ``node`` says: host, address and Ray node id."""
        return f"{self.hostname} {self.ip} ray:{self.node_id}"

    def describe(self) -> dict:
        """The node as the run manifest lists it."""
        return {"node": self.label, "cpus": self.cpus, "gpus": self.gpus,
                "memory_bytes": self.facts.get("memory_bytes"), "dataset": self.facts.get("dataset"),
                "runs_points": not self.unused, "unused_because": self.unused or None}


def connect(address: str | None):
    """The ``ray`` module, connected to the cluster at ``address`` (as ``ray.init`` takes it; None:
    Ray's default). UserError when Ray is not installed or the cluster cannot be reached."""
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'annbench[cluster]' (or 'ray>=2.40')") from None
    _check_reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError... by version
        raise UserError(f"cannot connect to a Ray cluster at {address or 'the default address'}: "
                        f"{error_text(exc)}") from None
    return ray


def _check_reachable(address: str | None) -> None:
    """Fail in seconds, not after Ray's minutes of retries, when the address Ray would connect to
    accepts no connection (on Linux, Ray reaches 127.0.0.1 through this machine's own address)."""
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:  # a Ray that moved it: ray.init checks the address itself, more slowly
        return
    given = address or "the default address"
    try:  # a Ray client address (ray://host:port) is taken as it is
        where = address[len(CLIENT):] if address and address.startswith(CLIENT) \
            else canonicalize_bootstrap_address(address)
    except Exception as exc:  # "auto" and no cluster, a malformed address
        raise UserError(f"cannot find a Ray cluster at {given}: {error_text(exc)}") from None
    if where is None:
        return  # no address anywhere: Ray starts one of its own here
    host, _, port = where.rpartition(":")
    if not port.isdigit():
        raise UserError(f"--ray {address}: expected HOST:PORT, auto or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        seen = f" (Ray connects to it as {where})" if not (address or "").endswith(where) else ""
        raise UserError(f"cannot reach a Ray cluster at {given}{seen}: {exc.strerror or exc}") from None


def whole_node(fn, node: Node):
    """``fn`` (a Ray remote function) as a task that holds every CPU and GPU of ``node`` and runs
    nowhere else, not retried by Ray (the executor decides what a lost task means)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return fn.options(num_cpus=node.cpus, num_gpus=node.gpus, max_retries=0,
                      scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False))


def nodes(ray, dataset: str, fingerprint: str, libraries: list[str], ship: bool) -> list[Node]:
    """Every live node, each with CPUs probed, and marked with why it may not run points."""
    found = [Node(n["NodeID"], n["NodeManagerAddress"], n["NodeManagerHostname"],
                  n["Resources"].get("CPU", 0), n["Resources"].get("GPU", 0), unused="no CPUs")
             for n in ray.nodes() if n["Alive"]]
    runnable = [n for n in found if n.cpus >= 1]
    probe = ray.remote(ray_node.probe)
    refs = [whole_node(probe, n).remote(dataset, fingerprint, libraries) for n in runnable]
    want = {"machine": identity.machine(), "versions": identity.versions(libraries)}
    for node, ref in zip(runnable, refs):
        try:
            node.facts = ray.get(ref)
        except ray.exceptions.RayError as exc:  # annbench missing there, say
            node.unused = f"its probe failed: {error_text(exc)}"
            continue
        if ship:
            node.facts["dataset"] = ray_node.SHIPPED
        node.unused = _unfit(node.facts, want)
    return found


def _unfit(facts: dict, want: dict) -> str:
    """Why a node that reported ``facts`` may not run points ("" if it may)."""
    for what in ("machine", "versions"):
        theirs, ours = facts[what], want[what]
        diff = [f"{k} {theirs.get(k)!r}, driver {ours.get(k)!r}" for k in sorted({*theirs, *ours})
                if theirs.get(k) != ours.get(k)]
        if diff:
            return f"its {what} differs from the driver's: {'; '.join(diff)}"
    return ""


def error_text(exc: BaseException) -> str:
    """One line for a Ray error: the task's own exception when it raised one."""
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip()
    return f"{type(cause).__name__}: {text.splitlines()[0]}" if text else type(cause).__name__
