"""Timing under load: C concurrent clients search one built index (``--clients``).

The rule (``RULE``, in every such record as ``client_rule``):

- Each client issues batches of ``nq`` queries back to back, its own stretch
  of the sweep's seeded query permutation (client c starts c/C of the way
  through it, so clients do not search the same query at the same moment),
  cyclically, like one caller does (runner/timing.py).
- Every client first searches one untimed warm-up batch, then waits at a
  barrier. When all are ready the round starts; each client times every
  batch it issues and stops at the first batch that ends after the round's
  share of the measuring time (``min_time_s / repeats``). A client always
  times at least one batch.
- QPS = every client's queries / the wall seconds from the start to the end
  of the last client's last batch. Latency percentiles pool the batches of
  every client of every round: what a caller sees under that load.
- Every client searches with one thread: a sweep with clients runs at
  ``--threads 1`` (runner/checks.py), build included, so that concurrency
  comes from the clients, as a server's does, and no forked client inherits
  a thread pool whose threads the fork left behind (an OpenMP pool used
  before a fork hangs the child). CPU time: each client's own while timed
  (a process's for forked clients; the worker's for threads).
- ``processes`` backends (libraries searched in-process): C processes forked
  from the worker after the build, sharing the index copy-on-write. ``threads`` backends (a database's client): C
  threads of the worker; the server searches.

Recall is not taken from the clients: the worker searches the whole query set
once, untimed, in batches, on the same index with the same settings.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import numpy as np

from annbench.runner.timing import QueryOrder, Round, Search

RULE = "clients-barrier-deadline/1"  # change it whenever the rule above changes
MAX_CLIENTS = 256
_HEAD = struct.Struct("<qqqq")  # first batch start, last batch end, CPU ns while timed, batches


def client_fields(clients: int | None, mode: str) -> dict:
    """What a record says of how its clients ran (nothing without --clients)."""
    return {"client_rule": RULE, "clients_mode": mode} if clients else {}


def time_clients(search: Search, order: QueryOrder, nq: int, k: int, clients: int, round_ns: int, mode: str
                 ) -> Round:
    """One round of ``clients`` concurrent clients; ``mode`` "processes" or "threads" (base.py)."""
    if mode == "processes":
        return _processes(search, order, nq, k, clients, round_ns)
    if mode == "threads":
        return _threads(search, order, nq, k, clients, round_ns)
    raise ValueError(f"unknown client mode {mode!r}")


def _offset(client: int, clients: int, order: QueryOrder, nq: int) -> int:
    """The batch a client starts at: c/C of the way through the permutation."""
    return (client * order.n // clients) // max(1, nq)


def _client_loop(search: Search, order: QueryOrder, nq: int, k: int, first: int, deadline: int
                 ) -> tuple[int, int, int, list[int]]:
    """(start, end, CPU ns of this thread and the threads it ran, batch times) of one client's round."""
    times, i, clock = [], first, time.perf_counter_ns
    cpu0, start = time.process_time_ns(), clock()
    while True:
        t0 = clock()
        search(order.batch(i, nq), k)
        t1 = clock()
        times.append(t1 - t0)
        i += 1
        if t1 >= deadline:
            return start, t1, time.process_time_ns() - cpu0, times


def _round(go: int, ends: list[int], times: list, nq: int, cpu_ns: int) -> Round:
    batch_ns = np.concatenate([np.asarray(t, dtype=np.int64) for t in times])
    return Round(batch_ns, max(ends) - go, cpu_ns, int(batch_ns.size) * nq, 0, go)


