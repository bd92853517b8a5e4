"""Pipeline: the first n base vectors of a dataset, with its queries and exact ground truth over those n.

Nested prefixes of one base are how ``annbench scale`` shows the answer moving
with n: every size shares the same vectors and queries, only the base grows.
The truth of each prefix is computed once (blocked, from the file) and kept in
its own file, named after the source and n; a prefix file is reused only when
it records the same source fingerprint and n.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from annbench.data.hdf5io import RowReader, dataset_writer, open_h5, read_dataset, sample_fingerprint
from annbench.data.model import QuerySet
from annbench.errors import UserError
from annbench.groundtruth.exact import exact_knn

CHUNK = 65536


def prefix_name(source_name: str, n: int) -> str:
    return f"{source_name}-first{n}"


def _matches(path: Path, fingerprint: str, n: int) -> bool:
    if not path.is_file():
        return False
    try:
        with open_h5(path) as f:
            attrs = f["annbench"].attrs if "annbench" in f else {}
            return str(attrs.get("prefix_source_fingerprint", "")) == fingerprint and int(attrs.get("prefix_n", -1)) == n
    except (UserError, OSError, KeyError, ValueError):
        return False


def make_prefix(source: str | os.PathLike, n: int, out_dir: str | os.PathLike, k: int | None = None,
                chunk: int = CHUNK) -> Path:
    """``out_dir/NAME-firstN.hdf5``: the first ``n`` base rows of ``source``, its query sets, exact truth
    (depth ``k``, default the source's, at most n) over the prefix. Reused when already made from this source."""
    source = Path(source)
    src = read_dataset(source, lazy_base=True)
    if not 1 <= n <= src.nb:
        raise UserError(f"n={n} must be between 1 and the {src.nb} base vectors of {src.name}")
    fingerprint = sample_fingerprint(source)
    out = Path(out_dir) / f"{prefix_name(src.name, n)}.hdf5"
    if _matches(out, fingerprint, n):
        return out
    if src.point_type == "bit":
        raise UserError(f"{src.name} holds binary codes: scale takes prefixes of float datasets "
                        "(binarise each prefix instead)")
    depth = min(k or max(qs.gt_depth for qs in src.query_sets.values()), n)
    kept = {key: v for key, v in src.attrs.items() if key != "query_set_order"}
    attrs = {**kept, "scale_family": src.attrs.get("scale_family", src.name), "prefix_n": n,
             "prefix_of": src.name, "prefix_source_fingerprint": fingerprint, "prefix_source_n": src.nb}
    with dataset_writer(out, metric=src.metric, d=src.xb.shape[1], point_type=src.point_type,
                        base_modality=src.base_modality, force=True, attrs=attrs) as w:
        train = w.create_base(n, src.xb.shape[1], dtype=src.xb.dtype)
        for start in range(0, n, chunk):
            train[start:min(n, start + chunk)] = src.xb[start:min(n, start + chunk)]
        w.set_base_labels(src.base_labels[:n] if src.base_labels is not None else None)
        for qs in src.query_sets.values():
            D, I = exact_knn(RowReader(train), qs.queries, depth, src.metric, block=chunk)
            pairs = None if qs.pairs is None else np.where(qs.pairs < n, qs.pairs, -1)
            w.add_query_set(QuerySet(qs.name, qs.queries, I, D, qs.modality, qs.labels, pairs, qs.task))
    return out
