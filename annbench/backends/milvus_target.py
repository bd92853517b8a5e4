"""Where the milvus backend's collection lives, and the collection itself.

``uri`` "" (the default) is Milvus Lite: a database in a temporary directory the backend owns and
removes, served in this process. Otherwise a Milvus server or cluster at ``uri``, with
``$MILVUS_TOKEN`` ("user:password" or an API key) when it asks for one, never in the record.

The collection is named ``annbench_<type>_<hash of its settings>`` and its fields ``annbench_id`` /
``annbench_vector``: a rerun with the same settings replaces what an interrupted run left, a
same-named collection with other fields is someone else's and is refused, and every collection
annbench makes is dropped when the index is collected or the process exits.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from annbench.errors import UserError

PREFIX = "annbench_"
ID, VECTOR = "annbench_id", "annbench_vector"
INSERT_BYTES = 16 * 2**20  # rows per insert call: well under gRPC's 64 MiB message limit
PROBE_S = 3.0


def engine_message(exc: Exception) -> str:
    """The engine's sentence, on one line, without pymilvus's wrapping."""
    text = exc.message if isinstance(exc, MilvusException) else str(exc)
    return " ".join(str(text).split())


def check_uri(uri: object) -> None:
    """"" (Milvus Lite), or the address of a server that answers: refused at plan time, not per point."""
    if uri == "":
        return
    if not isinstance(uri, str) or not re.match(r"(https?|tcp|unix)://.", uri):
        raise UserError(f"milvus: uri must be http://HOST:PORT (or https://, tcp://, unix://), got {uri!r}; "
                        "leave it out for Milvus Lite")
    if problem := _unreachable(uri):
        raise UserError(f"milvus: no Milvus server answers at {uri} ({problem})")


@functools.lru_cache(maxsize=None)
def _unreachable(uri: str) -> str | None:
    """Why nothing listens at ``uri`` (None when something does); asked once per address."""
    parts = urlsplit(uri)
    if parts.scheme == "unix":
        return None if os.path.exists(parts.path) else "no such socket file"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 19530)
        socket.create_connection((parts.hostname or "localhost", port), timeout=PROBE_S).close()
    except (OSError, ValueError) as exc:
        return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return None


def collection_name(build: dict, metric: str, d: int) -> str:
    settings = {k: v for k, v in build.items() if k != "uri"}
    digest = hashlib.sha1(json.dumps([settings, metric, d], sort_keys=True).encode()).hexdigest()[:12]
    return f"{PREFIX}{build['index_type'].lower()}_{digest}"


class Target:
    """A client of Milvus Lite or of a server, and the one collection annbench made there."""

    def __init__(self, uri: str, name: str) -> None:
        _quiet_libraries()
        self.lite = Lite() if uri == "" else None
        self.made = False  # close() drops only a collection this target made
        self.uri, self.name = (self.lite.path if self.lite else uri), name
        try:
            self.client = MilvusClient(self.uri, token=os.environ.get("MILVUS_TOKEN", ""))
        except MilvusException as exc:
            self.close()
            raise UserError(f"milvus: cannot connect to {uri or 'Milvus Lite'}: {engine_message(exc)}") from None
        # Lite reads an empty output_fields as "every field" (the vectors too); a server as "the ids only"
        self.output_fields = [ID] if self.lite else []

    def create(self, d: int, attributes: tuple[str, ...] = ()) -> None:
        """An empty collection of ``d``-dimensional vectors and INT64 ``attributes`` (the columns filters
        read), replacing one an earlier annbench run left (or this target made before it was filled)."""
        self.made = False
        if self.client.has_collection(self.name):
            fields = [f["name"] for f in self.client.describe_collection(self.name)["fields"]]
            if fields[:2] != [ID, VECTOR]:
                raise UserError(f"milvus: {self.uri} already holds a collection {self.name!r} that annbench did "
                                "not make (other fields); drop or rename it")
            self.client.drop_collection(self.name)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=d)
        for name in attributes:
            schema.add_field(name, DataType.INT64)
        self.client.create_collection(self.name, schema=schema)
        self.made = True

    def insert(self, xb: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        """The rows with ids 0..n-1 (and their attribute ``columns``), then a flush: inserted means sealed
        and stored."""
        step = max(1, INSERT_BYTES // max(1, xb[:1].nbytes))
        columns = {name: np.asarray(values).tolist() for name, values in (columns or {}).items()}
        for start in range(0, len(xb), step):
            rows = xb[start:start + step]
            self.client.insert(self.name, [{ID: start + i, VECTOR: row, **{n: v[start + i] for n, v in columns.items()}}
                                           for i, row in enumerate(rows)])
        self.client.flush(self.name)

    def build_index(self, index_type: str, metric: str, params: dict) -> None:
        index = self.client.prepare_index_params()
        # the parameters as one JSON "params" entry: servers read it so, Milvus Lite reads only that
        index.add_index(VECTOR, index_type=index_type, metric_type=metric, params={"params": params})
        self.client.create_index(self.name, index, sync=False)
        self._wait_built()

    def _wait_built(self) -> None:
        """Poll until every row is indexed, within 5% of the time taken (pymilvus's own wait polls
        every 0.5 s, which would round a small build up to half a second)."""
        start = time.perf_counter()
        while True:
            info = self.client.describe_index(self.name, VECTOR)
            if info.get("state") == "Failed":
                raise UserError(f"milvus: the index build failed: {' '.join(str(info.get('fail_reason')).split())}")
            if info.get("state") == "Finished" and info.get("pending_index_rows", 0) == 0:
                return
            time.sleep(min(0.5, max(0.005, 0.05 * (time.perf_counter() - start))))

    def load(self) -> None:
        self.client.load_collection(self.name)  # returns once loaded

    def index_bytes(self) -> int | None:
        """Lite: the index files its engine wrote for the collection's segments. A server reports no
        index size through its API: None."""
        if not self.lite:
            return None
        files = (Path(self.lite.path) / "collections" / self.name).glob("partitions/*/indexes/*")
        return sum(f.stat().st_size for f in files if f.is_file())

    def close(self) -> None:
        """Drop the collection and let go of the engine; safe to call twice and after a failed start."""
        client = getattr(self, "client", None)
        if client is not None:
            try:
                if self.made:
                    client.drop_collection(self.name)
            except MilvusException:
                pass  # already gone, or the server went away: nothing left to drop from here
            client.close()
            self.client = None
        if self.lite:
            self.lite.close()


class Lite:
    """A Milvus Lite database file in a temporary directory of its own."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="annbench-milvus-")
        self.path = os.path.join(self.folder.name, "annbench.db")

    def close(self) -> None:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(self.path)
        self.folder.cleanup()


def _quiet_libraries() -> None:
    """pymilvus and Milvus Lite log every refused request with a traceback; the backend turns each into
    a one-line UserError instead."""
    for name in ("pymilvus", "milvus_lite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
