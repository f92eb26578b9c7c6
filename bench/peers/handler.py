"""The echo handler of bench/peers_bench.py: Lamina, serverless-offline and the floor run it."""

from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:
    return {"ok": True, "echo": event}
