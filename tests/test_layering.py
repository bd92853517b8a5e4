"""Data flows one way: datasets -> ground truth -> runner -> results -> report.

Every module is parsed (not imported), so an import inside a function counts as
much as one at the top, and nothing here depends on optional libraries.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "annbench"
ABOVE_GROUNDTRUTH = ("annbench.runner", "annbench.results", "annbench.report", "annbench.cli")
ABOVE_DATA = ("annbench.groundtruth", *ABOVE_GROUNDTRUTH)
TRUTH_COMPUTATIONS = ("exact.py", "binary.py")  # the pipelines (build_*.py) sit above them


def _modules(where: str) -> list[Path]:
    return sorted(PACKAGE.glob(where))


def imported_names(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module ``path`` imports, absolute, with ``from X import Y`` also giving ``X.Y`` (Y may be a module)."""
    package = list(path.relative_to(root.parent).parts[:-1])  # of a package's __init__: the package itself
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the module's own package
                anchor = package[:len(package) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def forbidden(path: Path, prefixes: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    """The imports of ``path`` that are, or lie under, one of ``prefixes``."""
    return sorted(n for n in imported_names(path, root) if any(n == p or n.startswith(p + ".") for p in prefixes))


def _groundtruth_modules() -> list[Path]:
    return _modules("groundtruth.py") + _modules("groundtruth/**/*.py")


def test_the_scan_sees_the_modules():
    assert PACKAGE.joinpath("data", "hdf5io.py") in _modules("data/**/*.py")
    assert _groundtruth_modules()


@pytest.mark.parametrize("source, prefixes, hit", [
    ("from annbench.groundtruth import exact_knn", ABOVE_DATA, "annbench.groundtruth"),
    ("import annbench.groundtruth.exact", ABOVE_DATA, "annbench.groundtruth.exact"),
    ("def f():\n    from annbench.runner import worker", ABOVE_DATA, "annbench.runner"),
    ("from annbench import groundtruth", ABOVE_DATA, "annbench.groundtruth"),
    ("from ..groundtruth import exact_knn", ABOVE_DATA, "annbench.groundtruth"),
    ("from annbench.cli.paths import resolve_dataset", ABOVE_GROUNDTRUTH, "annbench.cli.paths"),
])
def test_the_check_catches_every_spelling(tmp_path, source, prefixes, hit):
    module = tmp_path / "annbench" / "data" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(source + "\n")
    assert hit in forbidden(module, prefixes, root=tmp_path / "annbench")


def test_allowed_imports_pass(tmp_path):
    module = tmp_path / "annbench" / "data" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text("from annbench.data.model import Dataset\nfrom . import bits\nimport numpy\n")
    assert forbidden(module, ABOVE_DATA, root=tmp_path / "annbench") == []


@pytest.mark.parametrize("path", _modules("data/**/*.py"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_data_imports_no_layer_above_it(path):
    """Datasets produce and read vectors, labels and files; computing ground truth is a layer up."""
    assert forbidden(path, ABOVE_DATA) == [], f"{path} imports a layer above the data"


@pytest.mark.parametrize("path", _groundtruth_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_groundtruth_imports_nothing_above_it(path):
    assert forbidden(path, ABOVE_GROUNDTRUTH) == [], f"{path} imports a layer above the ground truth"


@pytest.mark.parametrize("name", TRUTH_COMPUTATIONS)
def test_truth_computations_import_no_pipeline(name):
    path = PACKAGE / "groundtruth" / name
    if not path.exists():
        pytest.skip(f"no {path}")
    assert [n for n in imported_names(path) if n.startswith("annbench.groundtruth.build_")] == []
