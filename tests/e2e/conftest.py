"""End-to-end fixtures: a real ``lamina server`` process driven by real clients."""

from __future__ import annotations

from collections.abc import Iterator
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
