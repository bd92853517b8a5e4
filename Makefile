# Two commands do all set-up on a fresh machine: `make bench` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# make bench's default dataset is sized to finish in about 5 minutes on 2 cores; BENCH_N=100000 for the full
# default. Another size is another dataset, with its own file, results and report (suffix -nBENCH_N).
BENCH_N ?= 30000
SIZE_TAG := $(if $(filter 30000,$(BENCH_N)),,-n$(BENCH_N))
DATASET ?= clip-synth$(SIZE_TAG)
BENCH_DEFAULT_CONFIG := annbench/configs/bench.yaml
BENCH_CONFIG ?= $(BENCH_DEFAULT_CONFIG)
# the default config sweeps the clip-synth of BENCH_N; a config of your own sweeps the dataset it names
BENCH_DATASET = $(if $(filter $(BENCH_DEFAULT_CONFIG),$(BENCH_CONFIG)),--dataset $(DATASET))
RESULTS ?= results/bench$(SIZE_TAG)
REPORT ?= reports/bench$(SIZE_TAG)

.PHONY: all install install-gpu test bench bench-binary bench-overhead bench-groundtruth bench-blas bench-import bench-memory bench-scale browser clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,cluster,realdata]'
	touch $(STAMP)

install: $(STAMP)

# The GPU build of faiss instead of faiss-cpu (both install the module `faiss`: the CPU one must go,
# then the GPU one is reinstalled over the files they shared). `make test` and `make bench` keep it.
install-gpu: $(STAMP)
	$(PY) -m pip install -q -e '.[gpu,test]'
	$(PY) -m pip uninstall -q -y faiss-cpu
	$(PY) -m pip install -q --force-reinstall --no-deps faiss-gpu
	$(PY) -c 'import faiss; print("faiss", faiss.__version__, "sees", faiss.get_num_gpus(), "GPU(s)")'

# make gpu-check: on a GPU machine, the one script of issue 15 (README "GPU"): GPU tests, clip-synth at 1M, the sweep
# of annbench/configs/gpu.yaml on CPU and GPU, summary and report, into $$OUT (default gpu-check-out). No venv: the GPU
# machine runs annbench from the working tree with its own Python and the carried faiss-gpu wheels.
.PHONY: gpu-check
gpu-check:
	$(PYTHON) -m annbench.bench.gpu_check

# Debian's headless Chromium, for the report's browser test (no browser download at run time).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: the browser test will be skipped (install Debian's chromium package)"; fi; }

# The Ray cluster tests run in a pytest process of their own: Ray forks its raylets from the test process,
# and a fork from a process that earlier tests left with engine threads (Milvus Lite in-process) can stall
# before exec (seen once: the head raylet never started, 5 errors), while the same tests pass alone.
RAY_TESTS := tests/test_ray_cluster.py
test: $(STAMP) browser
	$(PY) -m pytest -q --ignore=$(RAY_TESTS)
	$(PY) -m pytest -q $(RAY_TESTS)

datasets/$(DATASET).hdf5: | $(STAMP)
	$(PY) -m annbench datasets make clip-synth --n $(BENCH_N) --name $(DATASET)

bench: $(STAMP) datasets/$(DATASET).hdf5
	$(PY) -m annbench sweep --config $(BENCH_CONFIG) $(BENCH_DATASET) --results $(RESULTS)
	$(PY) -m annbench summary --results $(RESULTS)
	$(PY) -m annbench report --results $(RESULTS) --out $(REPORT)

# make bench-full: make bench, then ScaNN and usearch (f32, f16, i8) of $(EXTRA_CONFIG) on the same dataset, into the
# same results, summary and report; apart because they take make bench past 5 minutes on 2 cores. After a make
# bench, only the extra points are measured (stored points are kept).
EXTRA_CONFIG ?= annbench/configs/bench-extra.yaml
.PHONY: bench-full
bench-full: bench
	$(PY) -m annbench sweep --config $(EXTRA_CONFIG) --dataset $(DATASET) --results $(RESULTS)
	$(PY) -m annbench summary --results $(RESULTS)
	$(PY) -m annbench report --results $(RESULTS) --out $(REPORT)

