"""Write-then-rename, so that a reader or a killed writer never sees half a file.

Temporaries are hidden files named after their final file and the writer's
process id (``.NAME.PID.XXXX.tmp``, or ``.NAME.PID.tmp-XXXX`` for a folder), so
that the next run can tell the leftovers of a writer killed with ``kill -9``
(its process is gone) from the work of one still running, and remove only
the former (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

_TEMP = re.compile(r"^\..+\.(\d+)\.(?:[^.]+\.tmp|tmp-[^.]+|old-[^.]+)$")


def temp_prefix(final: Path) -> str:
    """``.NAME.PID.``: the start of every temporary name this process makes for ``final``."""
    return f".{final.name}.{os.getpid()}."


def temp_beside(final: Path, folder: bool = False) -> Path:
    """A new temporary file (or folder) for ``final`` in its folder. Failing, the error names ``final``,
    the path the user gave, not the temporary's hidden name."""
    try:
        if folder:
            return Path(tempfile.mkdtemp(prefix=f"{temp_prefix(final)}tmp-", dir=final.parent))
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(final), suffix=".tmp", dir=final.parent)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(final)) from None
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = temp_beside(final)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporaries in ``directory`` whose writer process is gone; returns what was removed.

    A temporary of a live process (another sweep writing a dataset, say) is left alone.
    """
    root = Path(directory)
    removed = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        match = _TEMP.match(path.name)
        if not match or _alive(int(match.group(1))):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def write_json(final: str | os.PathLike, obj) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=_jsonable))


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
