"""``annbench sweep``: build each index once per build setting, sweep search settings x nq."""

from __future__ import annotations

import os
import sys

from annbench.cli.paths import resolve_dataset
from annbench.errors import UserError
from annbench.runner.config import DEFAULTS, as_list, load_config, parse_list

# faiss >= 1.15 brute-forces through BLAS only when nq * d >= 128,000 (nq >= 250 at d = 512),
# which makes exact search at nq = 100 about ten times slower than with BLAS. annbench restores
# faiss's long-standing rule, BLAS from 20 queries a batch, unless --blas-threshold says otherwise.
BLAS_FROM_NQ = 20
DEFAULT_DATASET = "clip-synth"  # the built-in default, made by `annbench datasets make clip-synth`


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="measure recall, QPS, latency, build time and memory", allow_abbrev=False,
                       description="Index parameters are given as --NAME v1,v2 (see `annbench indexes`).")
    p.add_argument("--config", help="YAML file with several indexes")
    p.add_argument("--dataset", help=f"dataset name (in datasets/) or path of an HDF5 file (default: {DEFAULT_DATASET})")
    p.add_argument("--queries", help="query sets, comma-separated (default: all)")
    p.add_argument("--index", help="index backend (see `annbench indexes`)")
    p.add_argument("--nq", help="query batch sizes, e.g. 1,10,100,1000")
    p.add_argument("--k", type=int)
    p.add_argument("--device", help="cpu, gpu or cpu,gpu")
    p.add_argument("--threads", type=int, help="threads for every library (default: all cores)")
    p.add_argument("--results", default=None, help="results directory (default: results/NAME)")
    p.add_argument("--timeout", type=float, help="seconds per build point before it is recorded as failed")
    p.add_argument("--memory-limit-gb", type=float, help="resident memory per build point (default 80%% of RAM)")
    p.add_argument("--min-time", type=float, help="minimum measuring time per point, seconds")
    p.add_argument("--save-neighbors", action="store_true", default=None, help="keep the returned ids of every point")
    p.add_argument("--retry-failed", action="store_true",
                   help="measure again the points stored as failed or skipped (a failure is otherwise a result)")
    p.add_argument("--blas-threshold", type=int, help="faiss distance_compute_blas_threshold (nq*d at which brute force uses BLAS)")
    p.set_defaults(func=run)


def _index_params(index: str, extra: list[str]) -> tuple[dict, dict]:
    """Turn ``--nlist 256,1024 --nprobe 1,8`` into build and search value lists."""
    from annbench.backends import registry

    cls = registry.get(index)
    build, search, i = {}, {}, 0
    while i < len(extra):
        flag = extra[i]
        if not flag.startswith("--") or i + 1 >= len(extra):
            raise UserError(f"unexpected argument {flag!r} (parameters are given as --NAME v1,v2)")
        name, text = flag[2:].replace("-", "_"), extra[i + 1]
        if name in cls.build_params:
            build[name] = parse_list(text, isinstance(cls.build_params[name], str))
        elif name in cls.search_params:
            search[name] = parse_list(text, isinstance(cls.search_params[name], str))
        else:
            known = ", ".join([*cls.build_params, *cls.search_params]) or "none"
            raise UserError(f"unknown parameter --{name} for {index} (known: {known})")
        i += 2
    return build, search


def _settings(args, cfg: dict) -> dict:
    s = {**DEFAULTS, **{k: v for k, v in cfg.items() if k in DEFAULTS}}
    for name in ("k", "threads", "timeout", "min_time", "memory_limit_gb", "save_neighbors", "blas_threshold"):
        value = getattr(args, name)
        if value is not None:
            s[name] = value
    if args.nq:
        s["nq"] = parse_list(args.nq)
    if args.device:
        s["device"] = parse_list(args.device)
    s["nq"], s["device"] = as_list(s["nq"]), as_list(s["device"])
    return s


def _check(s: dict, info: dict, query_sets: list[str]) -> None:
    if any(not isinstance(n, int) or n < 1 for n in s["nq"]):
        raise UserError(f"--nq values must be positive integers, got {s['nq']}")
    if bad := [d for d in s["device"] if d not in ("cpu", "gpu")]:
        raise UserError(f"unknown device(s) {', '.join(map(str, bad))} (use cpu, gpu)")
    if s["k"] < 1 or s["k"] > info["n"]:
        raise UserError(f"k={s['k']} must be between 1 and the base size n={info['n']}")
    for name in query_sets:
        if name not in info["query_sets"]:
            raise UserError(f"dataset has no query set {name!r} (it has: {', '.join(info['query_sets'])})")
        depth = info["query_sets"][name][1]
        if s["k"] > depth:
            raise UserError(f"k={s['k']} exceeds the ground-truth depth {depth} of query set {name!r}")


