"""The ``_X_AMZN_TRACE_ID`` environment variable of Lamina's built-in Python runtime.

Like AWS's runtime, the runtime sets ``_X_AMZN_TRACE_ID`` to each invocation's trace header
(and removes it when there is none), for ``os.environ``, ``getenv`` in C code and child
processes alike. ``os.environ[...] = value`` does that through the C library's ``setenv``, which
in glibc keeps every distinct value it was ever given (they may still be referenced): with a new
trace id per invocation that leaks ~150 bytes per invoke (~150 MB per million, in a function's
memory limit) and each call searches a tree of all of them.

``TraceIdVariable`` gives the C environment a string it owns instead (``putenv``, which keeps the
caller's string): two buffers used in turn, so a pointer ``getenv`` returned stays valid and
unchanged until the invocation after next; ``os.environ`` is updated without ``putenv``. It
needs ``ctypes``, used once it is imported (a forking spawner has imported it) or after
``LAZY_IMPORT_AFTER`` values, so it costs a cold start nothing; until then, and wherever any
part is missing, it falls back to ``os.environ``.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, List

NAME = "_X_AMZN_TRACE_ID"
# Values set through ``os.environ`` before ``ctypes`` is imported for the C environment.
LAZY_IMPORT_AFTER = 1024
_MIN_CAPACITY = 256


class TraceIdVariable:
    """Sets and clears ``_X_AMZN_TRACE_ID`` in ``environ`` (``os.environ``) and the C
    environment. Observable behaviour is that of ``environ[NAME] = value`` / ``del``."""

    def __init__(self, environ: Any) -> None:
        self._environ = environ
        self._pending_import = LAZY_IMPORT_AFTER
        self._ctypes: Any = None
        self._putenv: Any = None  # libc's putenv, once set up
        self._buffers: List[Any] = []  # two ctypes char buffers, used in turn
        self._turn = 0
        self._prefix = b""
        self._key: Any = None
        self._data: Any = None
        self._encoding = "utf-8"
        self._setup(sys.modules.get("ctypes"))

    def _setup(self, ctypes: Any) -> None:
        """Use ``ctypes`` for the C environment if every part needed is there."""
        environ = self._environ
        data = getattr(environ, "_data", None)
        if ctypes is None or not isinstance(data, dict) or sys.platform == "win32":
            return
        try:
            libc = ctypes.CDLL(None)
            putenv = libc.putenv
            putenv.argtypes = [ctypes.c_char_p]
            putenv.restype = ctypes.c_int
            key = environ.encodekey(NAME)
        except Exception:
            return
        if not isinstance(key, bytes):
            return
        self._ctypes = ctypes
        self._buffers = [ctypes.create_string_buffer(_MIN_CAPACITY) for _ in range(2)]
        self._encoding = sys.getfilesystemencoding()
        self._prefix = key + b"="
        self._key = key
        self._data = data
        self._putenv = putenv

    def set(self, value: str) -> None:
        """``environ[NAME] = value``."""
        putenv = self._putenv
        if putenv is None:
            self._environ[NAME] = value
            self._pending_import -= 1
            if not self._pending_import:
                self._late_setup()
            return
        encoded = value.encode(self._encoding, "surrogateescape")
        line = self._prefix + encoded
        if b"\0" in line:
            self._environ[NAME] = value  # raises ValueError, as os.environ does
            return
        turn = self._turn = 1 - self._turn
        buffer = self._buffers[turn]
        if len(line) >= len(buffer):  # not in the environment: the other one is
            buffer = self._buffers[turn] = self._ctypes.create_string_buffer(2 * len(line))
        buffer.value = line
        if putenv(buffer) != 0:
            self._environ[NAME] = value
            return
        self._data[self._key] = encoded

    def clear(self) -> None:
        """``del environ[NAME]`` if it is set."""
        if NAME in self._environ:
            del self._environ[NAME]

    def _late_setup(self) -> None:
        """Import ``ctypes`` now, unless a module of the function's would be imported."""
        ctypes = sys.modules.get("ctypes")
        if ctypes is None:
            try:
                import importlib.util

                spec = importlib.util.find_spec("ctypes")
                stdlib = os.path.dirname(os.__file__) + os.sep
                if spec is None or not (spec.origin or "").startswith(stdlib):
                    return
                import ctypes
            except Exception:
                return
        self._setup(ctypes)
