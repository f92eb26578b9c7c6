"""Random identifiers drawn from a pool of CSPRNG bytes: well-formed and never repeated."""

from __future__ import annotations

import re
import threading
import uuid

from lamina.domain.ids import new_uuid, random_hex
from lamina.domain.tracing import new_trace_id

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_uuids_are_version_4_canonical_and_unique_across_pool_refills() -> None:
    ids = [new_uuid() for _ in range(2000)]  # ~8 refills of the 4 KiB pool
    assert all(UUID4.fullmatch(i) for i in ids)
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids[:50])
    assert len(set(ids)) == len(ids)


def test_random_hex_lengths_including_more_than_the_pool() -> None:
    assert len(random_hex(1)) == 2
    big = random_hex(5000)
    assert len(big) == 10000 and re.fullmatch(r"[0-9a-f]+", big)


def test_trace_ids_have_xrays_shape() -> None:
    trace = new_trace_id()
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", trace)


def test_threads_never_get_the_same_digits() -> None:
    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        for _ in range(3000):
            out.append(new_uuid())

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for out in drawn for i in out]
    assert len(set(every)) == len(every) == 12000