def _check_compatible(path, info: dict, builds: list) -> None:
    """A float index on binary codes (or the reverse) measures nothing: refuse it before anything runs."""
    from annbench.backends import registry

    for name in dict.fromkeys(bp.index for bp in builds):
        metrics = registry.get(name).metrics
        if info["metric"] not in metrics:
            raise UserError(f"index {name!r} searches {'/'.join(metrics)} data, but dataset {info['name']!r} "
                            f"is {info['metric']} ({info['point_type']} vectors)")
    if any(search.get("rerank") for bp in builds for search in bp.searches):
        from annbench.data.parent import check_parent

        check_parent(path)  # re-rank reads the float parent: is it there? (workers also check its fingerprint)


def build_plan(args, extra: list[str]):
    import psutil

    from annbench.data.hdf5io import describe, sample_fingerprint
    from annbench.runner.plan import Plan, expand_index

    cfg = load_config(args.config) if args.config else {}
    if not args.config and not args.index:
        raise UserError("give --index NAME (with its parameters) or --config FILE.yaml")
    if args.config and extra:
        raise UserError(f"unexpected arguments with --config: {' '.join(extra)}")
    dataset = args.dataset or cfg.get("dataset") or DEFAULT_DATASET
    try:
        path = resolve_dataset(str(dataset))
    except UserError:
        if args.dataset or cfg.get("dataset"):
            raise
        raise UserError(f"the default dataset {DEFAULT_DATASET!r} is not made yet: run `annbench datasets make "
                        f"{DEFAULT_DATASET}` (or `make bench`), or give --dataset NAME|PATH") from None
    info = describe(path)
    s = _settings(args, cfg)
    queries = parse_list(args.queries, True) if args.queries else as_list(cfg.get("queries", list(info["query_sets"])))
    _check(s, info, queries)
    entries = cfg.get("indexes") or [{"index": args.index, **dict(zip(("build", "search"), _index_params(args.index, extra)))}]
    builds = []
    for entry in entries:
        build = {k: as_list(v) for k, v in (entry.get("build") or {}).items()}
        search = {k: as_list(v) for k, v in (entry.get("search") or {}).items()}
        builds += expand_index(entry["index"], build, search, s["device"], info["n"], info["d"])
    _check_compatible(path, info, builds)
    limit = int(s["memory_limit_gb"] * 2**30) if s["memory_limit_gb"] else int(0.8 * psutil.virtual_memory().total)
    plan = Plan(dataset=str(path), dataset_name=info["name"], query_sets=queries, k=s["k"], nqs=s["nq"],
                threads=s["threads"] or os.cpu_count() or 1, builds=builds, timeout_s=float(s["timeout"]),
                memory_limit_bytes=limit, min_time_s=float(s["min_time"]),
                save_neighbors=bool(s["save_neighbors"]), retry_failed=bool(getattr(args, "retry_failed", False)),
                dataset_fingerprint=sample_fingerprint(path),
                blas_threshold=s["blas_threshold"] if s["blas_threshold"] is not None
                else BLAS_FROM_NQ * info["d"])
    results = args.results or cfg.get("results") or os.path.join("results", info["name"])
    _check_same_data(results, info, plan.dataset_fingerprint)
    return plan, results


def _check_same_data(results: str, info: dict, fingerprint: str) -> None:
    """Records are keyed by dataset name: refuse to resume onto records of a different dataset
    that carries the same name (say clip-synth made again at another n or seed), which would pass as done."""
    from annbench.results.store import ResultStore

    if not os.path.isdir(os.path.join(results, "records")):
        return
    for rec in ResultStore(results).records():
        if rec.get("dataset") != info["name"] or rec.get("status") != "ok":
            continue
        if (rec.get("nb"), rec.get("d")) != (info["n"], info["d"]):
            raise UserError(f"{results} holds results for a dataset {info['name']!r} of n={rec.get('nb')} "
                            f"d={rec.get('d')}, but this one has n={info['n']} d={info['d']}: "
                            f"give another --results, or rename the dataset")
        if rec.get("dataset_fingerprint") and rec["dataset_fingerprint"] != fingerprint:
            raise UserError(f"{results} holds results for another dataset named {info['name']!r} (same size, "
                            f"other vectors): give another --results, or rename the dataset")
        return


def run(args) -> int:
    from annbench.runner.sweep import run_plan

    plan, results = build_plan(args, getattr(args, "extra", []))
    print(f"sweep: {len(plan.builds)} build point(s), {plan.n_points()} measured point(s) -> {results}", file=sys.stderr)
    counts = run_plan(plan, results)
    retried = f" ({counts['retried']} earlier failed or skipped, retried)" if counts["retried"] else ""
    print(f"sweep done: {counts['measured']} measured, {counts['resumed']} already stored, "
          f"{counts['failed']} failed, {counts['skipped']} skipped{retried} -> {results}")
    return 0
