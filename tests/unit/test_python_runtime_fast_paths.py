"""The built-in Python runtime's per-invoke fast paths give what the plain paths give: JSON
through the C scanner and a prebuilt C encoder, ``_X_AMZN_TRACE_ID`` through ``putenv`` on a
buffer of the runtime's own, ``flush_std`` skipping streams that hold nothing."""

from __future__ import annotations

import decimal
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtimes" / "python"


def run_in_runtime_dir(code: str) -> str:
    """Run ``code`` in a fresh interpreter with the runtime's modules importable."""
    script = f"import sys; sys.path.insert(0, {str(RUNTIME_DIR)!r})\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def marshal() -> Any:
    sys.path.insert(0, str(RUNTIME_DIR))
    try:
        return importlib.import_module("lamina_runtime_marshal")
    finally:
        sys.path.remove(str(RUNTIME_DIR))


BODIES = [
    b'{"hello": "world", "n": 1}',
    b"[1, 2.5, null, true]",
    b'{"s": "\\ud83d\\ude00 caf\\u00e9", "u": "caf\xc3\xa9"}',
    b' {"leading": "space"}',
    b'{"trailing": "space"}\n',
    b'{"a": 1} extra',
    b'{"a": 1',
    b"{}",
    b"[]",
    b'"string"',
    b"12",
    b"",
    b"\xef\xbb\xbf{}",
    '{"utf16": 1}'.encode("utf-16"),
    '{"utf16le": 1}'.encode("utf-16-le"),
    b'{"bad": "\xff"}',
    b'{"surrogate": "\xed\xa0\x80"}',
    b'{"nan": NaN, "inf": -Infinity}',
    b'{"dup": 1, "dup": 2}',
    b'{"ctrl": "a\x01b"}',
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_unmarshal_is_json_loads(marshal: Any, body: bytes) -> None:
    try:
        expected: Any = ("ok", json.loads(body))
    except Exception as e:
        expected = ("error", f"Unable to unmarshal input: {e}")
    try:
        got: Any = ("ok", marshal.Marshaller.unmarshal_request(body, "application/json"))
    except marshal.FaultException as e:
        got = ("error", e.msg)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_to_json_is_the_encoder(marshal: Any, ensure_ascii: bool) -> None:
    m = marshal.Marshaller(ensure_ascii=ensure_ascii)
    plain = json.JSONEncoder(ensure_ascii=ensure_ascii, allow_nan=True)
    values: list[Any] = [
        {"ok": True, "echo": {"hello": "wörld", "n": [1, 2.5, None]}},
        "top-level string é",
        3.25,
        float("nan"),
        [float("inf"), -0.0, 10**30],
        {1: "int key", None: "none key", 2.5: "float key"},
    ]
    for value in values:
        assert m.to_json(value) == plain.encode(value)
    assert m.to_json({"d": decimal.Decimal("1.10"), "b": b"bytes"}) == '{"d": 1.10, "b": "bytes"}'
    circular: list[Any] = []
    circular.append(circular)
    for _ in range(2):  # the markers left by a failed call do not spoil the next one
        with pytest.raises(ValueError, match="Circular reference"):
            m.to_json(circular)
        shared = [1]
        assert m.to_json([shared, shared]) == "[[1], [1]]"
    with pytest.raises(TypeError, match="not JSON serializable"):
        m.to_json({"x": object()})
    assert m.to_json({"x": 1}) == '{"x": 1}'


def test_trace_id_variable_reaches_os_environ_getenv_and_children_without_leaking() -> None:
    out = run_in_runtime_dir(
        """
        import ctypes, os, subprocess
        import lamina_runtime_trace as t

        libc = ctypes.CDLL(None)
        libc.getenv.restype = ctypes.c_char_p
        var = t.TraceIdVariable(os.environ)
        assert var._putenv is not None  # ctypes is imported: the putenv path
        def c_value():
            value = libc.getenv(b"_X_AMZN_TRACE_ID")
            return None if value is None else value.decode()
        def child_value():
            return subprocess.run(
                ["/bin/sh", "-c", 'printf %s "${_X_AMZN_TRACE_ID-unset}"'],
                capture_output=True, text=True,
            ).stdout
        var.set("Root=1-a;Sampled=1")
        assert os.environ["_X_AMZN_TRACE_ID"] == c_value() == child_value() == "Root=1-a;Sampled=1"
        long = "Root=1-" + "b" * 1000
        var.set(long)  # beyond the buffer: a bigger one
        assert os.environ["_X_AMZN_TRACE_ID"] == c_value() == child_value() == long
        var.set("short")
        assert os.getenv("_X_AMZN_TRACE_ID") == c_value() == "short"
        var.clear()
        assert "_X_AMZN_TRACE_ID" not in os.environ and c_value() is None
        assert child_value() == "unset"
        var.clear()  # not set: nothing to do
        os.environ["_X_AMZN_TRACE_ID"] = "set by the function"
        var.set("again")
        assert os.environ["_X_AMZN_TRACE_ID"] == c_value() == "again"
        try:
            var.set("nul\\0byte")
        except ValueError:
            pass
        else:
            raise AssertionError("a NUL byte is refused as os.environ refuses it")

        def rss_kib():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        before = rss_kib()
        for i in range(100000):
            var.set("Root=1-5759e988-%024x;Parent=53995c3f42cd8ad8;Sampled=1" % i)
        print(rss_kib() - before)
        """
    )
    # os.environ[...] = value would keep ~14 MB here (glibc's setenv keeps every value).
    assert int(out) < 2048


def test_trace_id_variable_imports_ctypes_late_and_falls_back_before() -> None:
    out = run_in_runtime_dir(
        """
        import os, sys
        import lamina_runtime_trace as t

        assert "ctypes" not in sys.modules
        var = t.TraceIdVariable(os.environ)
        for i in range(t.LAZY_IMPORT_AFTER - 1):
            var.set("v%d" % i)
        assert var._putenv is None and "ctypes" not in sys.modules
        assert os.environ["_X_AMZN_TRACE_ID"] == "v%d" % (t.LAZY_IMPORT_AFTER - 2)
        var.set("last")
        assert var._putenv is not None
        var.set("after")
        print(os.environ["_X_AMZN_TRACE_ID"])
        """
    )
    assert out == "after\n"


def test_flush_std_skips_only_its_own_write_through_streams() -> None:
    out = run_in_runtime_dir(
        """
        import io, sys
        import lamina_runtime_logging as lg

        class Counting(io.StringIO):
            flushes = 0
            def flush(self):
                Counting.flushes += 1

        sys.stdout = lg.unbuffered(sys.stdout)
        sys.stderr = Counting()
        lg.flush_std()
        assert Counting.flushes == 1
        sys.stdout.reconfigure(write_through=False)
        sys.stdout.write("held until flushed")
        lg.flush_std()
        sys.__stdout__.write("|")
        """
    )
    assert out == "held until flushed|"
