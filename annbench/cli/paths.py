"""Where datasets live: a path as given, else NAME.hdf5 in the datasets directory."""

from __future__ import annotations

import os
from pathlib import Path

from annbench.data.validate import check_name
from annbench.errors import UserError


def datasets_dir(arg: str | None = None) -> Path:
    return Path(arg or os.environ.get("ANNBENCH_DATASETS", "datasets"))


def dataset_file(name: str, directory: str | None = None) -> Path:
    """Where a dataset made or imported as NAME goes: NAME.hdf5 in the datasets directory. A name is
    letters, digits, '_', '-' and '.', not starting with '.': it names that file and ``results/NAME``."""
    return datasets_dir(directory) / f"{check_name(name, 'dataset', hint=', or give --out PATH')}.hdf5"


def refuse_existing(out: Path, force: bool) -> Path:
    """``out``, unless a dataset is there already and ``--force`` was not given."""
    if out.exists() and not force:
        raise UserError(f"dataset already exists: {out} (use --force to replace it)")
    return out


def new_dataset_file(args, name: str) -> Path:
    """Where a command that writes a dataset writes it: ``--out``, else NAME.hdf5 in ``--dir``; never over
    an existing one without ``--force``."""
    return refuse_existing(Path(args.out) if args.out else dataset_file(name, args.dir), args.force)


def resolve_dataset(name_or_path: str, directory: str | None = None) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".hdf5", ".h5") or path.exists():
        if not path.exists():
            raise UserError(f"dataset file not found: {path}")
        return path
    candidate = datasets_dir(directory) / f"{name_or_path}.hdf5"
    if not candidate.exists():
        raise UserError(f"no dataset named {name_or_path!r} (looked for {candidate}; see `annbench datasets list`)")
    return candidate
