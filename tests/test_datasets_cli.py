"""`annbench datasets import|list` from the command line, real data and bad input."""

import json

import numpy as np
import pytest
from conftest import CLIP, run_cli

from annbench.data.hdf5io import read_dataset


@pytest.fixture
def npy(tmp_path, clip_arrays):
    np.save(tmp_path / "img.npy", clip_arrays["images"].astype(np.float16))
    np.save(tmp_path / "txt.npy", clip_arrays["texts"].astype(np.float16))  # not normalised, as shipped
    (tmp_path / "names.txt").write_text("\n".join(clip_arrays["names"]))
    return tmp_path


def test_import_text_to_image_and_image_to_image(npy):
    r = run_cli("datasets", "--dir", "ds", "import", "t2i", "--base", "img.npy", "--queries", "txt.npy",
                "--query-set", "text", "--query-labels", "names.txt",
                "--base-labels", str(CLIP / "flickr8k_captions.json"), "--metric", "angular", cwd=npy)
    assert r.returncode == 0, r.stderr
    ds = read_dataset(npy / "ds" / "t2i.hdf5")
    text = ds.query_sets["text"]
    assert ds.nb == 1000 and text.nq == 2148 and text.gt_depth == 100 and text.modality == "text"
    assert np.allclose(np.linalg.norm(text.queries, axis=1), 1, atol=1e-5)
    assert text.labels[0] == "aerosol_can" and ds.base_labels[0] == json.loads((CLIP / "flickr8k_captions.json").read_text())[0]

    r = run_cli("datasets", "--dir", "ds", "import", "i2i", "--base", "img.npy", "--holdout", "100",
                "--base-labels", str(CLIP / "flickr8k_captions.json"), "--metric", "angular", cwd=npy)
    assert r.returncode == 0, r.stderr
    ds = read_dataset(npy / "ds" / "i2i.hdf5")
    hold = ds.query_sets["holdout"]
    assert ds.nb == 900 and hold.nq == 100 and hold.modality == "image" and len(hold.labels) == 100
    assert 0.75 < (1 - hold.distances[:, 0]).mean() < 0.85  # image NN cosine ~0.79 (README)

    listing = run_cli("datasets", "--dir", "ds", "list", cwd=npy).stdout
    assert "t2i" in listing and "i2i" in listing and "holdout (100, K=100)" in listing


BAD = {
    "missing file": (["--base", "nope.npy"], "file not found"),
    "not npy": (["--base", "names.txt"], "not a readable .npy"),
    "dimension mismatch": (["--queries", "q7.npy"], "does not match the base dimension"),
    "nan": (["--queries", "qnan.npy"], "NaN or inf"),
    "zero vector": (["--queries", "qzero.npy"], "zero vector"),
    "k > n": (["--k", "5000"], "exceeds the base size"),
    "empty": (["--queries", "empty.npy"], "empty array"),
    "non-numeric": (["--queries", "strings.npy"], "non-numeric dtype"),
    "labels count": (["--base-labels", "names.txt"], "labels for 1000 vectors"),
    "empty query set name": (["--query-set", ""], "query set name '': use letters"),
    "a path for a name": (["--query-set", "a/b"], "query set name 'a/b': use letters"),
    "commas in a name": (["--query-set", "text,image"], "query set name 'text,image': use letters"),
    "a dot first": (["--query-set", ".."], "query set name '..': use letters"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_writes_nothing(npy, case):
    np.save(npy / "q7.npy", np.ones((3, 7), np.float32))
    np.save(npy / "qnan.npy", np.full((3, 512), np.nan, np.float32))
    np.save(npy / "qzero.npy", np.zeros((3, 512), np.float32))
    np.save(npy / "empty.npy", np.zeros((0, 512), np.float32))
    np.save(npy / "strings.npy", np.array([["a"] * 512]))
    args, message = BAD[case]
    base = {"--base": "img.npy", "--queries": "txt.npy"}
    argv = ["datasets", "--dir", "ds", "import", "x", "--metric", "angular"]
    for flag, value in base.items():
        if flag not in args:
            argv += [flag, value]
    r = run_cli(*argv, *args, cwd=npy)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (npy / "ds").exists() or list((npy / "ds").iterdir()) == []


@pytest.mark.parametrize("name", ["", "a/b", "../outside", ".hidden"])
def test_a_dataset_name_that_is_not_a_plain_file_name_is_refused(npy, name):
    for command in (["import", name, "--base", "img.npy", "--queries", "txt.npy", "--metric", "angular"],
                    ["make", "clip-synth", "--n", "300", "--nq", "10", "--name", name]):
        r = run_cli("datasets", "--dir", "ds", *command, cwd=npy)
        assert r.returncode == 2 and f"dataset name {name!r}: use letters" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not list(npy.rglob("*.hdf5"))


def test_existing_name_asks_for_force(npy):
    argv = ["datasets", "--dir", "ds", "import", "x", "--base", "img.npy", "--holdout", "10", "--metric", "angular"]
    assert run_cli(*argv, cwd=npy).returncode == 0
    r = run_cli(*argv, cwd=npy)
    assert r.returncode == 2 and "--force" in r.stderr
    assert run_cli(*argv, "--force", cwd=npy).returncode == 0
    assert sorted(p.name for p in (npy / "ds").iterdir()) == ["x.hdf5"]


def test_unreadable_dataset_for_stats(npy):
    (npy / "junk.hdf5").write_text("nope")
    r = run_cli("datasets", "stats", "junk.hdf5", cwd=npy)
    assert r.returncode == 2 and "not an HDF5 file" in r.stderr


def test_make_refuses_a_depth_beyond_n_and_defaults_below_it(tmp_path):
    r = run_cli("datasets", "--dir", "ds", "make", "clip-synth", "--n", "50", "--nq", "5", "--k", "60", cwd=tmp_path)
    assert r.returncode == 2 and "--k 60 exceeds the base size n=50" in r.stderr
    assert not (tmp_path / "ds").exists() or list((tmp_path / "ds").iterdir()) == []
    r = run_cli("datasets", "--dir", "ds", "make", "clip-synth", "--n", "50", "--nq", "5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from annbench.data.hdf5io import describe

    assert describe(tmp_path / "ds" / "clip-synth.hdf5")["query_sets"]["text"][1] == 50


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from annbench.cli.main import build_parser

    silent = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}")
            elif action.option_strings and not action.help:
                silent.append(f"{path} {action.option_strings[-1]}")

    walk(build_parser(), "annbench")
    assert not silent, silent


def test_no_command_writes_over_a_dataset_without_force(npy):
    made = [("make", "clip-synth", "--n", "300", "--nq", "20", "--name", "s"),
            ("import", "s", "--base", "img.npy", "--holdout", "20", "--metric", "angular"),
            ("binarize", "s", "--method", "sign")]
    r = run_cli("datasets", "--dir", "ds", *made[0], cwd=npy)
    assert r.returncode == 0, r.stderr
    run_cli("datasets", "--dir", "ds", *made[2], cwd=npy)
    for args in made:
        target = npy / "ds" / ("s-sign512.hdf5" if args[0] == "binarize" else "s.hdf5")
        before = target.stat().st_mtime_ns
        r = run_cli("datasets", "--dir", "ds", *args, cwd=npy)
        assert r.returncode == 2 and r.stderr.strip() == (f"annbench: error: dataset already exists: ds/{target.name} "
                                                          "(use --force to replace it)"), (args, r.stderr)
        assert target.stat().st_mtime_ns == before
    r = run_cli("datasets", "--dir", "ds", *made[1], "--force", cwd=npy)
    assert r.returncode == 0, r.stderr
