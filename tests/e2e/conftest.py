"""Real processes on loopback: ``wardgate sim`` and ``wardgate serve``, driven by the SDK."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from wardgate.server import free_port

SIM_KEY = "sk-ant-e2e-upstream-key"
GW_KEY = "wg_e2e_gateway_key_0123456789"
PEPPER = "e2e-pepper-0123456789abcdefghijklmnopqrstuvwxyz"


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-3000:]}")


class Proc:
    def __init__(self, args: list[str], url: str, probe: str, env: dict, log: Path) -> None:
        self.url = url
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "wardgate", *args], env=env,
                                     stdout=self._fh, stderr=subprocess.STDOUT)
        _wait_healthy(url + probe, self.proc, log)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._fh.close()


@pytest.fixture(scope="session")
def sim_proc(tmp_path_factory):
    port = free_port()
    env = os.environ | {"WG_E2E_SIM_KEY": SIM_KEY}
    p = Proc(["sim", "--port", str(port), "--api-key-env", "WG_E2E_SIM_KEY"], f"http://127.0.0.1:{port}",
             "/_sim/stats", env, tmp_path_factory.mktemp("sim") / "sim.log")
    yield p
    p.stop()


@pytest.fixture
def sim_ctl(sim_proc):
    """Control the simulator process over HTTP; reset before and after each test."""
    c = httpx.Client(base_url=sim_proc.url, timeout=5)
    c.delete("/_sim/stats")
    yield c
    c.delete("/_sim/stats")
    c.close()


def start_gateway(sim_url: str, tmp_path: Path, upstream_yaml: str = "", extra_yaml: str = "",
                  database_url: str | None = None) -> Proc:
    port = free_port()
    cfg = tmp_path / f"wardgate-{port}.yaml"
    cfg.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        + (f"database:\n  url: {database_url}\n" if database_url else "") +
        f"server:\n  port: {port}\n"
        f"upstream:\n  base_url: {sim_url}\n  api_key_env: WG_E2E_UPSTREAM_KEY\n"
        f"  retries:\n    backoff_base: 0.01\n    backoff_max: 0.05\n" + upstream_yaml +
        "auth:\n  static_keys:\n"
        f"    - id: e2e\n      sha256: \"{hashlib.sha256(GW_KEY.encode()).hexdigest()}\"\n" + extra_yaml)
    env = os.environ | {"WG_E2E_UPSTREAM_KEY": SIM_KEY, "WARDGATE_KEY_PEPPER": PEPPER}
    subprocess.run([sys.executable, "-m", "wardgate", "db", "upgrade", "--config", str(cfg)], env=env,
                   check=True, capture_output=True, timeout=60)
    return Proc(["serve", "--config", str(cfg)], f"http://127.0.0.1:{port}", "/healthz", env,
                tmp_path / f"gateway-{port}.log")


@pytest.fixture(scope="session")
def gateway(sim_proc, tmp_path_factory):
    # a high breaker threshold: fault tests share this gateway (the breaker has its own tests)
    p = start_gateway(sim_proc.url, tmp_path_factory.mktemp("gw"), "  breaker:\n    failures: 1000\n")
    yield p
    p.stop()


def wait_for(predicate, timeout: float, interval: float = 0.02) -> float:
    """Poll until predicate() is true; return the seconds it took (or fail)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
