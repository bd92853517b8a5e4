"""Fetch one file over HTTP: resumable, size- and sha256-checked, and in place only when complete.

Temporaries: the transfer writes ``FILE.part`` beside the final file. It is
*resumable by design*, not a pid-named temporary of :mod:`annbench.atomic`: a
later run, after an error, Ctrl-C or ``kill -9``, continues it with an HTTP Range
request. ``FILE.part.json`` keeps the server's validator (ETag or Last-Modified)
of the bytes already there and is sent as ``If-Range``, so a file that changed
upstream since comes whole (200) and the ``.part`` restarts from zero, as it
does with a server that ignores Range. The ``.part`` is locked (``flock``) while
a process writes it, so two downloads of one file cannot interleave. The JSON
files are written through :mod:`annbench.atomic` (pid-named, ``remove_stale``).

The final name appears only through ``os.replace`` once the file is complete
(its announced length, and the catalogue's exact size where known) and its sha256
matches the published or recorded one (:mod:`annbench.checksums`). A truncated
transfer keeps the ``.part`` for the next run; a wrong checksum deletes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from annbench import __version__
from annbench.atomic import remove_stale, write_json
from annbench.data import checksums
from annbench.data.transfer_progress import Progress, human_bytes
from annbench.errors import UserError

CHUNK = 1 << 20
TIMEOUT_S = 60.0  # a stalled connection (no byte for this long) is an interruption


def download(url: str, final: str | os.PathLike, *, size: int | None = None, sha256: str | None = None,
             prefix: int | None = None, finish: Callable[[Path], None] | None = None,
             force: bool = False, show: bool = True) -> tuple[str, bool]:
    """Make ``final`` a complete, checked copy of ``url``; returns (sha256, whether it was fetched now).

    ``prefix``: fetch only the first bytes. ``finish(part)``: runs on the complete ``.part``
    before it is checked and renamed (a header rewrite). ``force``: fetch again even if
    ``final`` is there, and record the new checksum instead of checking the recorded one.
    """
    final = Path(final)
    with _new_folder(final.parent):
        remove_stale(final.parent)
        if final.exists() and not force:
            return _check_present(final, url, size or prefix, sha256, show), False
        return _fetch(url, final, size, sha256, prefix, finish, force, show)


@contextlib.contextmanager
def _new_folder(folder: Path) -> Iterator[None]:
    """``folder``, made if missing; one made here and still empty when the download fails is removed."""
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):  # not empty: a .part to resume from
                folder.rmdir()
        raise


def _fetch(url: str, final: Path, size: int | None, sha256: str | None, prefix: int | None,
           finish: Callable[[Path], None] | None, force: bool, show: bool) -> tuple[str, bool]:
    part = final.with_name(final.name + ".part")
    with _locked(part) as fh:
        if final.exists() and not force:  # another process finished it since the check above
            return _check_present(final, url, size or prefix, sha256, show), False
        if force:
            _restart(fh, part)
        _transfer(url, fh, part, size or prefix, prefix, show)
        digest = _finish_and_check(fh, part, final, url, sha256, finish, force, show)
        checksums.write_record(final, digest, url, sha256 is not None, _size(fh))
        os.fsync(fh.fileno())
        os.replace(part, final)
        _meta(part).unlink(missing_ok=True)
    return digest, True


def _check_present(final: Path, url: str, size: int | None, sha256: str | None, show: bool) -> str:
    if size is not None and final.stat().st_size != size:
        raise UserError(f"{final} has {final.stat().st_size} bytes, not the expected {size}: "
                        "download it again with --force")
    return checksums.verify(final, sha256, url, show)


def _finish_and_check(fh: BinaryIO, part: Path, final: Path, url: str, sha256: str | None,
                      finish: Callable[[Path], None] | None, force: bool, show: bool) -> str:
    """The complete ``.part``'s checksum; a ``.part`` that fails a check is deleted (it cannot resume)."""
    try:
        if finish is not None:
            fh.flush()
            finish(part)
        digest = checksums.file_sha256(part, show)
        hint = f"{part.name} deleted"
        checksums.check(final, digest, sha256, "published sha256", hint)
        recorded = None if force else checksums.recorded_sha256(final)
        checksums.check(final, digest, recorded, f"sha256 recorded in {checksums.record_path(final).name}",
                        f"{hint} (if the file changed upstream, download it with --force to accept the new one)")
    except UserError:
        _restart(fh, part)
        raise
    return digest


@contextlib.contextmanager
def _locked(part: Path) -> Iterator[BinaryIO]:
    """``part`` opened for appending and locked; an empty one is removed again on the way out."""
    fh = open(part, "a+b")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another process is downloading {part.name[:-len('.part')]} "
                            f"into {part.parent} (its {part.name} is locked)") from None
        try:
            yield fh
        finally:
            if part.exists() and _size(fh) == 0:
                part.unlink()
                _meta(part).unlink(missing_ok=True)
    finally:
        fh.close()


def _size(fh: BinaryIO) -> int:
    fh.flush()
    return os.fstat(fh.fileno()).st_size


def _restart(fh: BinaryIO, part: Path) -> None:
    fh.truncate(0)
    _meta(part).unlink(missing_ok=True)


