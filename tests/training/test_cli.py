"""A user's mistake on a training script's command line: one line naming the option, no traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from core.data import MNIST_FILES, load_mnist
from core.errors import DataError, InputError
from training import cli
from training import intrinsic_dim as intrinsic_dim_script
from training import mnist as mnist_script

REPO = Path(__file__).resolve().parents[2]


def _refused(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err
    return err


@pytest.mark.parametrize("main", [mnist_script.main, intrinsic_dim_script.main])
@pytest.mark.parametrize("argv, says", [
    (["--seed", "-1"], "a seed must be a whole number from 0"),
    (["--seed", "1e20"], "a seed must be a whole number from 0"),
    (["--seed", "1.5"], "not a whole number"),
    (["--seed", "nan"], "not a finite number"),
])
def test_bad_seeds_are_refused(main, argv, says, capsys):
    assert says in _refused(main, argv, capsys)


def test_out_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for main in (mnist_script.main, intrinsic_dim_script.main):
        err = _refused(main, ["--out", str(tmp_path / "file" / "sub")], capsys)
        assert "which is a file" in err
    assert "is a file" in _refused(mnist_script.main, ["--out", str(tmp_path / "file")], capsys)


@pytest.mark.parametrize("argv, says", [
    (["--lr", "inf"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--lr", "1e300"], "--lr"),
    (["--target-loss", "-1"], "--target-loss"),
    (["--target-accuracy", "1.5"], "--target-accuracy"),
    (["--train-size", "1e8"], "from 1 to 60,000"),
    (["--batch-size", "0"], "--batch-size"),
    (["--test-size", "1e308"], "--test-size"),
    (["--threads", "100000"], "--threads"),
])
def test_mnist_refuses_absurd_values(argv, says, capsys):
    assert says in _refused(mnist_script.main, argv, capsys)


def test_intrinsic_dim_refuses_absurd_sizes(capsys):
    assert "--n-images" in _refused(intrinsic_dim_script.main, ["--n-images", "1e8"], capsys)


def test_options_given_with_smoke_are_used_not_ignored():
    args = mnist_script.build_parser().parse_args(
        ["--smoke", "--pgd-steps", "5", "--pgd-subset", "40", "--sample-size", "20", "--test-size", "300"])
    cfg = mnist_script.config_from_args(args)
    e = cfg.evaluation
    assert (e.pgd_steps, e.pgd_subset, e.sample_size, e.test_size) == (5, 40, 20, 300)
    smoke = mnist_script.config_from_args(mnist_script.build_parser().parse_args(["--smoke"])).evaluation
    full = mnist_script.config_from_args(mnist_script.build_parser().parse_args([])).evaluation
    assert (smoke.pgd_steps, smoke.pgd_subset, smoke.sample_size) == (3, 100, 50)
    assert (full.pgd_steps, full.pgd_subset, full.sample_size) == (10, 2000, 300)


def test_max_epochs_is_bounded():
    with pytest.raises(InputError, match="--max-epochs"):
        mnist_script.config_from_args(mnist_script.build_parser().parse_args(["--max-epochs", "1e12"]))


def test_the_real_command_prints_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "training.mnist", "--lr", "inf"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "argument --lr: 'inf' is not a finite number" in proc.stderr


@pytest.fixture()
def damaged_mnist(mnist_root, tmp_path) -> Path:
    """A copy of MNIST/raw whose test labels are truncated, with the original SHA256SUMS."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    src = mnist_root / "MNIST" / "raw"
    if not (src / "SHA256SUMS").is_file():
        pytest.fail(f"{src} has no SHA256SUMS: this test needs the shared copy with its sums")
    for name in (*MNIST_FILES, "SHA256SUMS"):
        (raw / name).symlink_to(src / name)
    victim = raw / "t10k-labels-idx1-ubyte"
    victim.unlink()
    victim.write_bytes((src / victim.name).read_bytes()[:5000])
    return tmp_path


def test_a_corrupt_mnist_file_is_named(damaged_mnist):
    load_mnist(True, damaged_mnist, download=False)  # the training files are intact
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is corrupt: its sha256 does not match"):
        load_mnist(False, damaged_mnist, download=False)


def test_the_training_cli_names_the_corrupt_file(damaged_mnist, tmp_path, capsys):
    code = mnist_script.main(["--smoke", "--data-dir", str(damaged_mnist), "--out", str(tmp_path / "o"),
                              "--max-epochs", "1", "--train-size", "200", "--models", "f_n"])
    err = capsys.readouterr().err
    assert code == 2 and "t10k-labels-idx1-ubyte is corrupt" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "mnist").exists()


