"""The results directory: ``records/<id>.json``, ``neighbors/<id>.npy``, ``manifests/<run>.json``.

Every file is written atomically, so a sweep killed at any moment leaves only
whole records; a record's presence means its point is done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from annbench.atomic import atomic_path, remove_stale, write_json
from annbench.errors import UserError
from annbench.results.schema import SCHEMA_VERSION, point_id


RECORD_FIELDS = {"dataset", "query_set", "index"}  # what every record ever written holds


def is_record(rec) -> bool:
    """A parsed record file that is a record: a JSON object holding ``RECORD_FIELDS``."""
    return isinstance(rec, dict) and RECORD_FIELDS <= set(rec)


class ResultStore:
    def __init__(self, root: str | os.PathLike, neighbors: bool = False):
        """``neighbors``: a measured point counts as stored only with its returned ids saved beside it, so
        a sweep with ``--save-neighbors`` measures again a point stored without them (its record is replaced
        when the new one is written, never removed before)."""
        self.root = Path(root)
        self.neighbors = neighbors

    def remove_stale_temporaries(self) -> None:
        """Temporary files of a writer that was killed before its rename (never records)."""
        for sub in ("records", "neighbors", "manifests"):
            remove_stale(self.root / sub)

    def record_path(self, rid: str) -> Path:
        return self.root / "records" / f"{rid}.json"

    def has(self, key: dict) -> bool:
        if not self.neighbors:
            return self.record_path(point_id(key)).exists()
        rec = self.record(key)
        if rec is None:
            return False
        saved = rec.get("neighbors_file")
        return rec.get("status", "ok") != "ok" or bool(saved) and (self.root / saved).is_file()

    def record(self, key: dict) -> dict | None:
        """The stored point's record, None when absent, unreadable or not a record."""
        try:
            rec = json.loads(self.record_path(point_id(key)).read_text())
        except (OSError, ValueError):
            return None
        return rec if is_record(rec) else None

    def status(self, key: dict) -> str | None:
        """The stored point's status ("ok", "failed", "skipped"), None when absent or unreadable."""
        rec = self.record(key)
        return None if rec is None else str(rec.get("status", "ok"))

    def forget(self, key: dict) -> None:
        """Remove a point's record, so that the next sweep measures it again."""
        self.record_path(point_id(key)).unlink(missing_ok=True)

    def write_record(self, key: dict, record: dict) -> str:
        rid = point_id(key)
        write_json(self.record_path(rid), {**record, **key, "schema": SCHEMA_VERSION, "id": rid})
        return rid

    def write_neighbors(self, key: dict, I: np.ndarray) -> str:
        return self._write_array(f"neighbors/{point_id(key)}.npy", I.astype(np.int64))

    def write_per_query(self, key: dict, name: str, values: np.ndarray) -> str:
        """One value per query of a point (``recall``), beside its returned ids."""
        return self._write_array(f"neighbors/{point_id(key)}-{name}.npy", values.astype(np.float32))

    def _write_array(self, rel: str, values: np.ndarray) -> str:
        with atomic_path(self.root / rel) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, values)
        return rel

    def write_manifest(self, run_id: str, manifest: dict) -> None:
        write_json(self.root / "manifests" / f"{run_id}.json", manifest)

    def iter_records(self) -> Iterator[dict]:
        """Every record, read one at a time (a caller looking for one need not read them all)."""
        if not self.root.is_dir():
            raise UserError(f"results directory not found: {self.root}")
        if not (self.root / "records").is_dir() and any(self.root.glob("*.json")):
            raise UserError(f"{self.root} holds .json files but no records/ folder: give the results directory "
                            f"itself (the one a sweep's --results named), not a folder inside it")
        for path in sorted((self.root / "records").glob("*.json")):
            try:
                rec = json.loads(path.read_text())
            except (OSError, ValueError):
                raise UserError(f"unreadable result record: {path} (damaged, not JSON: remove it, and the next "
                                "sweep measures its point again)") from None
            if not is_record(rec):
                raise UserError(f"not a result record: {path} (a record is a JSON object holding "
                                f"{', '.join(sorted(RECORD_FIELDS))})")
            yield rec

    def records(self) -> list[dict]:
        return list(self.iter_records())

    def manifests(self) -> dict[str, dict]:
        out = {}
        for path in sorted((self.root / "manifests").glob("*.json")):
            out[path.stem] = json.loads(path.read_text())
        return out

    def neighbors(self, rel: str) -> np.ndarray:
        return np.load(self.root / rel)
