"""deploy/serve_app.py (what `make app` runs): the lecture's environment it sets before Streamlit
starts, from --public-host / PUBLIC_HOST and the port, and the lecturer key (no process started)."""

from __future__ import annotations

import pytest

from app.classroom.key import KEY_ALPHABET
from core.errors import InputError
from deploy.serve_app import lecture_settings, main, streamlit_port, take_option


def test_public_host_is_consumed_and_paired_with_streamlits_port():
    args, env, made = lecture_settings(["--public-host", "192.168.1.20", "--server.port", "8600"], {})
    # Listening on every network: .streamlit/config.toml's 127.0.0.1 would shut the phones out.
    assert args == ["--server.port", "8600", "--browser.serverAddress", "192.168.1.20", "--server.address", "0.0.0.0"]
    assert env["LECTURE_ADDRESS"] == "http://192.168.1.20:8600"
    assert made and len(env["LECTURE_KEY"]) == 12 and set(env["LECTURE_KEY"]) <= set(KEY_ALPHABET)
    args, env, _ = lecture_settings(["--public-host=lecture.example.edu", "--browser.serverAddress", "x.y",
                                     "--server.address", "10.0.0.5"], {})
    assert args == ["--browser.serverAddress", "x.y", "--server.address", "10.0.0.5"]  # as given
    assert env["LECTURE_ADDRESS"] == "http://lecture.example.edu:8501"
    args, _, _ = lecture_settings(["--public-host=lecture.example.edu"], {"STREAMLIT_SERVER_ADDRESS": "10.0.0.5"})
    assert "--server.address" not in args
    assert "--server.address" not in lecture_settings([], {})[0]  # no public host: config.toml's loopback


def test_public_host_from_the_environment_and_the_port_from_streamlits_own_variable():
    _, env, _ = lecture_settings([], {"PUBLIC_HOST": "10.0.0.5", "STREAMLIT_SERVER_PORT": "9001"})
    assert env["LECTURE_ADDRESS"] == "http://10.0.0.5:9001"
    _, env, _ = lecture_settings(["--public-host", "10.0.0.6", "--server.port=9002"], {"PUBLIC_HOST": "10.0.0.5"})
    assert env["LECTURE_ADDRESS"] == "http://10.0.0.6:9002"  # the option wins over the variable


def test_without_a_host_the_address_is_left_as_set_and_a_given_key_is_kept():
    # What deploy/serve_class.py's app processes get: both set, no host of their own.
    args, env, made = lecture_settings(["--server.port", "8601"], {"LECTURE_KEY": "k7mdq2xwhe4p",
                                                                     "LECTURE_ADDRESS": "http://10.0.0.5:8501"})
    assert args == ["--server.port", "8601"] and env == {} and not made


@pytest.mark.parametrize("argv, environ, says", [
    (["--public-host", "http://10.0.0.5"], {}, "scheme"),
    (["--public-host", "10.0.0.5:8501"], {}, "port"),
    (["--public-host"], {}, "needs a value"),
    ([], {"PUBLIC_HOST": "a b"}, "spaces"),
    (["--public-host", "10.0.0.5", "--server.port", "x"], {}, "not a port number"),
    ([], {"LECTURE_KEY": "short"}, "fewer than 8"),
])
def test_bad_settings_are_refused_with_the_fix(argv, environ, says):
    with pytest.raises(InputError, match=says):
        lecture_settings(argv, environ)


def test_main_stops_with_the_error_before_streamlit_starts(monkeypatch):
    monkeypatch.setattr("deploy.serve_app.raise_open_files_limit", lambda: pytest.fail("got past the check"))
    with pytest.raises(SystemExit, match="error: public host 'http://10.0.0.5' holds a scheme"):
        main(["--public-host", "http://10.0.0.5"])


def test_take_option_and_the_port():
    assert take_option(["a", "--x", "1", "b", "--x=2"], "--x") == ("2", ["a", "b"])
    assert take_option(["a"], "--x") == (None, ["a"])
    assert streamlit_port([], {}) == 8501


def test_main_prints_the_key_it_made_and_where_students_join(monkeypatch, capsys):
    for name in ("LECTURE_KEY", "LECTURE_ADDRESS", "PUBLIC_HOST", "STREAMLIT_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)  # restored afterwards, whatever main sets

    def stop():
        raise RuntimeError("stopped before Streamlit")

    monkeypatch.setattr("deploy.serve_app.raise_open_files_limit", stop)
    with pytest.raises(RuntimeError, match="stopped before Streamlit"):
        main(["--public-host", "10.0.0.5"])
    import os

    out = capsys.readouterr().out.splitlines()
    assert out == [f"Lecturer key: {os.environ['LECTURE_KEY']} (type it into the presenter's Lecturer field)",
                   "Students join at http://10.0.0.5:8501/class"]
    monkeypatch.setenv("LECTURE_KEY", "given-key-42")  # handed over (make class): not printed again
    with pytest.raises(RuntimeError):
        main([])
    assert "Lecturer key" not in capsys.readouterr().out


def test_make_passes_the_public_host_and_opens_the_class_to_the_network():
    """`make app PUBLIC_HOST=...` hands it to serve_app; `make class PUBLIC_HOST=...` also listens on
    every network unless ADDRESS says where (loopback without a public host)."""
    import subprocess
    from pathlib import Path

    def dry(*args: str) -> str:
        return subprocess.run(["make", "-n", "-B", *args], cwd=Path(__file__).resolve().parents[2],
                              capture_output=True, text=True, check=True).stdout

    assert "-m deploy.serve_app --public-host 10.0.0.5" in dry("app", "PUBLIC_HOST=10.0.0.5")
    assert "--public-host" not in dry("app")
    assert "--address 0.0.0.0 --port 8501" in dry("class", "PUBLIC_HOST=10.0.0.5")
    assert "--address 10.0.0.9 --port 8501" in dry("class", "PUBLIC_HOST=10.0.0.5", "ADDRESS=10.0.0.9")
    assert "--address 127.0.0.1 --port 8501" in dry("class")
