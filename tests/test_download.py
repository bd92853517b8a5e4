"""`annbench datasets download` against a local HTTP server: resume, Range, checksums, errors, the catalogue."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import h5py
import numpy as np
import pytest
from conftest import run_cli

from annbench.data import checksums
from annbench.data.catalogue import CATALOGUE, lookup
from annbench.data.download import download
from annbench.data.download_plan import make_plan
from annbench.errors import UserError

COCO = "coco-t2i-512-angular"


class Site:
    """What the server holds and how it misbehaves; every request is logged as (path, Range, If-Range)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.drop_after: dict[str, int] = {}   # path -> bytes sent before the connection drops (once)
        self.ignore_range: set[str] = set()
        self.stall_after: dict[str, int] = {}  # path -> bytes sent before the server hangs (once)
        self.release = threading.Event()       # ends a hang
        self.requests: list[tuple[str, str | None, str | None]] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        site = self.server.site
        site.requests.append((self.path, self.headers.get("Range"), self.headers.get("If-Range")))
        body = site.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = f'"{hashlib.sha1(body).hexdigest()}"'
        start, end, status = 0, len(body) - 1, 200
        wanted = self.headers.get("Range")
        if wanted and self.path not in site.ignore_range and self.headers.get("If-Range", etag) == etag:
            first, last = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted).groups()
            if int(first) >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end, status = int(first), min(int(last or len(body) - 1), len(body) - 1), 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        self.end_headers()
        cut = site.drop_after.pop(self.path, None)
        stall = site.stall_after.pop(self.path, None)
        if stall is not None:
            self.wfile.write(body[start:start + stall])
            self.wfile.flush()
            site.release.wait(60)
            cut = 0
        self.wfile.write(body[start:end + 1] if cut is None else body[start:start + cut])
        if cut is not None:
            self.close_connection = True


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.site = Site()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.site, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.site.release.set()
    httpd.shutdown()
    httpd.server_close()


