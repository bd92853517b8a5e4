"""The timing contract, checked with a backend of known cost on an injected clock: exact counts of
timed queries and batches, warm-up and untimed fill outside the timed span, spread from the rounds."""

import numpy as np
import pytest

from annbench.runner.timing import PERCENTILE_MIN_BATCHES, QueryOrder, TimingRule, percentiles, summarize, time_round


class FakeClock:
    """Time moves only when the fake index searches: ``cost_ns`` per query."""

    def __init__(self):
        self.now = 0

    def __call__(self) -> int:
        return self.now


class CostedIndex:
    """Exact search over ``xb`` that costs ``cost_ns`` per query on the fake clock, and logs every call."""

    def __init__(self, xb, clock, cost_ns):
        self.xb, self.clock, self.cost_ns, self.calls = xb, clock, cost_ns, []

    def search(self, xq, k):
        self.calls.append(np.array(xq))
        self.clock.now += len(xq) * self.cost_ns
        scores = xq @ self.xb.T
        I = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, I, 1), I


def _exact_ids(xb, xq, k):
    return np.argsort(-(xq @ xb.T), axis=1, kind="stable")[:, :k]


def _round(index, order, nq, rule, clock, ids=None):
    return time_round(index.search, order, nq, 10, rule, ids, clock=clock, cpu_clock=clock)


def test_a_round_times_exactly_what_the_rule_says(unit_data):
    xb, xq = unit_data  # 50 queries
    clock = FakeClock()
    index = CostedIndex(xb, clock, cost_ns=1_000_000)  # 1 ms a query
    rule = TimingRule(min_time_s=0.3, repeats=3, min_batches=10)  # 0.1 s and 4 batches per round
    order = QueryOrder(xq, seed=0)
    ids = np.full((50, 10), -1)
    rnd = _round(index, order, 10, rule, clock, ids)
    # 10 ms a batch: the round's 0.1 s is reached after exactly 10 batches (100 queries, two passes)
    assert rnd.batch_ns.tolist() == [10_000_000] * 10
    assert rnd.queries == 100 and rnd.wall_ns == 100_000_000 and rnd.qps == 1000.0
    # warm-up (first call, untimed) is the last nq queries of the permutation; nothing was left to fill
    assert len(index.calls) == 1 + 10 and np.array_equal(index.calls[0], xq[order.order[-10:]])
    assert rnd.searched == 10 + 100
    assert (ids == _exact_ids(xb, xq, 10)).all()


class WriteLog(np.ndarray):
    """Ids that log, at every write, how many searches the index had run by then."""

    def __setitem__(self, key, value):
        self.log.append(len(self.index.calls))
        super().__setitem__(key, value)


def test_the_first_round_copies_its_ids_out_only_after_its_last_timed_batch(unit_data):
    xb, xq = unit_data
    clock = FakeClock()
    index = CostedIndex(xb, clock, cost_ns=1_000_000)
    order = QueryOrder(xq, seed=0)
    ids = np.full((50, 10), -1).view(WriteLog)
    ids.log, ids.index = [], index
    rnd = _round(index, order, 10, TimingRule(min_time_s=0.3, repeats=3, min_batches=10), clock, ids)
    assert rnd.batch_ns.size == 10 and len(ids.log) == 5  # the first pass: 5 batches of 10 of the 50 queries
    assert set(ids.log) == {1 + 10}  # after the warm-up and every timed batch: nothing but searching is timed
    assert (np.asarray(ids) == _exact_ids(xb, xq, 10)).all()


def test_a_slow_setting_is_timed_on_a_random_sample_and_the_rest_is_filled_untimed(unit_data):
    xb, xq = unit_data
    clock = FakeClock()
    index = CostedIndex(xb, clock, cost_ns=50_000_000)  # 50 ms a query: slower than the round
    rule = TimingRule(min_time_s=0.3, repeats=3, min_batches=10)
    order = QueryOrder(xq, seed=7)
    ids = np.full((50, 10), -1)
    rnd = _round(index, order, 1, rule, clock, ids)
    assert rnd.batch_ns.size == 4 and rnd.queries == 4  # ceil(10 / 3) batches, though the time was reached at 2
    timed = np.concatenate(index.calls[1:5])
    assert np.array_equal(timed, xq[order.order[:4]])  # the first 4 of the permutation, not rows 0-3
    assert not np.array_equal(order.order[:4], np.arange(4))
    assert rnd.searched == 1 + 4 + 46  # warm-up, timed, untimed fill
    assert rnd.wall_ns == 4 * 50_000_000  # the fill is outside the timed span
    assert (ids == _exact_ids(xb, xq, 10)).all()  # recall covers every query


def test_batches_never_repeat_a_query_and_follow_one_seeded_permutation(unit_data):
    _, xq = unit_data
    a, b = QueryOrder(xq, seed=3), QueryOrder(xq, seed=3)
    assert np.array_equal(a.order, b.order) and sorted(a.order) == list(range(50))
    for i in range(12):  # 7 does not divide 50: batches wrap around the permutation
        rows = a.query_ids(i, 7)
        assert len(set(rows)) == 7
        assert np.array_equal(a.batch(i, 7), xq[rows])
    seen = np.concatenate([a.query_ids(i, 7) for i in range(50)])  # 7 full passes
    assert np.bincount(seen).tolist() == [7] * 50


def test_rounds_give_the_median_and_the_min_max_spread(unit_data):
    xb, xq = unit_data
    clock = FakeClock()
    rule = TimingRule(min_time_s=0.3, repeats=3, min_batches=3)
    order = QueryOrder(xq, seed=0)
    rounds = []
    for cost in (1_000_000, 2_000_000, 4_000_000):  # the machine slows down between rounds
        rounds.append(_round(CostedIndex(xb, clock, cost), order, 10, rule, clock))
    s = summarize(rounds)
    assert [r["qps"] for r in s["rounds"]] == [1000.0, 500.0, 250.0]
    assert (s["qps"], s["qps_min"], s["qps_max"]) == (500.0, 250.0, 1000.0)
    assert s["spread"] == "min-max over rounds"
    assert s["batches_timed"] == 10 + 5 + 3 and s["queries_timed"] == 180
    assert (s["batch_p50_ms_min"], s["batch_p50_ms_max"]) == (10.0, 40.0)
    assert s["batch_p95_ms"] is None or s["batches_timed"] >= 20
    assert s["cpu_util"] == 1.0  # the fake CPU clock moved with the wall clock


@pytest.mark.parametrize("n, present", [(1, {50}), (19, {50}), (20, {50, 95}), (99, {50, 95}), (100, {50, 95, 99})])
def test_percentiles_need_enough_batches(n, present):
    out = percentiles(np.arange(n, dtype=float))
    assert {p for p in PERCENTILE_MIN_BATCHES if out[f"batch_p{p}_ms"] is not None} == present


def test_the_rule_is_part_of_the_key():
    a, b = TimingRule(0.5, 3), TimingRule(0.5, 5)
    assert a.key() != b.key() and a.key()["rule"] and a.key() == TimingRule(0.5, 3).key()
