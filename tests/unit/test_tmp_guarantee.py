"""A disk /tmp is given only while the data disk can back every live one at its full size."""

from __future__ import annotations

from pathlib import Path

from lamina.runtime.tmp_guarantee import MB, TmpGuarantee


def guarantee(free_mb: list[int], reserve_mb: int = 100) -> TmpGuarantee:
    return TmpGuarantee(Path("/data"), reserve_mb, lambda _: free_mb[0] * MB)


def test_each_tmp_counts_at_its_full_size_until_given_back() -> None:
    free = [1100]
    tmp = guarantee(free)
    assert tmp.take(1, 512)  # 512 + 100 <= 1100
    assert not tmp.take(2, 512)  # 512 + 512 + 100 > 1100: this one gets memory
    assert tmp.take(3, 400)  # 512 + 400 + 100 <= 1100
    assert tmp.held_mb == 912
    tmp.give_back(1)
    tmp.give_back(1)  # idempotent
    assert tmp.held_mb == 400
    assert tmp.take(2, 512)


def test_space_already_written_counts_against_new_ones() -> None:
    free = [2000]
    tmp = guarantee(free)
    assert tmp.take(1, 512)
    free[0] = 900  # something filled the disk meanwhile
    assert not tmp.take(2, 300)  # 512 + 300 + 100 > 900


def test_an_unreadable_disk_gives_memory() -> None:
    def broken(_: Path) -> int:
        raise OSError("gone")

    assert not TmpGuarantee(Path("/data"), 0, broken).take(1, 1)
