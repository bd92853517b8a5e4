"""Import rate and memory of a clip-retrieval folder: vectors per second and peak RSS against the base's bytes.

Generates a clip-retrieval / LAION folder (``img_emb``, ``text_emb`` as float16
shards, ``metadata`` parquet with captions; CLIP-like vectors from the
clip-synth model), then imports it with ``annbench datasets
import-clip-retrieval`` in a child process, once on the first quarter of the
rows (``--max-n``) and once whole. For each it prints the wall time, vectors
per second (base vectors written, ground truth included) and the child's peak
resident memory (``ru_maxrss`` from ``wait4``) next to the bytes of the base as
float32. Streaming holds memory flat: the peak should barely move between the
two sizes while the base grows four times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LIBRARIES = ("import annbench.cli.main, annbench.data.formats.clip_retrieval, "
             "annbench.groundtruth.build_formats, faiss, h5py, numpy, pyarrow.parquet")


def make_folder(root: Path, n: int, d: int, shards: int, seed: int) -> None:
    """A clip-retrieval folder of ``n`` CLIP-like pairs in ``shards`` float16 shards, written a block at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from annbench.data.synth_geometry import build_model, generate

    model = build_model(d, seed)
    for part in ("img_emb", "text_emb", "metadata"):
        (root / part).mkdir(parents=True, exist_ok=True)
    bounds = [int(b) for b in np.linspace(0, n, shards + 1)]
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        for part, modality, stream in (("img_emb", "image", 0), ("text_emb", "text", 2)):
            out = np.lib.format.open_memmap(root / part / f"{part}_{i}.npy", mode="w+", dtype=np.float16,
                                            shape=(b - a, d))
            for s in range(a, b, 65536):
                out[s - a:min(b, s + 65536) - a] = generate(model, modality, stream, s, min(b, s + 65536))
            out.flush()
            del out
        captions = pa.array([f"synthetic caption {j}" for j in range(a, b)])
        pq.write_table(pa.table({"caption": captions, "url": captions}), root / "metadata" / f"metadata_{i}.parquet",
                       row_group_size=65536)


def child_peak(argv: list[str]) -> tuple[float, int, str]:
    """Run ``argv``; returns its wall time, its peak resident bytes (ru_maxrss) and its output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                       os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{output}")
    return seconds, usage.ru_maxrss * 1024, output


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="pairs in the generated folder (default 1,000,000)")
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--queries", type=int, default=1000, help="held-out captions and images, each")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--chunk", type=int, default=65536)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dir", help="work folder (default: a temporary one, removed after)")
    args = p.parse_args(argv)
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="annbench-import-"))
    try:
        # in a child: a child's ru_maxrss starts from its parent's size at fork, so this process stays small
        make = (f"from pathlib import Path; from annbench.bench.import_rate import make_folder; "
                f"make_folder(Path({str(work / 'folder')!r}), {args.n}, {args.d}, {args.shards}, {args.seed})")
        t0 = time.perf_counter()
        child_peak([sys.executable, "-c", make])
        gb = 2 * args.n * args.d * 2 / 1e9
        print(f"generated a clip-retrieval folder: n={args.n:,} d={args.d}, {args.shards} float16 shards per side "
              f"({gb:.2f} GB of image + text vectors) in {time.perf_counter() - t0:.0f} s")
        _, bare, _ = child_peak([sys.executable, "-c", LIBRARIES])
        print(f"peak RSS of a bare interpreter with the import's libraries loaded: {bare / 2**20:.0f} MiB")
        print(f"{'n':>10} {'base MiB':>9} {'seconds':>8} {'vectors/s':>10} {'peak RSS MiB':>13} "
              f"{'above bare':>11} {'peak/base':>10}")
        for n in sorted({max(2 * args.queries + args.k + 1, args.n // 4), args.n}):
            cmd = [sys.executable, "-m", "annbench", "datasets", "import-clip-retrieval", str(work / "folder"),
                   "--name", "bench", "--queries", str(args.queries), "--k", str(args.k), "--chunk", str(args.chunk),
                   "--seed", str(args.seed), "--max-n", str(n), "--out", str(work / f"import-{n}.hdf5"), "--force"]
            seconds, peak, _ = child_peak(cmd)
            nb = n - args.queries
            base = nb * args.d * 4
            print(f"{n:>10,} {base / 2**20:>9.0f} {seconds:>8.1f} {nb / seconds:>10,.0f} {peak / 2**20:>13.0f} "
                  f"{(peak - bare) / 2**20:>11.0f} {peak / base:>10.2f}")
            (work / f"import-{n}.hdf5").unlink()
        print(f"(chunk {args.chunk} rows, {args.queries} text + {args.queries} image queries, exact truth K={args.k}; "
              f"vectors/s counts base vectors, truth included)")
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
