"""annbench's measuring overhead: the QPS the runner reports against a bare loop that
calls the same library directly, on the same data, in the same process (goal >= 0.97).

Short rounds alternate (annbench, bare, annbench, bare, ...) and the figure is
the median of the ratios of adjacent rounds, so that drift in machine load
cancels out (on a shared VM single rounds of the very same loop vary by +-20%).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from annbench.backends import registry
from annbench.cli.paths import resolve_dataset
from annbench.data.hdf5io import read_dataset
from annbench.runner.timing import QueryOrder, TimingRule, time_round

CASES = {  # backend, build params, search params, the bare library call
    "ivf_flat": ({"nlist": 256}, {"nprobe": 16}, lambda b: b.index.search),
    "hnswlib": ({"M": 16, "ef_construction": 100}, {"ef": 64}, lambda b: b.index.knn_query),
}


def bare_qps(call, inputs: list[np.ndarray], k: int, min_time_s: float) -> float:
    """The loop a user would write around the library: no timing per batch, no bookkeeping."""
    call(inputs[0], k)
    queries, start = 0, time.perf_counter()
    while True:
        for xq in inputs:
            call(xq, k)
        queries += sum(len(x) for x in inputs)
        wall = time.perf_counter() - start
        if wall >= min_time_s:
            return queries / wall


def compare(backend, call, xq: np.ndarray, k: int, nq: int, rounds: int, min_time_s: float
            ) -> tuple[float, float, float, float]:
    """Median QPS of each side, the median ratio of adjacent rounds, and that ratio for a point's first
    round (which also keeps the ids it returns, for recall)."""
    order = QueryOrder(xq, seed=0)
    inputs = [np.ascontiguousarray(order.batch(i, nq)) for i in range(-(-len(xq) // nq))]  # the same batches
    rule = TimingRule(min_time_s=min_time_s, repeats=1, min_batches=1)  # one round of the runner's timing loop
    ours, bare, first = [], [], []
    for _ in range(rounds):
        ours.append(time_round(backend.search, order, nq, k, rule).qps)
        bare.append(bare_qps(call, inputs, k, min_time_s))
        first.append(time_round(backend.search, order, nq, k, rule, np.full((len(xq), k), -1, np.int64)).qps)
    ratios = [a / b for a, b in zip(ours, bare)]
    firsts = [a / b for a, b in zip(first, bare)]
    return statistics.median(ours), statistics.median(bare), statistics.median(ratios), statistics.median(firsts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="clip-synth")
    p.add_argument("--queries", default="text")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--nq", default="1,1000")
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--min-time", type=float, default=0.3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    ds = read_dataset(resolve_dataset(args.dataset))
    xq = ds.query_set(args.queries).queries
    print(f"dataset {ds.name}: nb={ds.nb} d={ds.d}, {len(xq)} {args.queries} queries, k={args.k}, threads={args.threads}")
    print(f"{'index':10} {'nq':>5} {'annbench QPS':>14} {'bare QPS':>12} {'ratio':>7} {'first round':>12}  "
          "(QPS: medians; ratio: median of adjacent rounds; first round: the ratio of a point's first round, "
          "which also keeps the ids for recall)")
    worst = float("inf")
    for name, (build, search, bare_call) in CASES.items():
        backend = registry.get(name)(ds.d, ds.metric, "cpu", args.threads, **build)
        backend.train(ds.xb)
        backend.add(ds.xb)
        backend.set_search_params(**search)
        for nq in (int(v) for v in args.nq.split(",")):
            ours, bare, ratio, first = compare(backend, bare_call(backend), xq, args.k, nq, args.rounds,
                                               args.min_time)
            worst = min(worst, ratio, first)
            print(f"{name:10} {nq:>5} {ours:>14,.0f} {bare:>12,.0f} {ratio:>7.3f} {first:>12.3f}")
    print(f"lowest ratio: {worst:.3f}  (goal >= 0.97)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