# make bench-load: IVF-Flat, HNSW and Milvus Lite answering single queries from 1, 2 and 4 concurrent clients
# (annbench/configs/load.yaml), with the fastest setting under a p99 budget; its own results and report.
LOAD_CONFIG ?= annbench/configs/load.yaml
LOAD_RESULTS ?= results/load$(SIZE_TAG)
LOAD_P99_MS ?= 5
.PHONY: bench-load
bench-load: $(STAMP) datasets/$(DATASET).hdf5
	$(PY) -m annbench sweep --config $(LOAD_CONFIG) --dataset $(DATASET) --results $(LOAD_RESULTS)
	$(PY) -m annbench summary --results $(LOAD_RESULTS) --targets 0.6,0.9 --max-p99-ms $(LOAD_P99_MS)
	$(PY) -m annbench report --results $(LOAD_RESULTS) --out reports/load$(SIZE_TAG)

# make bench-binary: binary backends on sign (512-bit) and ITQ (256-bit) codes of the default dataset,
# summarised and reported beside make bench's float results (when there are some) on one float-truth axis.
BINARY_CONFIG ?= annbench/configs/binary.yaml
BINARY_RESULTS ?= results/binary$(SIZE_TAG)
BENCH_RESULTS_IF_ANY = $(if $(wildcard $(RESULTS)/records),--results $(RESULTS))

datasets/$(DATASET)-sign512.hdf5: datasets/$(DATASET).hdf5
	$(PY) -m annbench datasets binarize $(DATASET) --method sign --bits 512 --force

datasets/$(DATASET)-itq256.hdf5: datasets/$(DATASET).hdf5
	$(PY) -m annbench datasets binarize $(DATASET) --method itq --bits 256 --force

bench-binary: $(STAMP) datasets/$(DATASET)-sign512.hdf5 datasets/$(DATASET)-itq256.hdf5
	$(PY) -m annbench sweep --config $(BINARY_CONFIG) --dataset $(DATASET)-sign512 --results $(BINARY_RESULTS)
	$(PY) -m annbench sweep --config $(BINARY_CONFIG) --dataset $(DATASET)-itq256 --results $(BINARY_RESULTS)
	$(PY) -m annbench summary $(BENCH_RESULTS_IF_ANY) --results $(BINARY_RESULTS)
	$(PY) -m annbench report $(BENCH_RESULTS_IF_ANY) --results $(BINARY_RESULTS) --out reports/binary$(SIZE_TAG)

bench-overhead: $(STAMP) datasets/$(DATASET).hdf5
	$(PY) -m annbench.bench.overhead --dataset $(DATASET)

bench-groundtruth: $(STAMP)
	$(PY) -m annbench.bench.groundtruth_rate

bench-blas: $(STAMP)
	$(PY) -m annbench.bench.blas_threshold

# make bench-scale: annbench scale on clip-synth at 1M (made once), sizes 30k..1M, annbench/configs/scale.yaml
SCALE_SIZES ?= 30000,100000,300000,1000000
datasets/clip-synth-n1000000.hdf5: | $(STAMP)
	$(PY) -m annbench datasets make clip-synth --n 1000000 --name clip-synth-n1000000

bench-scale: $(STAMP) datasets/clip-synth-n1000000.hdf5
	$(PY) -m annbench scale --dataset clip-synth-n1000000 --n $(SCALE_SIZES) --config annbench/configs/scale.yaml --results results/scale
	$(PY) -m annbench summary --results results/scale --targets 0.9,0.95
	$(PY) -m annbench report --results results/scale --out reports/scale

# make bench-memory: a sweep at 1M vectors (clip-synth made once), peak RSS of build and search vs the index
bench-memory: $(STAMP)
	$(PY) -m annbench.bench.sweep_memory

# make bench-import: generate a 1M x 512 clip-retrieval folder (float16 shards) and import it: vectors/s, peak RSS
bench-import: $(STAMP)
	$(PY) -m annbench.bench.import_rate

# make bench-synth-fit: clip-synth --like fitted on a tenth of a real split (../shared/data) against the
# real rest: recall@10 of IVF-Flat and HNSW, real vs synthetic, point by point. One BLAS thread: the fit's
# simulations multiply small matrices, 5x faster on one thread than on two busy cores; 10 splits, 5 more
# sets of split 0's fit at 900 and 9000 rows (1.5 min), 10 SIFT splits and their noise floor (3.5 min),
# 3 splits of wordllama's token embeddings at 10,000 rows (2 min) and the memory bound at 250k and 1M
# rows (8 to 10 min), and the spread of the sets 3 splits' samples cannot tell apart (4 min): about 36 min
# (the 10 CLIP splits with their noise floors and refits: about 17 min)
.PHONY: bench-synth-fit
bench-synth-fit: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m annbench.bench.synth_fit

clean:
	rm -rf $(VENV) results reports/bench* reports/binary*
