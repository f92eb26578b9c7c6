"""The message engine's pure parts: MD5s, receipt handles, message rules, the queue index."""

from __future__ import annotations

import asyncio

import pytest

from lamina.api.sqs_message_api import sender_id
from lamina.domain.callers import FunctionCaller
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.sqs.errors import OverLimit, ReceiptHandleIsInvalid
from lamina.domain.sqs.queue import Queue
from lamina.services.sqs import message_rules as rules
from lamina.services.sqs import receipts, waiters
from lamina.services.sqs.md5 import md5_of_attributes, md5_of_body
from lamina.services.sqs.message_view import selected_attributes
from lamina.services.sqs.queue_index import DELAYED, IN_FLIGHT, VISIBLE, QueueIndex
from lamina.store.sqs_messages import decode_attributes, encode_attributes
from lamina.store.sqs_records import MessageRecord, StoredAttribute


def _queue(**overrides: object) -> Queue:
    values: dict[str, object] = {
        "id": 1,
        "region": "us-east-1",
        "account_id": "111111111111",
        "name": "q",
        "arn": "arn:aws:sqs:us-east-1:111111111111:q",
        "url": "http://localhost/111111111111/q",
        "fifo": False,
        "attributes": {},
        "tags": {},
        "created": 0.0,
        "last_modified": 0.0,
    }
    values.update(overrides)
    return Queue(**values)  # type: ignore[arg-type]


def _message(seq: int, visible_at: int = 0, group: str | None = None) -> MessageRecord:
    return MessageRecord(
        seq=seq,
        queue_id=1,
        message_id=f"00000000-0000-0000-0000-{seq:012d}",
        body=f"m{seq}",
        message_attributes={},
        trace_header=None,
        sender_id="111111111111",
        sent_ms=0,
        visible_at_ms=visible_at,
        group_id=group,
    )


# --- MD5 (values recorded against AWS) -------------------------------------------------------


def test_md5_of_body_and_attributes_match_aws() -> None:
    assert md5_of_body("message") == "78e731027d8fd50ed642340b7c9a63b3"
    three = {
        "General": ("String", "Kenobi", None),
        "Hello": ("String", "There", None),
        "Help.Me": ("String", "Me", None),
    }
    assert md5_of_attributes(three) == "4c360f3fdafd970e05fae2f149d997f5"
    assert md5_of_attributes({"Foo": ("String", "Bar", None)}) == (
        "ae7155c6026991b6d54b11589678bf9c"
    )
    binary = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    assert md5_of_attributes({"attr1": ("Binary", None, binary)}) == (
        "8cbe4db156db8a94db8b801b7addb984"
    )
    assert md5_of_attributes({}) is None


def test_attribute_selection() -> None:
    attributes: dict[str, StoredAttribute] = {
        "Hello": ("String", "There", None),
        "Help.Me": ("String", "Me", None),
        "General": ("String", "Kenobi", None),
    }
    assert selected_attributes(attributes, ["Hel.*"]).keys() == {"Hello", "Help.Me"}
    assert selected_attributes(attributes, ["*"]) == attributes
    assert selected_attributes(attributes, ["Foo", "Help"]) == {}
    assert selected_attributes(attributes, []) == {}


def test_stored_attributes_round_trip() -> None:
    attributes: dict[str, StoredAttribute] = {
        "a": ("String", "x", None),
        "b": ("Binary.gz", None, b"\x00\xff"),
    }
    assert decode_attributes(encode_attributes(attributes)) == attributes
    assert encode_attributes({}) is None


# --- receipt handles ---------------------------------------------------------------------------


def test_receipt_handles_round_trip_and_reject_garbage() -> None:
    message_id = "d6371172-713c-467b-9afd-ae65149a4435"
    handle = receipts.encode(message_id, "abc")
    assert handle.startswith("AQEB")
    assert receipts.decode(handle) == receipts.Receipt(message_id, "abc")
    for bad in ("", "garbage", "AQEB!!!", "AQEB" + "aGVsbG8="):
        with pytest.raises(ReceiptHandleIsInvalid) as caught:
            receipts.decode(bad)
        assert (
            caught.value.message
            == f'The input receipt handle "{bad}" is not a valid receipt handle.'
        )


# --- message rules ----------------------------------------------------------------------------


def _error(call: object, *args: object, **kwargs: object) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def test_body_characters() -> None:
    assert rules.check_body("tab\tnewline\n emoji \U0001f600") == "tab\tnewline\n emoji \U0001f600"
    error = _error(rules.check_body, "bell \x07")
    assert error.code == "InvalidMessageContents"
    assert "#x7" in error.message
    assert _error(rules.check_body, "").code == "MissingRequiredParameterException"


