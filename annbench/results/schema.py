"""The result record, version 1.

One record per (dataset, query set, index, build params, search params, nq, k,
device, threads). Fields (``None`` where not measured):

identity   schema, id, run_id, time, dataset, dataset_path, dataset_fingerprint
           (hdf5io.sample_fingerprint), point_type, query_set,
           modality, metric, nb, d, n_queries, index, build (dict), search (dict), nq,
           k, device, threads
status     "ok" | "failed" | "skipped"; reason (why, for failed / skipped)
quality    recall (strict), recall_ties (tie-aware), recall_eps (distance threshold);
           binary codes also recall_float, recall_float_ties (against the float
           parent's truth), parent_dataset
speed      qps (queries / wall seconds over all timed batches), batch_p50_ms,
           batch_p95_ms, batch_p99_ms, batches_timed, queries_timed, measure_s
build      train_s, add_s, build_s (= train_s + add_s), index_bytes,
           memory_bytes (resident-set growth of the process during the build)
size       bytes_per_vector, rerank_bytes_per_vector (float vectors a re-rank keeps)
work       ndis_per_query (distance computations per query searched, where known)
setting    distance_compute_blas_threshold (faiss), library versions in the manifest
audit      neighbors_file: path, relative to the results directory, of the returned
           ids (nq_total x k int64 .npy) when the sweep ran with --save-neighbors
extras     any backend-specific fields
"""

from __future__ import annotations

import hashlib
import json

SCHEMA_VERSION = 1
# every recall a record can hold; the first is the default of summaries and plots
RECALL_COLUMNS = ("recall_ties", "recall", "recall_eps", "recall_float_ties", "recall_float")
KEY_FIELDS = ("dataset", "query_set", "index", "build", "search", "nq", "k", "device", "threads")


def point_key(**fields) -> dict:
    return {name: fields[name] for name in KEY_FIELDS}


def point_id(key: dict) -> str:
    """Stable id of a point: the same settings always map to the same record file."""
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


def label(params: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items()) or "-"