def payload(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def one_line_error(result, *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("annbench: error:")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def leftovers(folder) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_full_download_is_checked_against_the_published_sha256(server, tmp_path):
    site, base = server
    data = payload(300_000)
    site.files["/f.bin"] = data
    final = tmp_path / "ds" / "f.bin"
    digest, fetched = download(f"{base}/f.bin", final, sha256=hashlib.sha256(data).hexdigest(), show=False)
    assert fetched and final.read_bytes() == data and digest == hashlib.sha256(data).hexdigest()
    record = json.loads(checksums.record_path(final).read_text())
    assert record["sha256"] == digest and record["origin"] == "published by the catalogue"
    assert leftovers(final.parent) == {"f.bin", "f.bin.sha256.json"}
    assert download(f"{base}/f.bin", final, sha256=digest, show=False) == (digest, False)  # checked, not fetched
    assert len(site.requests) == 1


def test_wrong_published_checksum_leaves_no_file(server, tmp_path):
    site, base = server
    site.files["/f.bin"] = payload(50_000)
    final = tmp_path / "ds" / "f.bin"
    with pytest.raises(UserError, match="does not match the published sha256") as err:
        download(f"{base}/f.bin", final, sha256="0" * 64, show=False)
    assert "\n" not in str(err.value)
    assert leftovers(final.parent) == set() and not final.parent.exists()  # the folder made for it too


def test_announced_size_must_match_the_catalogue(server, tmp_path):
    site, base = server
    site.files["/f.bin"] = payload(1000)
    with pytest.raises(UserError, match="announces 1000 bytes, the catalogue 999"):
        download(f"{base}/f.bin", tmp_path / "f.bin", size=999, show=False)
    assert leftovers(tmp_path) == set()


@pytest.mark.parametrize("extra", [b"", b"stale tail"])
def test_a_part_at_or_past_the_end_is_finished_or_restarted(server, tmp_path, extra):
    """A run killed between the transfer and the rename; or a .part longer than the file now is."""
    site, base = server
    data = payload(20_000)
    site.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data + extra)
    (tmp_path / "f.bin.part.json").write_text(json.dumps({"validator": f'"{hashlib.sha1(data).hexdigest()}"'}))
    digest, fetched = download(f"{base}/f.bin", tmp_path / "f.bin", show=False)
    assert fetched and (tmp_path / "f.bin").read_bytes() == data
    assert site.requests[0][1] == f"bytes={len(data + extra)}-"  # 416: complete, or start again
    assert len(site.requests) == (1 if not extra else 2) and leftovers(tmp_path) == {"f.bin", "f.bin.sha256.json"}


def test_a_locked_part_means_another_download(server, tmp_path):
    import fcntl

    site, base = server
    site.files["/f.bin"] = payload(1000)
    with open(tmp_path / "f.bin.part", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(UserError, match="another process is downloading f.bin"):
            download(f"{base}/f.bin", tmp_path / "f.bin", show=False)
    assert site.requests == []


def ann_benchmarks_file(path) -> bytes:
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as f:
        f.attrs["distance"], f.attrs["dimension"], f.attrs["point_type"] = "angular", 8, "float"
        f["train"] = rng.standard_normal((200, 8)).astype(np.float32)
        f["test"] = rng.standard_normal((5, 8)).astype(np.float32)
        f["neighbors"] = np.tile(np.arange(10, dtype=np.int32), (5, 1))
        f["distances"] = np.zeros((5, 10), np.float32)
    return path.read_bytes()


def test_interrupted_download_resumes_with_range(server, tmp_path):
    site, base = server
    data = ann_benchmarks_file(tmp_path / "coco.hdf5")
    site.files[f"/m/{COCO}.hdf5"] = data
    site.drop_after[f"/m/{COCO}.hdf5"] = 5000
    argv = ("datasets", "--dir", "ds", "download", COCO, "--url", f"{base}/m")
    one_line_error(run_cli(*argv, cwd=tmp_path), "download interrupted", "run the same command again to resume")
    folder = tmp_path / "ds" / COCO
    assert leftovers(folder) == {f"{COCO}.hdf5.part", f"{COCO}.hdf5.part.json"}  # nothing that looks complete
    assert (folder / f"{COCO}.hdf5.part").stat().st_size == 5000
    assert not (tmp_path / "ds" / f"{COCO}.hdf5").exists()

    r = run_cli(*argv, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    path, ranged, if_range = site.requests[-1]
    assert ranged == "bytes=5000-" and if_range == f'"{hashlib.sha1(data).hexdigest()}"'
    assert (folder / f"{COCO}.hdf5").read_bytes() == data
    assert leftovers(folder) == {f"{COCO}.hdf5", f"{COCO}.hdf5.sha256.json"}
    assert f"ready: annbench sweep --dataset ds/{COCO}.hdf5" in r.stdout
    listing = run_cli("datasets", "--dir", "ds", "list", cwd=tmp_path)
    assert re.search(rf"{COCO}\s+200\s+8\s+angular\s+test \(5, K=10\)", listing.stdout), listing.stdout


def test_a_download_killed_with_sigkill_resumes(server, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    site, base = server
    path = f"/m/{COCO}.hdf5"
    site.files[path] = payload(3_000_000)
    site.stall_after[path] = 1_200_000
    argv = [sys.executable, "-m", "annbench", "datasets", "--dir", "ds", "download", COCO, "--url", f"{base}/m"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = tmp_path / "ds" / COCO / f"{COCO}.hdf5.part"
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the client waits on the stalled server now
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done = part.stat().st_size
    assert 0 < done <= 1_200_000 and not (part.parent / f"{COCO}.hdf5").exists()
    r = run_cli("datasets", "--dir", "ds", "download", COCO, "--url", f"{base}/m", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert site.requests[-1][1] == f"bytes={done}-"
    assert (part.parent / f"{COCO}.hdf5").read_bytes() == site.files[path]


@pytest.mark.parametrize("upstream", ["ignores Range", "changed"])
def test_a_resume_the_server_does_not_honour_restarts_from_zero(server, tmp_path, upstream):
    site, base = server
    path = f"/m/{COCO}.hdf5"
    site.files[path] = payload(40_000, seed=1)
    site.drop_after[path] = 10_000
    argv = ("datasets", "--dir", "ds", "download", COCO, "--url", f"{base}/m")
    one_line_error(run_cli(*argv, cwd=tmp_path), "interrupted")
    if upstream == "ignores Range":
        site.ignore_range.add(path)
    else:  # a new version upstream: If-Range no longer matches, so the whole file comes
        site.files[path] = payload(30_000, seed=2)
    r = run_cli(*argv, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert site.requests[-1][1] == "bytes=10000-"  # it asked to resume ...
    assert (tmp_path / "ds" / COCO / f"{COCO}.hdf5").read_bytes() == site.files[path]  # ... and restarted cleanly


def test_a_recorded_checksum_catches_a_changed_file(server, tmp_path):
    site, base = server
    path = f"/m/{COCO}.hdf5"
    site.files[path] = payload(20_000, seed=1)
    argv = ("datasets", "--dir", "ds", "download", COCO, "--url", f"{base}/m")
    assert run_cli(*argv, cwd=tmp_path).returncode == 0
    folder = tmp_path / "ds" / COCO
    final = folder / f"{COCO}.hdf5"
    final.write_bytes(payload(20_000, seed=3))  # damaged on disk
    one_line_error(run_cli(*argv, cwd=tmp_path), "does not match the sha256 recorded", "--force")

    final.unlink()
    site.files[path] = payload(20_000, seed=2)  # changed upstream since the first download
    one_line_error(run_cli(*argv, cwd=tmp_path), "does not match the sha256 recorded", ".part deleted")
    assert leftovers(folder) == {f"{COCO}.hdf5.sha256.json"}

    r = run_cli(*argv, "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert final.read_bytes() == site.files[path]
    assert checksums.recorded_sha256(final) == hashlib.sha256(site.files[path]).hexdigest()


def test_http_errors_are_one_line(server, tmp_path):
    _, base = server
    r = run_cli("datasets", "--dir", "ds", "download", COCO, "--url", f"{base}/nothing", cwd=tmp_path)
    one_line_error(r, "HTTP 404", f"{base}/nothing/{COCO}.hdf5")
    assert not (tmp_path / "ds" / COCO).exists()  # nor the folder made for it: nothing looks begun
    r = run_cli("datasets", "--dir", "ds", "download", COCO, "--url", "http://127.0.0.1:9", cwd=tmp_path)
    one_line_error(r, "cannot download")
    assert not (tmp_path / "ds" / COCO).exists()
    r = run_cli("datasets", "--dir", "ds", "download", COCO, "--url", "ftp://example.org", cwd=tmp_path)
    one_line_error(r, "not an http(s) URL")


def fbin(rows: int, d: int, header_rows: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    x = np.random.default_rng(seed).standard_normal((rows, d)).astype(np.float32)
    return struct.pack("<II", header_rows, d) + x.tobytes(), x


def test_fbin_subset_is_the_first_rows_with_the_header_rewritten(server, tmp_path, monkeypatch):
    site, base = server
    site.files["/text2image/base.1B.fbin"], xb = fbin(1000, 200, header_rows=1_000_000_000)
    site.files["/text2image/query.public.100K.fbin"] = struct.pack("<II", 100_000, 200) + bytes(100_000 * 800)
    monkeypatch.setenv("ANNBENCH_DOWNLOAD_MIRROR", base)
    r = run_cli("datasets", "--dir", "ds", "download", "text2image-10M", "--n", "100", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ("/text2image/base.1B.fbin", f"bytes=0-{8 + 100 * 800 - 1}", None) in site.requests
    out = tmp_path / "ds" / "text2image-100"
    subset = (out / "base.100.fbin").read_bytes()
    assert struct.unpack("<II", subset[:8]) == (100, 200)
    assert np.array_equal(np.frombuffer(subset[8:], np.float32).reshape(100, 200), xb[:100])
    assert (out / "query.public.100K.fbin").stat().st_size == 80_000_008
    assert "no ground truth is published for the first 100 rows" in r.stdout
    assert ("next: annbench datasets --dir ds import-bab text2image-100 --base ds/text2image-100/base.100.fbin "
            "--queries ds/text2image-100/query.public.100K.fbin --metric angular --query-set text") in r.stdout


def test_shards_come_from_the_mirror_in_the_source_layout(server, tmp_path, monkeypatch):
    site, base = server
    for i in range(2):
        for path in (f"img_emb/img_emb_{i}.npy", f"text_emb/text_emb_{i}.npy", f"metadata/metadata_{i}.parquet"):
            site.files[f"/laion400m-emb/{path}"] = payload(3000, seed=i)
    monkeypatch.setenv("ANNBENCH_DOWNLOAD_MIRROR", base)
    r = run_cli("datasets", "download", "laion400m-emb", "--shards", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "datasets" / "laion400m-emb"
    assert (folder / "text_emb" / "text_emb_1.npy").read_bytes() == payload(3000, seed=1)
    assert len(list(folder.rglob("*.sha256.json"))) == 6
    assert "next: annbench datasets import-clip-retrieval datasets/laion400m-emb --name laion400m-emb" in r.stdout


def test_plans_follow_the_published_ground_truth():
    ten = make_plan(lookup("text2image-10M"))
    assert [f.url for f in ten.files][2] == "https://dl.fbaipublicfiles.com/billion-scale-ann-benchmarks/GT_10M/text2image-10M"
    assert ten.files[0].prefix == 8 + 10**7 * 800 and ten.files[0].local == "base.10M.fbin" and ten.note is None
    one = make_plan(lookup("text2image-1M"))
    assert len(one.files) == 2 and "no ground truth" in one.note
    full = make_plan(lookup("text2image-1B"))
    assert full.files[0].prefix is None and full.files[0].local == "base.1B.fbin" and full.files[2].url.endswith(
        "t2i_new_groundtruth.public.100K.bin")
    with pytest.raises(UserError, match="between 1 and 410"):
        make_plan(lookup("laion400m-emb"), shards=411)


def test_list_prints_the_catalogue():
    r = run_cli("datasets", "download", "--list")
    assert r.returncode == 0, r.stderr
    for entry in CATALOGUE:
        assert re.search(rf"^{re.escape(entry.name)}\s+{re.escape(entry.size)}\s+{entry.format}\s+\S", r.stdout, re.M)
    assert "https://huggingface.co/datasets/vector-index-bench/vibe/resolve/main" in r.stdout
    one_line_error(run_cli("datasets", "download", "nope"), "no dataset 'nope' in the catalogue")
