"""Which /tmp size the inits prepared ahead mount (runtime/ephemeral.py): the size most of
the recent starts asked for, so one function with another size does not make every
following start of the common size pay for its own /tmp."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lamina.runtime.ephemeral import DEFAULT_MB, RECENT_STARTS, EphemeralImages


def images(tmp_path: Path) -> EphemeralImages:
    found = EphemeralImages(tmp_path / "ephemeral", (993, 990))
    found.disk = _no_disk  # type: ignore[method-assign]  # no mkfs: only the choice
    return found


async def _no_disk(size_mb: int) -> None:
    return None


def starts(found: EphemeralImages, *sizes: int) -> None:
    for size in sizes:
        asyncio.run(found.for_start(size))


def test_aws_default_before_any_start(tmp_path: Path) -> None:
    assert images(tmp_path).expected_mb == DEFAULT_MB == 512


def test_one_other_size_does_not_move_it(tmp_path: Path) -> None:
    found = images(tmp_path)
    starts(found, 512, 512, 512, 1024)
    assert found.expected_mb == 512


def test_the_most_frequent_recent_size_wins_and_the_latest_breaks_ties(tmp_path: Path) -> None:
    found = images(tmp_path)
    starts(found, 512, 2048, 2048)
    assert found.expected_mb == 2048
    starts(found, 512)
    assert found.expected_mb == 512  # 2 each: the latest
    starts(found, *[4096] * RECENT_STARTS)
    assert found.expected_mb == 4096  # older starts are forgotten
