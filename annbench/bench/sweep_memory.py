"""Peak resident memory of a sweep at a million vectors, against what the index itself holds.

Makes clip-synth at ``--n`` (once; kept in the datasets directory), sweeps a
few indexes with the ordinary runner, and prints, per build point, from its
records: the index size, the dataset's base as float32, the worker's resident
size before the build (libraries and queries loaded, base not), its peak
during the build and during the search, and what each peak holds beyond the
resident size before the build and the index. The build reads the base in
chunks (``annbench/runner/base_rows.py``), so the build's excess should stay
near a chunk (512 MiB at d = 512) and, for trained indexes, the training
sample with what the library's training allocates, whatever n is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = """
queries: [text]
k: 10
nq: [100]
min_time: 0.2
repeats: 1
indexes:
  - index: flat
  - index: ivf_flat
    build: {{nlist: [1024]}}
    search: {{nprobe: [16]}}
  - index: ivf_sq8
    build: {{nlist: [1024]}}
    search: {{nprobe: [16]}}
  - index: ivf_pq
    build: {{nlist: [1024], m: [32], nbits: [8]}}
    search: {{nprobe: [16]}}
{extra}"""
HNSW = """  - index: hnsw
    build: {M: [16], ef_construction: [40]}
    search: {ef: [64]}
"""
MB = 1 << 20


def _run(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "annbench", *argv], check=True)


def main(argv: list[str] | None = None) -> int:
    from annbench import load_results

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--nq", type=int, default=1000, help="queries per query set of the dataset made")
    p.add_argument("--hnsw", action="store_true", help="also build HNSW (slow at 1M on 2 cores)")
    p.add_argument("--dir", default="datasets", help="datasets directory")
    args = p.parse_args(argv)
    name = f"clip-synth-n{args.n}"
    path = Path(args.dir) / f"{name}.hdf5"
    if not path.exists():
        _run("datasets", "--dir", args.dir, "make", "clip-synth", "--n", str(args.n), "--nq", str(args.nq),
             "--name", name)
    with tempfile.TemporaryDirectory(prefix="annbench-memory-") as tmp:
        cfg = Path(tmp) / "memory.yaml"
        cfg.write_text(CONFIG.format(extra=HNSW if args.hnsw else ""))
        _run("sweep", "--dataset", str(path), "--config", str(cfg), "--results", str(Path(tmp) / "res"))
        df = load_results(Path(tmp) / "res")
    df = df[df["status"] == "ok"].drop_duplicates(["index", "build_label"] if "build_label" in df else "index")
    base_mb = args.n * 512 * 4 / MB
    print(f"\n{name}: n={args.n:,} d=512, base {base_mb:,.0f} MB as float32; peaks of the sweep's worker process")
    print(f"{'index':10} {'index MB':>9} {'before MB':>10} {'build peak':>11} {'search peak':>12} "
          f"{'build peak - before - index':>28} {'search peak - before - index':>29}")
    for _, r in df.sort_values("index").iterrows():
        index_mb, before = r["index_bytes"] / MB, r["rss_before_build_bytes"] / MB
        build, search = r["peak_rss_build_bytes"] / MB, r["peak_rss_search_bytes"] / MB
        print(f"{r['index']:10} {index_mb:>9,.0f} {before:>10,.0f} {build:>11,.0f} {search:>12,.0f} "
              f"{build - before - index_mb:>28,.0f} {search - before - index_mb:>29,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
