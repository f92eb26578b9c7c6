"""Archives keep what their pattern matches and expire by retention; a replay that a restart
interrupted is FAILED; replayed events carry ``replay-name`` and are not archived again."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from test_events_service import ACCOUNT, CTX, DEFAULT, QUEUE, Router

from lamina.services.events.ports import ArchiveKey
from lamina.services.events.replays import replayed

NOW = 1_790_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _router(path: Path, clock: Clock) -> Router:
    router = Router(path)
    router.service.registry.clock = clock
    return router


def test_capture_retention_and_interrupted_replay(tmp_path: Path) -> None:
    asyncio.run(_archives(tmp_path))


async def _archives(tmp_path: Path) -> None:
    clock = Clock()
    router = _router(tmp_path / "events.sqlite3", clock)
    await router.service.start()
    key = ArchiveKey("us-east-1", ACCOUNT, "a")
    archives = router.service.archives
    await archives.create(
        key, DEFAULT.arn, description=None, event_pattern='{"source": ["s"]}', retention_days=1
    )
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}"}
    await router.service.put_events(CTX, [entry, {**entry, "Source": "t"}])
    assert archives.archive(key).event_count == 1
    clock.now += 86_400 + 1
    await router.service.put_events(CTX, [entry])
    await archives.expire_once()
    assert archives.archive(key).event_count == 1  # the first one expired
    # A replay left RUNNING by a crash is FAILED at the next start.
    await router.service.rules.put_rule(
        DEFAULT,
        "r",
        event_pattern='{"source": ["s"]}',
        schedule=None,
        state=None,
        description=None,
        role_arn=None,
        tags={},
    )
    await router.service.rules.put_targets(DEFAULT, "r", [{"Id": "q", "Arn": QUEUE}])
    replay = await router.service.replays.start_replay(
        ArchiveKey("us-east-1", ACCOUNT, "rp"),
        source_arn=archives.archive(key).arn,
        event_start=datetime.fromtimestamp(NOW, UTC),
        event_end=datetime.fromtimestamp(clock.now + 1, UTC),
        destination_arn=DEFAULT.arn,
        filter_arns=[],
        description=None,
    )
    await router.settle()
    for _ in range(100):
        if replay.state == "COMPLETED":
            break
        await asyncio.sleep(0.01)
    assert replay.state == "COMPLETED"
    bodies = [json.loads(body) for _, body, _, _ in router.queues.sent]
    assert [b.get("replay-name") for b in bodies] == ["rp"]
    assert archives.archive(key).event_count == 1  # the replayed event was not archived
    replay.state = "RUNNING"
    await router.store.put_replay(replay.key, replay.document())
    await router.service.stop()
    again = _router(tmp_path / "events.sqlite3", clock)
    await again.service.start()
    try:
        restored = again.service.replays.replay(replay.key)
        assert restored.state == "FAILED" and restored.state_reason
        assert again.service.archives.archive(key).event_count == 1
    finally:
        await again.service.stop()


def test_replay_name_sits_after_region() -> None:
    event = {"version": "0", "id": "1", "region": "r", "resources": [], "detail": {}}
    assert list(replayed(event, "x")) == [
        "version",
        "id",
        "region",
        "replay-name",
        "resources",
        "detail",
    ]
