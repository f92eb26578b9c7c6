"""ResponseStream: order, back-pressure, bounds, abandonment, collection."""

from __future__ import annotations

import asyncio
import json

from lamina.runtime.response_stream import ResponseStream


async def drain(stream: ResponseStream) -> list[bytes]:
    return [chunk async for chunk in stream.chunks()]


def test_chunks_come_in_order_until_the_end() -> None:
    async def main() -> None:
        stream = ResponseStream()
        reader = asyncio.ensure_future(drain(stream))
        for part in (b"a", b"", b"bc", b"d"):
            assert stream.push(part)
            await asyncio.sleep(0)
        stream.end()
        assert await reader == [b"a", b"bc", b"d"]
        assert stream.total == 4 and stream.error is None

    asyncio.run(main())


def test_a_reader_waiting_gets_each_chunk_as_it_is_pushed() -> None:
    async def main() -> None:
        stream = ResponseStream()
        chunks = stream.chunks()
        first = asyncio.ensure_future(chunks.__anext__())
        await asyncio.sleep(0)
        assert not first.done()
        stream.push(b"now")
        assert await asyncio.wait_for(first, 1) == b"now"
        stream.end()

    asyncio.run(main())


def test_push_answers_false_at_high_water_and_resume_fires_below_low_water() -> None:
    async def main() -> None:
        stream = ResponseStream(high_water=10, low_water=4)
        resumed: list[int] = []
        stream.on_resume(lambda: resumed.append(stream.total))
        assert stream.push(b"12345")
        assert not stream.push(b"67890")  # 10 bytes waiting: stop producing
        assert stream.paused
        chunks = stream.chunks()
        assert await chunks.__anext__() == b"12345"
        assert resumed == []  # 5 bytes still wait: above low water
        assert await chunks.__anext__() == b"67890"
        assert resumed == [10] and not stream.paused

    asyncio.run(main())


def test_beyond_the_limit_the_stream_ends_with_the_size_error() -> None:
    async def main() -> None:
        stream = ResponseStream(limit=8)
        assert stream.push(b"12345678")
        stream.push(b"9")  # over: dropped, stream ended
        stream.push(b"more")
        assert stream.ended
        assert stream.error is not None
        error_type, body = stream.error
        assert error_type == "Function.ResponseSizeTooLarge"
        assert json.loads(body) == {
            "errorMessage": "Response payload size exceeded maximum allowed payload size "
            "(8 bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
        assert await drain(stream) == [b"12345678"]

    asyncio.run(main())


def test_abandoning_frees_the_producer_and_drops_what_comes() -> None:
    async def main() -> None:
        stream = ResponseStream(high_water=4, low_water=1)
        resumed: list[bool] = []
        stream.on_resume(lambda: resumed.append(True))
        assert not stream.push(b"12345")
        stream.abandon()
        assert resumed == [True]
        for _ in range(100):
            assert stream.push(b"x" * 1000)  # never held back again, never kept
        stream.end()
        assert await drain(stream) == []

    asyncio.run(main())


def test_a_collecting_stream_never_pauses_and_joins_its_chunks() -> None:
    stream = ResponseStream(limit=100, high_water=2, collect=True)
    assert stream.push(b"abc") and stream.push(b"def")
    assert stream.collected() == b"abcdef"


def test_ready_returns_once_started_or_ended() -> None:
    async def main() -> None:
        stream = ResponseStream()
        waiting = asyncio.ensure_future(stream.ready())
        await asyncio.sleep(0)
        assert not waiting.done()
        stream.begin("text/plain")
        await asyncio.wait_for(waiting, 1)
        ended = ResponseStream()
        ended.end()
        await asyncio.wait_for(ended.ready(), 1)

    asyncio.run(main())
