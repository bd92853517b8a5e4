"""``annbench datasets download NAME | --list``: a public dataset from the catalogue into the datasets directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

MIRROR_ENV = "ANNBENCH_DOWNLOAD_MIRROR"  # base URL holding MIRROR/<name>/<path> for every catalogue file


def add_parser(dsub) -> None:
    p = dsub.add_parser("download", help="download a public dataset of the catalogue (--list): resumable, checksummed")
    p.add_argument("name", nargs="?", help="catalogue name (see --list)")
    p.add_argument("--list", action="store_true", help="print the catalogue: name, size, format, source")
    p.add_argument("--shards", type=int, help="laion400m-emb: how many shards, from shard 0 (default 1)")
    p.add_argument("--n", type=int, help="text2image-*: the first N base rows (HTTP Range; header rewritten)")
    p.add_argument("--url", help=f"base URL replacing the dataset's sources: each file from URL/PATH (${MIRROR_ENV}: "
                                 "the same for every dataset, from MIRROR/NAME/PATH)")
    p.add_argument("--force", action="store_true", help="download again even if present, and record the new sha256")
    p.set_defaults(func=run)


def run(args) -> int:
    from annbench.cli.paths import datasets_dir
    from annbench.data.catalogue import lookup
    from annbench.data.download_plan import make_plan
    from annbench.errors import UserError

    if args.list:
        print_catalogue()
        return 0
    if not args.name:
        raise UserError("give a dataset name to download, or --list for the catalogue")
    plan = make_plan(lookup(args.name), shards=args.shards, n=args.n, url=args.url,
                     mirror=os.environ.get(MIRROR_ENV) or None)
    root = datasets_dir(args.dir)
    folder = root / plan.folder
    for remote in plan.files:
        _fetch(remote, folder, args.force)
    _next_step(args, plan, root, folder)
    return 0


def _fetch(remote, folder: Path, force: bool) -> None:
    from annbench.data.download import download
    from annbench.data.fbin_subset import cut_header

    final = folder / remote.local
    if force or not final.exists():
        print(f"annbench: {remote.url} -> {final} ({remote.size})", file=sys.stderr, flush=True)
    finish = (lambda part: cut_header(part, *remote.rows)) if remote.rows else None
    digest, fetched = download(remote.url, final, size=remote.bytes, sha256=remote.sha256, prefix=remote.prefix,
                               finish=finish, force=force)
    state = "downloaded" if fetched else "present, checked"
    print(f"{state} {final} ({final.stat().st_size:,} bytes, sha256 {digest})")


def _next_step(args, plan, root: Path, folder: Path) -> None:
    entry = plan.entry
    for note in (plan.note, entry.note):
        if note:
            print(f"note: {note}")
    if entry.next_step is None:  # an ann-benchmarks file: a dataset as it is
        target = folder / plan.files[0].local
        link = _link(root, entry.name, target)
        name = entry.name if link and args.dir is None else (link or target)  # sweep finds NAME in the same place
        print(f"ready: annbench sweep --dataset {name}")
        return
    where = f" --dir {args.dir}" if args.dir else ""
    step = entry.next_step.format(folder=folder, name=plan.folder, base=plan.base)
    print(f"next: annbench datasets{where} {step}")


def _link(root: Path, name: str, target: Path) -> Path | None:
    """``root/NAME.hdf5`` -> the downloaded file, so that NAME works as a dataset; None if the name is taken."""
    link = root / f"{name}.hdf5"
    relative = os.path.relpath(target, root)
    if link.is_symlink() and os.readlink(link) == relative:
        return link
    try:
        os.symlink(relative, link)
    except FileExistsError:
        return None
    return link


def print_catalogue() -> None:
    from annbench.data.catalogue import CATALOGUE

    print(f"{'name':22} {'size':24} {'format':20} source")
    for entry in CATALOGUE:
        options = " [--shards N]" if entry.shards else " [--n ROWS]" if entry.rows else ""
        print(f"{entry.name:22} {entry.size:24} {entry.format:20} {entry.source}")
        print(f"{'':22} {entry.title}{options}")
        print(f"{'':22} {entry.confirmed}")