def test_attribute_rules() -> None:
    assert rules.check_message_attributes(
        {
            "n": {"DataType": "Number", "StringValue": "1.5"},
            "c": {"DataType": "String.x", "StringValue": "v"},
        }
    ) == {"n": ("Number", "1.5", None), "c": ("String.x", "v", None)}
    for name in ("AWS.reserved", "amazon.x", ".lead", "trail.", "a..b", "sp ace", "x" * 257):
        error = _error(
            rules.check_message_attributes, {name: {"DataType": "String", "StringValue": "v"}}
        )
        assert error.code == "InvalidParameterValueException", name
    bad_type = _error(
        rules.check_message_attributes, {"a": {"DataType": "Text", "StringValue": "v"}}
    )
    assert "supported type prefixes" in bad_type.message
    bad_number = _error(
        rules.check_message_attributes, {"a": {"DataType": "Number", "StringValue": "abc"}}
    )
    assert bad_number.code == "InvalidParameterValueException"
    assert (
        rules.check_system_attributes(
            {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1"}}
        )
        == "Root=1"
    )
    assert (
        _error(
            rules.check_system_attributes, {"Other": {"DataType": "String", "StringValue": "x"}}
        ).code
        == "InvalidParameterValueException"
    )


def test_size_counts_body_and_attributes() -> None:
    attributes = {"ab": ("String", "xyz", None), "b": ("Binary", None, b"12")}
    assert rules.message_size("héllo", attributes) == 6 + (2 + 6 + 3) + (1 + 6 + 2)
    queue = _queue(maximum_message_size=1024)
    rules.check_size(1024, queue)
    assert "shorter than 1024 bytes" in _error(rules.check_size, 1025, queue).message


def test_delay_rules() -> None:
    standard = _queue(delay_seconds=7)
    assert rules.check_delay(None, standard) == 7
    assert rules.check_delay(0, standard) == 0
    assert _error(rules.check_delay, 901, standard).code == "InvalidParameterValueException"
    fifo = _queue(fifo=True, delay_seconds=3)
    assert rules.check_delay(0, fifo) == 3


def test_batch_id_rules() -> None:
    rules.check_batch_ids(["a", "b-1", "c_2"], "Entry")
    assert _error(rules.check_batch_ids, [], "Entry").message == (
        "There should be at least one Entry in the request."
    )
    assert _error(rules.check_batch_ids, ["x"] * 11, "Entry").code == "TooManyEntriesInBatchRequest"
    assert _error(rules.check_batch_ids, ["a" * 81], "Entry").code == "InvalidBatchEntryId"
    assert _error(rules.check_batch_ids, ["a", "a"], "Entry").message == "Id a repeated."


# --- the queue index --------------------------------------------------------------------------


def test_standard_index_states_and_promotion() -> None:
    index = QueueIndex(1, fifo=False)
    first, delayed = _message(1), _message(2, visible_at=5000)
    index.add(first, now_ms=0)
    index.add(delayed, now_ms=0)
    assert (first.state, delayed.state) == (VISIBLE, DELAYED)
    assert index.receivable(10) == [first]
    first.receive_count = 1
    index.set_visible_at(first, 3000, now_ms=0)
    assert first.state == IN_FLIGHT and index.receivable(10) == []
    assert index.next_due_ms() == 3000
    assert index.promote(3000) == 1
    assert index.receivable(10) == [first]
    index.promote(5000)
    assert index.receivable(10) == [first, delayed]
    assert (index.visible, index.in_flight, index.delayed) == (2, 0, 0)
    index.remove(first)
    assert index.receivable(10) == [delayed] and index.visible == 1


def test_fifo_index_locks_groups_in_flight() -> None:
    index = QueueIndex(1, fifo=True)
    a1, b1, a2 = _message(1, group="a"), _message(2, group="b"), _message(3, group="a")
    for message in (a1, b1, a2):
        index.add(message, now_ms=0)
    assert index.receivable(10) == [a1, a2, b1]
    a1.receive_count = 1
    index.set_visible_at(a1, 1000, now_ms=0)
    assert index.receivable(10) == [b1]
    index.promote(1000)  # a1 visible again: group a unlocked, still in order
    assert index.receivable(10) == [a1, a2, b1]
    index.remove(a1)
    assert index.receivable(1) == [a2]


# --- waiters ----------------------------------------------------------------------------------


def test_waiters_notify_oldest_and_time_out() -> None:
    async def scenario() -> None:
        parked = waiters.Waiters()
        first = asyncio.ensure_future(parked.wait(5))
        second = asyncio.ensure_future(parked.wait(5))
        await asyncio.sleep(0)
        assert len(parked) == 2
        parked.notify(1)
        assert await first is True
        assert not second.done()
        assert await parked.wait(0.01) is False
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        assert len(parked) == 0

    asyncio.run(scenario())


def test_waiters_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiters, "MAX_WAITERS_PER_QUEUE", 2)

    async def scenario() -> None:
        parked = waiters.Waiters()
        held = [asyncio.ensure_future(parked.wait(5)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(OverLimit):
            await parked.wait(5)
        parked.notify_all()
        await asyncio.gather(*held)

    asyncio.run(scenario())


def test_sender_id_of_account_and_function_roles() -> None:
    assert sender_id(RequestContext("r", "111111111111", "us-east-1")) == "111111111111"
    caller = FunctionCaller(
        function_name="worker",
        role_arn="arn:aws:iam::111111111111:role/r",
        log_group="/aws/lambda/worker",
        account_id="111111111111",
        region="us-east-1",
    )
    sender = sender_id(RequestContext("r", "111111111111", "us-east-1", caller))
    role_id, session = sender.split(":")
    assert session == "worker" and role_id.startswith("AROA") and len(role_id) == 21
    assert sender == sender_id(RequestContext("r2", "111111111111", "us-east-1", caller))
