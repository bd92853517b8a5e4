"""What the faiss GPU backends share: one set of GPU resources per GPU and worker process, moving an
index to the GPU (or spread over several) and back, searching queries that are on the host or already
on the device.

Everything faiss-gpu specific is looked up when called, never at import: faiss-cpu lacks
the ``Gpu*`` classes, and ``annbench indexes`` must still list these backends there. A GPU
backend on a machine where faiss sees no GPU (or fewer than a point asks for) is refused with
:class:`Unsupported` (its points are recorded as skipped, "no GPU"); the sweep skips such GPU points
before building anything, by the same rules (:func:`missing_gpus`, :func:`spread_refused`).

Past one GPU (``--gpus N``), faiss's multi-GPU cloner spreads the empty index over GPUs 0..N-1:
``replicate`` (IndexReplicas: every GPU holds the whole index; a batch's queries are split across
them) or ``shard`` (IndexShards: every GPU holds a share of the base; every query goes to all and
the results are merged). Every member is trained on the same rows (faiss's IndexReplicas and
IndexShards train each member), and the base is added through the spread index in chunks (replicas:
each chunk to every GPU; shards: each chunk split across the GPUs, ids kept global).
"""

from __future__ import annotations

import time
from functools import lru_cache

import faiss
import numpy as np

from annbench.backends.faiss_common import index_bytes
from annbench.errors import Unsupported, UserError

DEVICE = 0          # the GPU of a one-GPU point; a point spread over N GPUs uses GPUs 0..N-1
MAX_K = 2048        # faiss's GPU k-selection limit (CUDA builds): k, and k * k_factor, must stay below
NO_GPU = "skipped: no GPU"  # the sweep's own reason for a GPU point where faiss sees none
GPU_MODES = ("replicate", "shard")  # how a point spreads over N > 1 GPUs (a backend's ``gpu_modes``)


def gpu_count() -> int:
    """GPUs faiss sees: 0 with faiss-cpu (no ``StandardGpuResources``) or without a device."""
    if not hasattr(faiss, "StandardGpuResources"):
        return 0
    return int(faiss.get_num_gpus())


def missing_gpus(wanted: int, seen: int) -> str | None:
    """The one rule for enough GPUs: why a point on ``wanted`` GPUs cannot run where faiss sees ``seen``."""
    if seen == 0:
        return NO_GPU
    if wanted > seen:
        return f"skipped: needs {wanted} GPUs, faiss sees {seen}"
    return None


def spread_refused(cls: type, gpus: int, mode: str | None) -> str | None:
    """The one rule for spreading over GPUs: why ``cls`` cannot run on ``gpus`` > 1 GPUs in ``mode``
    (its ``gpu_modes``, optional in the interface: absent means one GPU only)."""
    if gpus == 1:
        return None
    modes = getattr(cls, "gpu_modes", ())
    if not modes:
        return f"skipped: {cls.name} runs on one GPU only (faiss spreads flat and IVF indexes wholly on the GPU)"
    if mode not in modes:
        return f"skipped: {cls.name} spreads over GPUs as {' or '.join(modes)} only, not {mode}"
    return None


def require_gpu(cls: type, gpus: int = 1, mode: str | None = None) -> None:
    """Refuse (recorded as skipped) a GPU build that cannot run here: too few GPUs, or a spread ``cls``
    does not offer."""
    reason = spread_refused(cls, gpus, mode) or missing_gpus(gpus, gpu_count())
    if reason == NO_GPU:
        reason += f" ({cls.name} is built on a GPU, by faiss built for CUDA; faiss sees none)"
    if reason:
        raise Unsupported(reason)


@lru_cache(maxsize=None)
def resources(device: int = DEVICE):
    """One ``StandardGpuResources`` per GPU and worker: its streams, cuBLAS handle and temporary-memory
    stack are made once, before the runner's GPU memory baseline (so they are not the index's)."""
    res = faiss.StandardGpuResources()
    try:
        res.getResources().initializeForDevice(device)
    except (AttributeError, RuntimeError, TypeError):  # then made at first use, inside the build
        pass
    return res


def without_cuvs(cpu_index: faiss.Index) -> bool:
    """Indexes cuVS does not implement (faiss's cloner refuses them when asked for cuVS, which is its
    default in a cuVS build): IVF with scalar-quantised lists runs on faiss's own GPU code."""
    return isinstance(faiss.downcast_index(cpu_index), faiss.IndexIVFScalarQuantizer)


