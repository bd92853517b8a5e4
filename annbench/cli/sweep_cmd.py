"""``annbench sweep``: parse the command line and the config into a plan; the runner checks and runs it."""

from __future__ import annotations

import math
import os

from annbench.cli.paths import resolve_dataset
from annbench.errors import UserError
from annbench.runner.blas import BLAS_FROM_NQ
from annbench.runner.config import DEFAULTS, as_list, load_config, parse_list

DEFAULT_DATASET = "clip-synth"  # the built-in default, made by `annbench datasets make clip-synth`


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="measure recall, QPS, latency, build time and memory", allow_abbrev=False,
                       description="Index parameters are given as --NAME v1,v2 (see `annbench indexes`).")
    p.add_argument("--config", help="YAML file with several indexes")
    p.add_argument("--dataset", help=f"dataset name (in datasets/) or path of an HDF5 file (default: {DEFAULT_DATASET})")
    p.add_argument("--queries", help="query sets, comma-separated (default: all)")
    p.add_argument("--index", help="index backend (see `annbench indexes`)")
    p.add_argument("--nq", help="query batch sizes, e.g. 1,10,100,1000 (at most the query set's size)")
    p.add_argument("--k", type=int, help="neighbours returned per query, recall@k (default 10; at most the truth's depth)")
    p.add_argument("--device", help="cpu, gpu or cpu,gpu")
    p.add_argument("--gpus", help="GPUs each GPU point's index is spread over, e.g. 1,2 (default 1; --device gpu)")
    p.add_argument("--gpu-mode", help="past one GPU: replicate (every GPU holds the whole index and searches a share "
                                      "of each batch; default) or shard (every GPU holds a share of the base and "
                                      "searches every query, results merged); or replicate,shard")
    p.add_argument("--results", default=None, help="results directory (default: results/NAME)")
    add_measuring_options(p)
    p.add_argument("--rerank", help="binary codes: re-rank the top R codes by their float vectors, e.g. 0,100")
    p.add_argument("--filter-selectivity", metavar="S,...",
                   help="filtered search: each point searches only a seeded random fraction S of the base, "
                        "e.g. 0.001,0.01,0.1,0.5 (attribute annbench_tag < round(S*n))")
    p.add_argument("--filter", action="append", metavar='"NAME OP VALUE"',
                   help='filtered search on an integer attribute the dataset stores, e.g. "cluster == 3" '
                        "(OP: == != < <= > >=); repeat for several")
    p.add_argument("--retry-failed", action="store_true",
                   help="measure again the points stored as failed or skipped (a failure is otherwise a result)")
    p.add_argument("--blas-threshold", type=int,
                   help=f"faiss distance_compute_blas_threshold (default: BLAS from {BLAS_FROM_NQ} queries a batch)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run the build points as tasks of a Ray cluster, one whole node each: ADDRESS as "
                        "`ray.init` takes it (host:port, auto, ray://...); none: Ray's default (RAY_ADDRESS, "
                        "else a cluster started here, else a new local one). Needs the `cluster` extra")
    p.set_defaults(func=run)


def add_measuring_options(p) -> None:
    """How every point is measured: the options a sweep shares with the commands that run sweeps."""
    p.add_argument("--threads", type=int, help="threads for every library (default: every core this process may use)")
    p.add_argument("--timeout", type=float, help="seconds per build point before it is recorded as failed")
    p.add_argument("--memory-limit-gb", type=float, help="resident memory per build point (default 80%% of RAM)")
    p.add_argument("--min-time", type=float, help="measuring time per point in seconds, shared by its rounds")
    p.add_argument("--repeats", type=int, help="rounds per point, interleaved across the search settings (default 3)")
    p.add_argument("--save-neighbors", action="store_true", default=None, help="keep the returned ids of every point")
    p.add_argument("--clients", help="concurrent clients, e.g. 1,4,16: each point is also timed under that load, "
                                     "every client issuing batches of nq single-threaded (threads default to 1)")


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
    for name in ("k", "threads", "timeout", "min_time", "repeats", "memory_limit_gb", "save_neighbors",
                 "blas_threshold", "filter_selectivity", "filter"):
        value = getattr(args, name, None)  # scale and tune have no filter options
        if value is not None:
            s[name] = value
    for name in ("nq", "device", "rerank", "clients", "gpus", "gpu_mode"):
        if getattr(args, name, None) is not None:  # scale has no GPU options
            s[name] = parse_list(getattr(args, name))
    for name in ("nq", "device", "rerank"):
        s[name] = as_list(s[name])
    s["clients"] = [None] if s["clients"] is None else as_list(s["clients"])
    _gpu_options(s)
    if s["clients"] != [None] and args.threads is None and "threads" not in cfg:
        s["threads"] = 1  # every client searches single-threaded (runner/clients.py)
    if not _number(s["threads"]) or s["threads"] < 0:
        raise UserError(f"threads must be an integer >= 1 (or 0 for every core), got {s['threads']!r}")
    if not _number(s["memory_limit_gb"]) or s["memory_limit_gb"] < 0:
        raise UserError(f"memory limit must be a number of GB >= 0, got {s['memory_limit_gb']!r}")
    return s


