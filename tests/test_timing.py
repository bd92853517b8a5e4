import time

import numpy as np

from annbench.runner.timing import batches, measure


def _exact(xb):
    calls = []

    def search(xq, k):
        calls.append(len(xq))
        s = xq @ xb.T
        I = np.argsort(-s, axis=1)[:, :k]
        return np.take_along_axis(s, I, 1), I
    return search, calls


def test_batches_cover_every_query_with_exactly_nq_each():
    plan = batches(10, 4)
    assert [len(b) for b in plan] == [4, 4, 4]
    assert set(np.concatenate(plan)) == set(range(10))
    assert len(batches(3, 8)) == 1 and len(batches(3, 8)[0]) == 8  # nq > queries: cycle the set


def test_fast_search_times_whole_passes(unit_data):
    xb, xq = unit_data
    search, calls = _exact(xb)
    t = measure(search, xq, 10, 5, min_time_s=0.05)
    assert t.queries_timed % len(xq) == 0 and t.queries_timed >= len(xq)
    assert (t.I == search(xq, 10)[1]).all()
    assert t.qps == t.queries_timed / t.wall_s
    assert calls[0] == 5  # the warm-up batch has the timed shape
    assert t.queries_searched == sum(calls) - 50  # warm-up + timed (the check above searched 50 more)


def test_slow_search_stops_inside_the_first_pass_and_still_covers_every_query(unit_data):
    xb, xq = unit_data
    search, calls = _exact(xb)

    def slow(q, k):
        time.sleep(0.01)
        return search(q, k)
    t = measure(slow, xq, 10, 1, min_time_s=0.02, min_batches=4)
    assert 4 <= t.batch_ms.size < len(xq)
    assert (t.batch_ms >= 10).all()
    searched = sum(calls)
    assert (t.I == search(xq, 10)[1]).all()  # the rest was searched untimed, for recall
    assert t.qps < 100
    # per-query counters (ndis) divide by every query the index saw, the untimed ones too
    assert t.queries_searched == searched == 1 + t.queries_timed + (len(xq) - t.queries_timed)
