"""Run ASGI apps under uvicorn with the settings we measured (uvloop, httptools)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

__all__ = ["uvicorn_config", "serve", "ThreadedServer", "free_port"]


def uvicorn_config(app, host: str, port: int, **extra) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, loop="uvloop", http="httptools", lifespan="on", interface="asgi3",
        proxy_headers=False,        # X-Forwarded-* is ours to judge (server.trusted_proxies)
        server_header=False, access_log=False, log_config=None, timeout_keep_alive=30,
        **extra)


def serve(app, host: str, port: int) -> None:
    uvicorn.Server(uvicorn_config(app, host, port)).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ThreadedServer:
    """A real HTTP server on loopback in a background thread (tests, the demo's simulator)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.app = app
        self._server = uvicorn.Server(uvicorn_config(app, host, self.port))
        self._thread = threading.Thread(target=self._run, name=f"server:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run()

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