def _meta(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _transfer(url: str, fh: BinaryIO, part: Path, target: int | None, prefix: int | None, show: bool) -> None:
    """Bring ``part`` to its full length, resuming where it stopped."""
    for _ in range(2):  # a second round after a 416 that was not "already complete"
        offset = _size(fh)
        if target is not None and offset == target:
            return  # complete: a run stopped between the transfer and the rename
        validator = _read_validator(part) if offset else None
        if (target is not None and offset > target) or (offset and validator is None):
            _restart(fh, part)
            offset, validator = 0, None
        try:
            response = _open(url, offset, prefix, validator)
        except _RangeNotSatisfiable as exc:
            if exc.total == offset:
                return
            _restart(fh, part)
            continue
        with response:
            _receive(response, url, fh, part, target, prefix, show)
        return
    raise UserError(f"{url}: the server refuses the byte range asked for")


class _RangeNotSatisfiable(Exception):
    def __init__(self, total: int | None):
        super().__init__(total)
        self.total = total


def _open(url: str, offset: int, prefix: int | None, validator: str | None):
    if not url.startswith(("http://", "https://")):
        raise UserError(f"{url}: not an http(s) URL")
    headers = {"User-Agent": f"annbench/{__version__}", "Accept-Encoding": "identity"}
    if offset or prefix:
        headers["Range"] = f"bytes={offset}-{'' if prefix is None else prefix - 1}"
    if offset and validator:
        headers["If-Range"] = validator
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        with exc:
            if exc.code == 416:
                match = re.fullmatch(r"bytes \*/(\d+)", exc.headers.get("Content-Range", "").strip())
                raise _RangeNotSatisfiable(int(match.group(1)) if match else None) from None
            raise UserError(f"{url}: HTTP {exc.code} {_one_line(exc.reason)}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise UserError(f"{url}: cannot download ({_one_line(reason)})") from None


def _receive(response, url: str, fh: BinaryIO, part: Path, target: int | None, prefix: int | None,
             show: bool) -> None:
    offset, length, total = _span(response, url, _size(fh))
    if offset == 0:
        fh.truncate(0)  # a server that ignores Range sends the whole file again
        _write_validator(part, url, response.headers)
    if prefix is not None and total is not None and total < prefix:
        raise UserError(f"{url} has {total} bytes, fewer than the {prefix} asked for")
    remaining = _remaining(length, None if prefix is None else prefix - offset)
    end = None if remaining is None else offset + remaining
    if target is not None and end is not None and end != target:
        raise UserError(f"{url}: the server announces {end} bytes, the catalogue {target}")
    _check_space(part, remaining)
    _stream(response, url, fh, part, offset, remaining, show)


def _remaining(announced: int | None, wanted: int | None) -> int | None:
    """Bytes to read: what the server announces, capped at what a prefix still wants."""
    if wanted is None or announced is None:
        return announced if wanted is None else wanted
    return min(announced, wanted)


def _span(response, url: str, offset: int) -> tuple[int, int | None, int | None]:
    """(first byte, bytes announced, size of the whole remote file) of a 200 or 206 answer."""
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    if response.status == 206:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != offset:
            raise UserError(f"{url}: the server answered another byte range than asked "
                            f"({response.headers.get('Content-Range')!r} for bytes {offset}-)")
        total = None if match.group(3) == "*" else int(match.group(3))
        return offset, int(match.group(2)) - offset + 1, total
    if response.status != 200:
        raise UserError(f"{url}: unexpected HTTP {response.status}")
    return 0, length, length


def _stream(response, url: str, fh: BinaryIO, part: Path, offset: int, remaining: int | None, show: bool) -> None:
    progress = Progress(part.name[:-len(".part")], None if remaining is None else offset + remaining, offset, show)
    got = 0
    try:
        while remaining is None or got < remaining:
            chunk = response.read(CHUNK if remaining is None else min(CHUNK, remaining - got))
            if not chunk:
                break
            fh.write(chunk)
            got += len(chunk)
            progress.update(len(chunk))
    except (http.client.HTTPException, OSError) as exc:
        raise _interrupted(url, part, offset + got, None if remaining is None else offset + remaining, exc) from None
    finally:
        progress.close()
        fh.flush()
    if remaining is not None and got < remaining:
        raise _interrupted(url, part, offset + got, offset + remaining, "the connection ended early")


def _interrupted(url: str, part: Path, done: int, total: int | None, why) -> UserError:
    of = f" of {human_bytes(total)}" if total else ""
    return UserError(f"{url}: download interrupted at {human_bytes(done)}{of} ({_one_line(why)}); "
                     f"run the same command again to resume from {part}")


def _check_space(part: Path, remaining: int | None) -> None:
    if remaining is None:
        return
    free = shutil.disk_usage(part.parent).free
    if free < remaining:
        raise UserError(f"{part.parent}: {human_bytes(remaining)} to download, {human_bytes(free)} free")


def _read_validator(part: Path) -> str | None:
    try:
        return json.loads(_meta(part).read_text()).get("validator")
    except (OSError, ValueError, AttributeError):
        return None


def _write_validator(part: Path, url: str, headers) -> None:
    """What identifies the bytes in ``part``: a strong ETag, else Last-Modified, else "" (resume unconditionally)."""
    etag = headers.get("ETag") or ""
    validator = etag if etag and not etag.startswith("W/") else headers.get("Last-Modified") or ""
    write_json(_meta(part), {"url": url, "validator": validator})


def _one_line(text) -> str:
    return " ".join(str(text).split()) or type(text).__name__