def _gpu_options(s: dict) -> None:
    """``gpus`` and ``gpu_mode`` as lists (default: one GPU, replicas past one); either given asks for GPU
    points, and a mode for more than one GPU. Their values are the runner's to check (runner/checks.py)."""
    given = [f"--{n.replace('_', '-')}" for n in ("gpus", "gpu_mode") if s[n] is not None]
    if given and "gpu" not in s["device"]:
        raise UserError(f"{' and '.join(given)} spread GPU points over GPUs: give --device gpu (or cpu,gpu)")
    if s["gpu_mode"] is not None and s["gpus"] is None:
        raise UserError("--gpu-mode says how a point spreads over --gpus N > 1: give --gpus too")
    s["gpus"] = as_list(s["gpus"]) if s["gpus"] is not None else [1]
    s["gpu_mode"] = as_list(s["gpu_mode"]) if s["gpu_mode"] is not None else ["replicate"]


def _filters(s: dict, nb: int) -> list:
    """The key filters to cross with every point: seeded selectivities, then expressions; [None]: none."""
    from annbench.data.filters import parse_expression, seeded

    sel = s["filter_selectivity"]
    sels = parse_list(sel) if isinstance(sel, str) else as_list(sel) if sel is not None else []
    exprs = as_list(s["filter"]) if s["filter"] is not None else []
    return [seeded(v, nb) for v in sels] + [parse_expression(e) for e in exprs] or [None]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _dataset(args, cfg: dict):
    dataset = args.dataset or cfg.get("dataset") or DEFAULT_DATASET
    try:
        return resolve_dataset(str(dataset))
    except UserError:
        if args.dataset or cfg.get("dataset"):
            raise
        raise UserError(f"the default dataset {DEFAULT_DATASET!r} is not made yet: run `annbench datasets make "
                        f"{DEFAULT_DATASET}` (or `make bench`), or give --dataset NAME|PATH") from None


def build_plan(args, extra: list[str], check_n: int | None = None):
    """The sweep's plan and results directory. ``check_n``: the base size its settings are checked
    against (default: the dataset's; ``scale`` gives its largest size and drops at each smaller one
    what does not fit there)."""
    from annbench.data.hdf5io import describe
    from annbench.runner.identity import cores
    from annbench.runner.plan import Plan, expand_index
    from annbench.runner.timing import TimingRule

    if args.config and args.index:
        raise UserError("give --index NAME (with its parameters) or --config FILE.yaml, not both")
    if not args.config and not args.index:
        raise UserError("give --index NAME (with its parameters) or --config FILE.yaml")
    cfg = load_config(args.config) if args.config else {}
    if args.config and extra:
        raise UserError(f"unexpected arguments with --config: {' '.join(extra)}")
    path = _dataset(args, cfg)
    info = describe(path)
    s = _settings(args, cfg)
    queries = parse_list(args.queries, names=True) if args.queries is not None else as_list(cfg.get("queries", list(info["query_sets"])))
    entries = cfg.get("indexes") or [{"index": args.index, **dict(zip(("build", "search"), _index_params(args.index, extra)))}]
    builds = []
    for entry in entries:
        build = {k: as_list(v) for k, v in (entry.get("build") or {}).items()}
        search = {k: as_list(v) for k, v in (entry.get("search") or {}).items()}
        reranks = as_list(entry["rerank"]) if "rerank" in entry else s["rerank"]
        builds += expand_index(entry["index"], build, search, s["device"], check_n or info["n"], info["d"], reranks,
                               s["gpus"], s["gpu_mode"])
    timing = TimingRule(min_time_s=s["min_time"], repeats=s["repeats"], min_batches=s["min_batches"])
    plan = Plan(dataset=str(path), dataset_name=info["name"], query_sets=queries, k=s["k"], nqs=s["nq"],
                threads=s["threads"] or cores(), builds=builds, timeout_s=s["timeout"],
                memory_limit_bytes=int(s["memory_limit_gb"] * 2**30), timing=timing,
                save_neighbors=s["save_neighbors"], retry_failed=bool(getattr(args, "retry_failed", False)),
                blas_threshold=s["blas_threshold"], clients=s["clients"], filters=_filters(s, info["n"]))
    results = args.results or cfg.get("results") or os.path.join("results", info["name"])
    return plan, results


def _executor(args, plan):
    """None (this machine, one build point at a time) unless --ray: Ray is imported only then."""
    if getattr(args, "ray", None) is None:
        return None
    from annbench.runner.ray_executor import RayExecutor

    return RayExecutor(args.ray or None, plan)


def run(args) -> int:
    from annbench.runner.sweep import run_plan

    plan, results = build_plan(args, getattr(args, "extra", []))
    counts = run_plan(plan, results, executor=_executor(args, plan))
    retried = f" ({counts['retried']} earlier failed or skipped, retried)" if counts["retried"] else ""
    print(f"sweep done: {counts['measured']} measured, {counts['resumed']} already stored, "
          f"{counts['failed']} failed, {counts['skipped']} skipped{retried} -> {results}")
    return 0
