"""The result record, version 2.

The key (``KEY_FIELDS``) holds everything that changes a point's numbers, so
that a changed setting, timing rule, library version or machine is a new
point and never resumes onto an old record:

key        dataset, query_set, index, build (dict), search (dict), rerank (the runner's
           float re-rank depth of binary codes, 0 = none), nq, k, device, threads,
           timing (the timing rule: rule, min_time_s, repeats, min_batches, seed),
           blas_threshold (faiss's distance_compute_blas_threshold; None for backends
           that do not run faiss), env (hash of machine + versions + runtime, below)
           and, only where set (a key without them keeps the id it always had):
           clients (C concurrent clients searched the index during the timed rounds, each
           issuing batches of nq; None: one caller), filter (the rows a search may return:
           {"attribute", "op", "value", "selectivity"}; None: every row), gpus and gpu_mode (a GPU
           point spread over gpus > 1 GPUs, "replicate" or "shard"; None: one GPU, or none),
           revision (the backend's ``revision``, bumped when a change to it alters what its points
           measure; None: 0, the backend as first written)

Other fields (``None`` where not measured):

provenance schema, id, run_id, time, node (the host that ran the point), dataset_path, dataset_fingerprint
           (hdf5io.sample_fingerprint), machine (cpu_model, cores, arch, gpus),
           machine_id (hash of machine), versions (distribution==version of python,
           numpy, annbench and the backend's libraries), runtime (the OMP_*, GOMP_*,
           KMP_*, OPENBLAS_*, MKL_*, BLIS_* variables set, but the thread counts)
data       point_type, modality, metric, nb, d, n_queries, vector_bytes (bytes of one
           dataset row), parent_dataset (binary codes)
status     "ok" | "failed" | "skipped"; reason (why, for failed / skipped)
quality    recall (strict), recall_ties (tie-aware), recall_eps (distance threshold);
           binary codes also recall_float, recall_float_ties (against the float parent's truth)
speed      qps (median over rounds of queries / wall seconds of the round's timed batches),
           qps_min, qps_max, spread ("min-max over rounds"), rounds (per round: qps,
           queries, batches, wall_s, cpu_s, batch_p50_ms, started_s: the worker's
           monotonic clock, which orders the rounds of one build point), batch_p50_ms, batch_p95_ms,
           batch_p99_ms (pooled over every timed batch; p95 needs >= 20 batches, p99
           >= 100, else None), batch_p50_ms_min / _max (over the rounds' medians),
           batches_timed, queries_timed, queries_searched (warm-up and untimed fill
           included), measure_s, cpu_util (process CPU seconds / wall seconds while
           timed: the parallelism that really ran; median over rounds)
load       with clients (runner/clients.py): client_rule, clients_mode ("processes" | "threads");
           qps counts every client's queries, the batch percentiles pool every client's batches,
           cpu_util the clients' CPU; queries_searched counts the worker's own searches
build      train_s, train_rows (rows given to train; None: trains nothing), add_s, build_s (= train_s +
           add_s), phases a backend times apart (milvus:
           insert_s, index_build_s, load_s), index_bytes (the index as the
           library serialises it, counted through a writer), memory_bytes (resident-set
           growth of the worker during the build), rss_before_build_bytes,
           peak_rss_build_bytes, peak_rss_search_bytes (peak resident set during the build,
           and during this point's rounds), search_rss_growth_bytes (the most a round raised
           the resident set above where it started), memory_method (how peaks were taken)
size       bytes_per_vector (index_bytes / nb: codes, lists, graph links),
           rerank_bytes_per_vector (float vectors a re-rank keeps beside the codes)
gpu        GPU points only: gpu_model (of the GPUs used: one name, or each different one), gpus_used;
           device_qps, device_qps_min, device_qps_max, device_batch_p50_ms (the same rounds with queries
           resident on the GPU and results left there; qps stays end-to-end, copies included; one GPU
           only), device_share (qps / device_qps); gpu_index_bytes, gpu_peak_search_bytes (device used
           memory above the pre-build baseline: after the build, and the most during the point's rounds;
           summed over the GPUs used, each GPU's own in gpu_index_bytes_per_device and
           gpu_peak_search_bytes_per_device), gpu_memory_method; to_host_s, from_host_s (copy of the
           built index to the host, and a host copy onto the GPU(s))
work       ndis_per_query (distance computations per query searched, every stage counted;
           None where the library keeps no counter)
task       for query sets with a true match per query (annbench.quality): task ("paired" or
           "classification"), n_paired, paired_r1/_r5/_r10 (R@k of the paired item through the
           index) and paired_r1_exact/... (through exact search), or zero_shot_top1/_top5 and
           zero_shot_top1_exact/_top5_exact (zero-shot accuracy)
audit      neighbors_file: path, relative to the results directory, of the returned
           ids (n_queries x k int64 .npy) when the sweep ran with --save-neighbors;
           per_query_recall_file: the tie-aware recall of each query (float32 .npy)
"""

from __future__ import annotations

import hashlib
import json
import numbers

SCHEMA_VERSION = 2
# every recall a record can hold; the first is the default of summaries and plots
RECALL_COLUMNS = ("recall_ties", "recall", "recall_eps", "recall_float_ties", "recall_float")
PERCENTILE_MIN_BATCHES = {50: 1, 95: 20, 99: 100}  # fewer timed batches say nothing about that tail
KEY_FIELDS = ("dataset", "query_set", "index", "build", "search", "rerank", "nq", "k", "device", "threads",
              "timing", "blas_threshold", "env")
# in a point's id only when set, so older records keep their ids
OPTIONAL_KEY_FIELDS = ("clients", "filter", "gpus", "gpu_mode", "revision")


def point_id(key: dict) -> str:
    """Stable id of a point: the same key always maps to the same record file."""
    missing = set(KEY_FIELDS) - set(key)
    if missing:
        raise ValueError(f"point key lacks {', '.join(sorted(missing))}")
    key = {**{k: key[k] for k in KEY_FIELDS}, **{k: key[k] for k in OPTIONAL_KEY_FIELDS if key.get(k) is not None}}
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


def key_of(record: dict) -> dict:
    """The key a stored record was written under."""
    return {**{k: record[k] for k in KEY_FIELDS}, **{k: record.get(k) for k in OPTIONAL_KEY_FIELDS}}


def filter_label(flt) -> str:
    """``annbench_tag < 300 (selectivity 0.01)``; "" for no filter."""
    if not isinstance(flt, dict):
        return ""
    text = f"{flt.get('attribute')} {flt.get('op')} {flt.get('value')}"
    sel = flt.get("selectivity")
    return text + (f" (selectivity {sel:g})" if isinstance(sel, (int, float)) else "")


def device_label(device, gpus, gpu_mode) -> str:
    """``gpu x2 replicate`` for a GPU point spread over several GPUs, else the device as it is: points
    spread otherwise are never grouped, drawn or paired with one-GPU ones."""
    if device != "gpu" or not isinstance(gpus, numbers.Real) or not gpus > 1:
        return device
    return f"gpu x{int(gpus)} {gpu_mode}"


def label(params: dict) -> str:
    """``name=value,...``; parameters left unset (None or "": the engine's own default runs) are not shown."""
    return ",".join(f"{k}={v}" for k, v in params.items() if v is not None and v != "") or "-"


def search_label(search: dict, rerank) -> str:
    """The search setting as people read it, the runner's re-rank depth included where there is one."""
    rerank = int(rerank) if isinstance(rerank, (int, float)) and rerank == rerank else 0
    return label({**search, **({"rerank": rerank} if rerank else {})})