def _threads(search: Search, order: QueryOrder, nq: int, k: int, clients: int, round_ns: int) -> Round:
    clock, results, errors = time.perf_counter_ns, [None] * clients, []
    go = [0, 0]  # the start, and the process's CPU time then (every thread's: the clients are threads of it)
    barrier = threading.Barrier(clients + 1, action=lambda: go.__setitem__(slice(None), [clock(), time.process_time_ns()]))

    def client(c: int) -> None:
        try:
            search(order.warmup(nq), k)
        except BaseException as exc:  # the barrier must not wait for a client that died
            errors.append(exc)
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            results[c] = _client_loop(search, order, nq, k, _offset(c, clients, order, nq), go[0] + round_ns)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in pool:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    cpu = time.process_time_ns() - go[1]
    return _round(go[0], [r[1] for r in results], [r[3] for r in results], nq, cpu)


def _child(search, order, nq, k, first, ready_w: int, go_r: int, out_w: int) -> None:
    """A forked client: warm up, say ready, wait for the deadline, search until it, send the times."""
    code, ready = 1, False
    try:
        search(order.warmup(nq), k)
        os.write(ready_w, b"r")
        ready = True
        deadline = struct.unpack("<q", _read(go_r, 8))[0]
        start, end, cpu, times = _client_loop(search, order, nq, k, first, deadline)
        _write(out_w, _HEAD.pack(start, end, cpu, len(times)) + np.asarray(times, dtype=np.int64).tobytes())
        code = 0
    except BaseException as exc:  # the parent reads the reason; a forked child never returns to the caller
        try:
            if not ready:  # the parent must not wait for this client: no round starts, the others end
                os.write(ready_w, b"e")
            _write(out_w, _HEAD.pack(-1, -1, -1, -1) + f"{type(exc).__name__}: {exc}".encode()[:4000])
        except OSError:
            pass
    finally:
        os._exit(code)


def _processes(search, order, nq, k, clients, round_ns) -> Round:
    ready_r, ready_w = os.pipe()
    kids: list[tuple[int, int, int]] = []  # pid, go pipe (write end), result pipe (read end)
    try:
        for c in range(clients):
            go_r, go_w = os.pipe()
            out_r, out_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the client
                os.close(ready_r), os.close(go_w), os.close(out_r)
                _child(search, order, nq, k, _offset(c, clients, order, nq), ready_w, go_r, out_w)
            os.close(go_r), os.close(out_w)
            kids.append((pid, go_w, out_r))
        os.close(ready_w)
        ready_w = -1
        got = _read(ready_r, clients, allow_short=True)
        go = time.perf_counter_ns()
        if got == b"r" * clients:  # else a client failed: closing the go pipes ends the others
            for _, go_w, _ in kids:
                os.write(go_w, struct.pack("<q", go + round_ns))
        outputs = [_read_all(out_r) for _, _, out_r in kids]
    finally:
        for pid, go_w, out_r in kids:
            for fd in (go_w, out_r):
                _close(fd)
            os.waitpid(pid, 0)
        for fd in (ready_r, ready_w):
            _close(fd)
    ends, times, failures, cpu = [], [], [], 0
    for out in outputs:
        if len(out) < _HEAD.size:
            failures.append("a client process died before it reported (see the worker's stderr)")
            continue
        start, end, used, n = _HEAD.unpack_from(out)
        if n < 0:
            failures.append(f"a client failed: {out[_HEAD.size:].decode(errors='replace')}")
            continue
        ends.append(end)
        cpu += used
        times.append(np.frombuffer(out, dtype=np.int64, count=n, offset=_HEAD.size))
    if failures:  # the cause first: the others only saw their round called off
        raise RuntimeError(sorted(failures, key=lambda f: "EOFError" in f)[0])
    return _round(go, ends, times, nq, cpu)


def _read(fd: int, n: int, allow_short: bool = False) -> bytes:
    data = b""
    while len(data) < n:
        part = os.read(fd, n - len(data))
        if not part:
            if allow_short:
                return data
            raise EOFError("pipe closed early")
        data += part
    return data


def _read_all(fd: int) -> bytes:
    parts = []
    while part := os.read(fd, 1 << 20):
        parts.append(part)
    return b"".join(parts)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _close(fd: int) -> None:
    try:
        if fd >= 0:
            os.close(fd)
    except OSError:
        pass
