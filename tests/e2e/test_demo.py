"""`wardgate demo` is the README's first command: it must work with no API key at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import anthropic
import pytest

from wardgate.server import free_port

pytestmark = pytest.mark.e2e


def test_demo_runs_without_an_api_key_and_is_labelled_simulated(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "ANTHROPIC" not in k}
    proc = subprocess.Popen([sys.executable, "-m", "wardgate", "demo", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = ""
        deadline = time.monotonic() + 20
        while "Stop: Ctrl-C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner += line
        assert "SIMULATED UPSTREAM" in banner
        key = re.search(r"Demo key\s+(\S+)", banner).group(1)
        assert f'base_url="http://127.0.0.1:{port}"' in banner and f'api_key="{key}"' in banner
        client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key=key, max_retries=3)
        for _ in range(50):
            try:
                msg = client.messages.create(model="claude-sonnet-5-5", max_tokens=64,
                                             messages=[{"role": "user", "content": "Hello, Wardgate"}])
                break
            except anthropic.APIConnectionError:
                time.sleep(0.1)
        assert msg.content[0].text.startswith("[simulated by Wardgate")
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="wrong", max_retries=0).models.list()
    finally:
        proc.terminate()
        proc.wait(10)
