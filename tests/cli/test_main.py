import hashlib
import subprocess
import sys

import pytest

from wardgate import __version__
from wardgate.cli.main import main


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "wardgate", *args], capture_output=True, text=True,
                          timeout=30, env=env)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"wardgate {__version__}"


def test_config_check_ok_and_errors(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("server:\n  port: 9000\nauth:\n  static_keys:\n    - id: a\n      sha256: \"" + "0" * 64 + "\"\n")
    assert main(["config", "check", str(good)]) == 0
    assert "ok:" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstream:\n  timeouts:\n    read: -1\nguards:\n  shape:\n    max_messages: 0\n")
    assert main(["config", "check", str(bad)]) == 2
    assert "upstream.timeouts.read" in capsys.readouterr().err
    bad.write_text("guards:\n  nosuch: {}\n")
    assert main(["config", "check", str(bad)]) == 2
    assert "guards.nosuch: unknown guard" in capsys.readouterr().err


def test_serve_refuses_without_an_upstream_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("upstream:\n  api_key_env: WG_TEST_UNSET_KEY\n")
    env = {"PATH": "/usr/bin:/bin"}
    r = run("serve", "--config", str(cfg), env=env)
    assert r.returncode == 2 and "WG_TEST_UNSET_KEY is not set" in r.stderr


def test_static_key_prints_a_key_and_its_digest(capsys):
    assert main(["static-key", "--id", "svc"]) == 0
    out = capsys.readouterr().out
    key = out.split("shown once, give it to the caller): ")[1].split()[0]
    assert key.startswith("wg_static_") and hashlib.sha256(key.encode()).hexdigest() in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["config"], ["nonsense"]])
def test_bad_usage(argv):
    with pytest.raises(SystemExit) if argv == ["nonsense"] else _nullcontext():
        assert main(argv) == 2


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