def to_gpu(cpu_index: faiss.Index) -> faiss.Index:
    """The GPU version of ``cpu_index`` (empty or built), by faiss's cloner with its defaults (float32
    storage, 64-bit ids, cuVS in a cuVS build) but for ``without_cuvs`` indexes."""
    options = None
    if without_cuvs(cpu_index):
        options = faiss.GpuClonerOptions()
        options.use_cuvs = False
    # downcast: the GPU class's own attributes (nprobe) must be set on it, never on a generic proxy
    return faiss.downcast_index(faiss.index_cpu_to_gpu(resources(), DEVICE, cpu_index, options))


def to_gpus(cpu_index: faiss.Index, gpus: int = 1, mode: str | None = None) -> faiss.Index:
    """``cpu_index`` on GPU 0 (:func:`to_gpu`) or, past one GPU, spread over GPUs 0..gpus-1 by faiss's
    multi-GPU cloner (IndexReplicas or IndexShards, ``mode``), with ``to_gpu``'s choices."""
    if gpus == 1:
        return to_gpu(cpu_index)
    options = faiss.GpuMultipleClonerOptions()
    options.shard = mode == "shard"
    if without_cuvs(cpu_index):
        options.use_cuvs = False
    devices = list(range(gpus))
    spread = faiss.index_cpu_to_gpu_multiple_py([resources(d) for d in devices], cpu_index, options, devices)
    return faiss.downcast_index(spread)


def members(index: faiss.Index) -> list[faiss.Index]:
    """The per-GPU indexes of a spread index (IndexReplicas, IndexShards), else ``[index]``."""
    if not isinstance(index, (faiss.IndexReplicas, faiss.IndexShards)):
        return [index]
    return [faiss.downcast_index(index.at(i)) for i in range(index.count())]


def set_nprobe(index: faiss.Index, nprobe: int) -> None:
    """``nprobe`` of an IVF index, or of every member of a spread one (which has none of its own)."""
    for member in members(index):
        member.nprobe = nprobe


def check_nprobe(name: str, nprobe: int) -> None:
    """The most lists faiss's GPU IVF indexes probe (their k-selection's limit)."""
    if nprobe > MAX_K:
        raise UserError(f"{name}: nprobe={nprobe} exceeds {MAX_K}, the most faiss's GPU IVF probes")


def to_host(gpu_index: faiss.Index) -> faiss.Index:
    """One host index (faiss merges shards, and copies one replica)."""
    return faiss.index_gpu_to_cpu(gpu_index)


def sync() -> None:
    """Wait for every GPU: no timer stops, and no memory is read, before the work is done."""
    faiss.gpu_sync_all_devices()


def built_facts(gpu_index: faiss.Index, gpus: int = 1, mode: str | None = None) -> dict:
    """Once the base is added: ``index_bytes`` (the host copy as faiss writes it, as on the CPU), and
    the seconds to copy the built index to the host (``to_host_s``) and a host copy onto the GPU(s)
    (``from_host_s``, spread as the index is): what building on the CPU then copying costs on top of
    the CPU point's build_s. The second GPU copy is freed at once."""
    t0 = time.perf_counter()
    host = to_host(gpu_index)
    t1 = time.perf_counter()
    copy = to_gpus(host, gpus, mode)
    sync()
    t2 = time.perf_counter()
    del copy
    return {"index_bytes": index_bytes(host), "to_host_s": t1 - t0, "from_host_s": t2 - t1}


def index_facts(index: faiss.Index, on_gpu: bool, gpus: int = 1, mode: str | None = None) -> dict:
    """What a faiss backend's stats() says of its built index: its size, and on a GPU the copy times of
    :func:`built_facts` (nothing before a row is added)."""
    if on_gpu:
        return built_facts(index, gpus, mode) if index.ntotal else {}
    return {"index_bytes": index_bytes(index)}


def on_device(xq) -> bool:
    """A torch CUDA tensor (the runner's device-only timing hands queries over as those)."""
    return not isinstance(xq, np.ndarray) and getattr(getattr(xq, "device", None), "type", None) == "cuda"


def search(index: faiss.Index, xq, k: int, params=None):
    """``index.search`` for host queries; for queries already on the GPU (a torch CUDA tensor),
    faiss reads them and writes ``(D, I)`` in device memory, no copy either way (faiss's
    GPU indexes take device pointers), and the tensors are returned as they are."""
    if k > MAX_K:
        raise UserError(f"k={k} exceeds {MAX_K}, the largest k faiss's GPU indexes select")
    if not on_device(xq):
        return index.search(xq, k, params=params)
    import torch

    n = int(xq.shape[0])
    D = torch.empty((n, k), dtype=torch.float32, device=xq.device)
    I = torch.empty((n, k), dtype=torch.int64, device=xq.device)
    ptr = faiss.cast_integer_to_float_ptr
    index.search_c(n, ptr(xq.data_ptr()), k, ptr(D.data_ptr()), faiss.cast_integer_to_idx_t_ptr(I.data_ptr()),
                   params)
    return D, I
