"""sha256 of downloaded files, recorded beside each one (``FILE.sha256.json``) and checked on later use.

Where the catalogue publishes a checksum it is the reference; otherwise the one
computed at the first complete download is recorded and later downloads and
uses are checked against it (trust on first use: it catches a file that changes
afterwards, on disk or upstream, not one that was wrong from the start).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from annbench.atomic import write_json
from annbench.data.transfer_progress import Progress
from annbench.errors import UserError

RECORD_SUFFIX = ".sha256.json"
CHUNK = 1 << 20


def record_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + RECORD_SUFFIX)


def file_sha256(path: str | os.PathLike, show: bool = True) -> str:
    path = Path(path)
    digest = hashlib.sha256()
    progress = Progress(f"sha256 {path.name}", path.stat().st_size, show=show and path.stat().st_size > 1 << 30)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                progress.update(len(chunk))
    finally:
        progress.close()
    return digest.hexdigest()


def recorded_sha256(path: str | os.PathLike) -> str | None:
    """The checksum recorded for ``path`` (its final name), or None when there is no record."""
    record = record_path(path)
    if not record.exists():
        return None
    try:
        value = json.loads(record.read_text())["sha256"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{record}: not a checksum record (delete it, or download again with --force)") from None
    if not isinstance(value, str) or len(value) != 64:
        raise UserError(f"{record}: not a checksum record (delete it, or download again with --force)")
    return value.lower()


def write_record(path: str | os.PathLike, sha256: str, url: str, published: bool, size: int) -> None:
    write_json(record_path(path), {
        "file": Path(path).name,
        "sha256": sha256,
        "bytes": size,
        "url": url,
        "origin": "published by the catalogue" if published else "computed at the first download",
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def check(path: str | os.PathLike, digest: str, expected: str | None, what: str, hint: str = "") -> None:
    """One-line error when ``digest`` is not ``expected`` (``what`` says where ``expected`` came from)."""
    if expected is not None and digest != expected.lower():
        raise UserError(f"{Path(path).name}: sha256 {digest} does not match the {what} {expected.lower()}"
                        + (f"; {hint}" if hint else ""))


def verify(path: str | os.PathLike, published: str | None = None, url: str = "", show: bool = True) -> str:
    """Check a complete file against the published or recorded checksum; record one where there is none.

    For the importers and for a download that finds its file already there.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    digest = file_sha256(path, show)
    recorded = recorded_sha256(path)
    hint = "the file is damaged or was changed: download it again with --force"
    check(path, digest, published, "published sha256", hint)
    check(path, digest, recorded, f"sha256 recorded in {record_path(path).name}", hint)
    if recorded is None:
        write_record(path, digest, url, published is not None, path.stat().st_size)
    return digest
