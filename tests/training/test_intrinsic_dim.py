"""training.intrinsic_dim on a tiny MNIST subset into tmp_path, and core.results.recap reading it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ModelFileError
from core.results.pretrained import write_manifest
from core.results.recap import INTRINSIC_DIM_FILE, REGENERATE_RECAP, load_intrinsic_dim, recap_dir
from training.intrinsic_dim import main

REPO = Path(__file__).resolve().parents[2]


def test_smoke_run_writes_the_estimate_with_its_provenance(mnist_root, tmp_path):
    out = tmp_path / "recap"
    assert main(["--data-dir", str(mnist_root), "--n-images", "300", "--k1", "5", "--k2", "8",
                 "--seed", "3", "--out", str(out)]) == 0
    record = json.loads((out / INTRINSIC_DIM_FILE).read_text())
    assert (record["n_images"], record["k1"], record["k2"], record["seed"]) == (300, 5, 8, 3)
    assert 3 < record["estimate"] < 40  # MNIST: about a dozen; far below 784
    assert set(record["estimate_by_k"]) == {"5", "8"}
    assert record["versions"]["numpy"] and record["created"] and record["command"].endswith("--seed 3")
    assert sorted(p.name for p in out.iterdir()) == [INTRINSIC_DIM_FILE, "manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recap"]  # no staging folder left

    loaded = load_intrinsic_dim(tmp_path)
    assert loaded.estimate == record["estimate"] and loaded.n_images == 300
    # Same seed, same subset, same estimate.
    assert main(["--data-dir", str(mnist_root), "--n-images", "300", "--k1", "5", "--k2", "8",
                 "--seed", "3", "--out", str(out)]) == 0
    assert json.loads((out / INTRINSIC_DIM_FILE).read_text())["estimate"] == record["estimate"]


def test_bad_options_exit_with_a_message(capsys, tmp_path):
    assert main(["--k1", "9", "--k2", "4", "--out", str(tmp_path)]) == 2
    assert "--k1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m training.intrinsic_dim")
    for option in ("--data-dir", "--n-images", "--k1", "--k2", "--seed", "--out", "--smoke"):
        assert option in out


def test_loader_errors_name_the_regenerate_command(tmp_path):
    with pytest.raises(ModelFileError, match="training.intrinsic_dim"):
        load_intrinsic_dim(tmp_path)
    recap_dir(tmp_path).mkdir()
    (recap_dir(tmp_path) / INTRINSIC_DIM_FILE).write_text(json.dumps({"estimate": -1, "n_images": 10,
                                                                       "k1": 2, "k2": 3, "seed": 0}))
    with pytest.raises(ModelFileError, match="manifest.json is missing"):
        load_intrinsic_dim(tmp_path)
    write_manifest(recap_dir(tmp_path), "test")  # listed, so the content check speaks
    with pytest.raises(ModelFileError, match=REGENERATE_RECAP.split()[2]):
        load_intrinsic_dim(tmp_path)


def test_the_shipped_estimate_is_readable():
    result = load_intrinsic_dim(REPO / "pretrained")
    assert 5 < result.estimate < 30 and result.n_images >= 1000


def test_missing_mnist_is_reported_without_a_download(tmp_path, capsys, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("training.intrinsic_dim tried to download MNIST")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert main(["--data-dir", str(tmp_path / "nothing"), "--smoke", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: MNIST not found") and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_interrupted_run_leaves_the_old_estimate_whole(mnist_root, tmp_path, monkeypatch):
    import training.intrinsic_dim as script

    out = tmp_path / "recap"
    args = ["--data-dir", str(mnist_root), "--n-images", "300", "--k1", "5", "--k2", "8", "--out", str(out)]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(script, "write_manifest", killed)  # dies after the new json, before its manifest
    assert main([*args, "--seed", "7"]) == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recap"]
    assert load_intrinsic_dim(tmp_path).seed == 0
