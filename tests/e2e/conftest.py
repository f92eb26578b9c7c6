"""End-to-end fixtures: a real ``lamina server`` process driven by real clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import Capture, LaminaServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    data = tmp_path_factory.mktemp("lamina") / "data"
    srv = LaminaServer(data)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def lam(server: LaminaServer) -> Any:
    return server.client()


@pytest.fixture(scope="module")
def capture() -> Capture:
    return Capture()


@pytest.fixture(scope="module")
def raw_lam(server: LaminaServer, capture: Capture) -> Any:
    client = server.client(parameter_validation=False)
    client.meta.events.register("before-parse.lambda.*", capture)
    return client


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., LaminaServer]]:
    """Servers with their own settings (stopped at the end of the test)."""
    started: list[LaminaServer] = []

    def start(*args: str, data: Path | None = None, idle_timeout: float = 60.0) -> LaminaServer:
        srv = LaminaServer(
            data or tmp_path / f"data{len(started)}",
            idle_timeout=idle_timeout,
            extra_args=list(args),
        )
        srv.start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        if srv.process is not None and srv.process.poll() is None:
            srv.stop()