def test_check_memory_refuses_before_allocating():
    n, d = 10**8, 10**5
    with pytest.raises(InputError, match=r"needs 37,252\.9 GiB.*use smaller --n"):
        cli.check_memory(4.0 * n * d, "the data (--n x --d float32)", hint="use smaller --n or --d",
                         available=16 * cli.GiB)
    cli.check_memory(1e9, "a small run", available=16 * cli.GiB)  # fits: no error
    with pytest.raises(InputError):
        cli.check_memory(float("inf"), "an overflowing estimate", available=16 * cli.GiB)
    assert cli.available_memory() > 0


def test_validators_accept_good_values(tmp_path):
    assert cli.seed("0") == 0 and cli.seed("4294967295") == 2**32 - 1 and cli.seed("1e3") == 1000
    assert cli.positive_int(10)("10") == 10
    assert cli.finite_float(low=0)("1e-3") == 1e-3
    assert cli.finite_float(low=0, high=1)("1") == 1.0
    assert cli.out_dir(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    with pytest.raises(argparse.ArgumentTypeError):
        cli.finite_float(low=0, high=1)("1.0001")
    assert cli.given(["--smoke", "--pgd-steps=4"], "--pgd-steps") and not cli.given(["--smoke"], "--pgd")


def test_an_unwritable_out_is_an_error_not_a_traceback(capsys):
    def body():
        raise PermissionError(13, "Permission denied", "/root/x")

    assert cli.run_main(body) == 2
    assert capsys.readouterr().err.startswith("error: cannot write /root/x: Permission denied")


# --- the options every script shares ------------------------------------------------------------


def _scripts():
    from training import capacity, random_data

    return {"mnist": mnist_script, "capacity": capacity, "random_data": random_data,
            "intrinsic_dim": intrinsic_dim_script}


@pytest.mark.parametrize("script, options", [
    ("mnist", ("--data-dir", "--out", "--run-dir", "--seed", "--device", "--threads", "--resume",
               "--no-resume", "--fresh", "--smoke")),
    ("capacity", ("--data-dir", "--out", "--run-dir", "--device", "--threads", "--resume", "--no-resume",
                  "--fresh", "--smoke")),
    ("random_data", ("--out", "--device", "--threads", "--resume", "--no-resume", "--fresh", "--smoke")),
    ("intrinsic_dim", ("--data-dir", "--seed", "--out", "--smoke")),
])
def test_every_script_has_the_shared_options_with_one_meaning(script, options, capsys):
    parser = _scripts()[script].build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = capsys.readouterr().out
    for option in options:
        assert option in text, option
    defaults = parser.parse_args([])
    if "--device" in options:
        assert defaults.device == "auto" and defaults.threads == (None if script == "random_data" else 2)
        assert "not a whole number" in _refused(parser.parse_args, ["--threads", "1.5"], capsys)
    if "--resume" in options:  # --fresh is --no-resume: start over
        assert defaults.resume is True
        assert parser.parse_args(["--fresh"]).resume is False
        assert parser.parse_args(["--no-resume"]).resume is False
    if "--seed" in options:
        assert defaults.seed == 0
        assert "a seed must be" in _refused(parser.parse_args, ["--seed", "-2"], capsys)
    assert parser.parse_args(["--smoke"]).smoke is True and defaults.smoke is False


def test_the_provenance_record_says_what_ran_where_and_when():
    import time

    import torch

    from training.runinfo import provenance_record

    record = provenance_record("python -m training.x --smoke", torch.device("cpu"), threads=3, smoke=True,
                               started=time.perf_counter() - 2.0, wall_key="wall_time_s")
    assert record["command"] == "python -m training.x --smoke" and record["device"].startswith("cpu")
    assert record["threads"] == 3 and record["smoke"] is True and record["wall_time_s"] >= 2.0
    assert record["versions"]["torch"] not in ("", "not installed") and "numpy" in record["versions"]
    assert record["created"].endswith("+00:00")
    plain = provenance_record("cmd", versions={"numpy": "1"})
    assert set(plain) == {"command", "created", "versions"} and plain["versions"] == {"numpy": "1"}


# --- what a --smoke run may not do, and folders that cannot be written ---------------------------


def test_any_os_error_of_a_folder_is_one_line_not_a_traceback(capsys):
    """A read-only mount, a full disk, /proc: an OSError that is not one of the named subclasses."""
    import errno

    for exc in (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/mnist"),
                FileNotFoundError(errno.ENOENT, "No such file or directory", "/proc/x"),
                OSError(errno.ENOSPC, "No space left on device")):
        def body(exc=exc):
            raise exc

        assert cli.run_main(body) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: cannot write") and err.count("\n") == 1 and exc.strerror in err


@pytest.mark.parametrize("script, option", [
    ("mnist", "--out"), ("mnist", "--run-dir"), ("capacity", "--out"), ("capacity", "--run-dir"),
    ("random_data", "--out"), ("random_data", "--work-dir"), ("intrinsic_dim", "--out"),
])
def test_an_out_folder_that_cannot_be_made_is_refused_before_any_work(script, option, capsys):
    """`--out /proc/x`: os.access says root may write in /proc, but no folder can be made there."""
    err = _refused(_scripts()[script].main, ["--smoke", option, "/proc/x"], capsys)
    last = err.strip().splitlines()[-1]  # argparse's usage, then one line naming the option
    assert f"argument {option}:" in last and "/proc" in last


def _fake_pretrained(tmp_path, monkeypatch) -> Path:
    import core.results.pretrained as pretrained

    root = tmp_path / "pretrained"
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", root)
    return root


@pytest.mark.parametrize("script", ["mnist", "capacity"])
@pytest.mark.parametrize("out", ["pretrained", "pretrained/../pretrained", "{repo}/pretrained"])
def test_smoke_never_writes_the_shipped_folder(script, out, monkeypatch):
    """`--smoke --out pretrained` (from the checkout) is refused before anything runs or is written.

    args.out is set after parsing: parsing probes the folder, and the test writes nothing there.
    """
    module = _scripts()[script]
    monkeypatch.chdir(REPO)
    args = module.build_parser().parse_args(["--smoke"])
    args.out = Path(out.format(repo=REPO))
    with pytest.raises(InputError, match="--out: a --smoke run .* never writes into pretrained/"):
        module.config_from_args(args)
    args.smoke = False  # the full run may
    assert module.config_from_args(args).out == args.out


@pytest.mark.parametrize("script", ["mnist", "capacity", "intrinsic_dim"])
def test_smoke_into_the_apps_folder_exits_2_and_writes_nothing(script, mnist_root, tmp_path, monkeypatch,
                                                               capsys):
    root = _fake_pretrained(tmp_path, monkeypatch)
    argv = ["--smoke", "--data-dir", str(mnist_root), "--out",
            str(root / "recap" if script == "intrinsic_dim" else root)]
    if script != "intrinsic_dim":
        argv += ["--run-dir", str(tmp_path / "run")]
    assert _scripts()[script].main(argv) == 2
    err = capsys.readouterr().err
    assert "never writes into pretrained/" in err and "Traceback" not in err
    assert not root.exists() and not (tmp_path / "run").exists()


def test_smoke_checkpoints_never_go_into_the_shipped_folder(tmp_path, monkeypatch):
    root = _fake_pretrained(tmp_path, monkeypatch)
    for module in (mnist_script, _scripts()["capacity"]):
        args = module.build_parser().parse_args(["--smoke", "--out", str(tmp_path / "out")])
        args.run_dir = root / "checkpoints"
        with pytest.raises(InputError, match="--run-dir: a --smoke run"):
            module.config_from_args(args)


def test_intrinsic_dim_smoke_defaults_outside_pretrained(mnist_root, tmp_path, monkeypatch):
    """Without --out, `training.intrinsic_dim --smoke` wrote its 600-image estimate over the shipped
    pretrained/recap/intrinsic_dim.json. Here the shipped folder is a temporary one."""
    root = _fake_pretrained(tmp_path, monkeypatch)
    monkeypatch.setattr(intrinsic_dim_script.IntrinsicDimConfig, "out", root / "recap")  # the full default
    monkeypatch.chdir(tmp_path)
    argv = ["--smoke", "--data-dir", str(mnist_root), "--n-images", "300", "--k1", "5", "--k2", "8"]
    assert intrinsic_dim_script.main(argv) == 0
    assert not root.exists()
    import json

    record = json.loads((tmp_path / "runs" / "smoke" / "recap" / "intrinsic_dim.json").read_text())
    assert record["smoke"] is True and record["n_images"] == 300


def test_capacity_options_given_with_smoke_are_used_not_ignored():
    capacity = _scripts()["capacity"]
    every_width = [str(w) for w in capacity.WIDTHS]

    def config(*argv):
        return capacity.config_from_args(capacity.build_parser().parse_args(list(argv)))

    given = config("--smoke", "--adv-epochs", "3", "--check-size", "50", "--pgd-steps", "4",
                   "--pgd-subset", "20", "--widths", *every_width)
    assert (given.adversarial.epochs, given.adversarial.check_size) == (3, 50)
    assert (given.evaluation.pgd_steps, given.evaluation.pgd_subset) == (4, 20)
    widths = lambda cfg: {j.hidden for j in cfg.jobs if j.kind != "zero_loss"}
    assert widths(given) == set(capacity.WIDTHS)
    assert config("--smoke", "--pgd-subset", "0").evaluation.pgd_subset is None  # 0: every test image
    smoke, full = config("--smoke"), config()
    assert (smoke.adversarial.epochs, smoke.adversarial.check_size) == (2, 200)
    assert (smoke.evaluation.pgd_steps, smoke.evaluation.pgd_subset) == (3, 100)
    assert widths(smoke) == {16, 151}
    assert (full.adversarial.epochs, full.adversarial.check_size) == (10, 1000)
    assert (full.evaluation.pgd_steps, full.evaluation.pgd_subset) == (10, 2000)
    assert widths(full) == set(capacity.WIDTHS)
