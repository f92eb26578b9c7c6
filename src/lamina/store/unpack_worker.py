"""File-tree work in processes of their own: ``python -m lamina.store.unpack_worker``.

Verifying and writing (or removing) thousands of files is seconds of Python holding the
GIL; done in a thread of the server it would still stall the event loop whenever the
machine is busy. ``unpack_in_process`` runs ``store.unpack.unpack`` in a child instead
(merged trees lose the links that leave them there too) and turns the outcome back into
what ``unpack`` would have returned or raised; ``remove_tree`` runs ``rm -rf``.

Protocol: arguments ``DEST MAX_BYTES MERGE SKIP_OUTSIDE ZIP...``; one JSON line on stdout:
``{"written": n}``, ``{"bad": reason}`` or ``{"errno": n, "error": text}``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from lamina.store.unpack import BadPackage, drop_escaping_links, unpack

log = logging.getLogger("lamina.code")
NICENESS = 10


def unpack_in_process(
    sources: Sequence[Path],
    dest: Path,
    *,
    max_bytes: int,
    merge: bool = False,
    skip_outside: bool = False,
) -> int:
    """``unpack`` of each zip of ``sources`` in order into ``dest``, in a child process;
    returns the bytes written. Raises ``BadPackage`` or ``OSError`` as ``unpack`` does."""
    command = [
        sys.executable,
        "-m",
        "lamina.store.unpack_worker",
        str(dest),
        str(max_bytes),
        "1" if merge else "0",
        "1" if skip_outside else "0",
        *(str(s) for s in sources),
    ]
    done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    try:
        outcome = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise OSError(f"unpacking failed: {done.stderr.decode(errors='replace')[-500:]}") from None
    if "bad" in outcome:
        raise BadPackage(str(outcome["bad"]))
    if "errno" in outcome:
        raise OSError(int(outcome["errno"]), str(outcome["error"]))
    for link in outcome.get("dropped", ()):
        log.warning("%s: the link %s leaves the merged tree: dropped", dest.name[:12], link)
    return int(outcome["written"])


def remove_tree(path: Path) -> None:
    """Remove a directory tree (already renamed out of the way), in a child process."""
    rm = shutil.which("rm")
    if rm is None:
        shutil.rmtree(path, ignore_errors=True)
        return
    subprocess.run(
        [rm, "-rf", "--", str(path)],
        stdin=subprocess.DEVNULL,
        check=False,
        preexec_fn=_lower_priority,  # noqa: PLW1509 - one os call before exec
    )


def _lower_priority() -> None:
    os.nice(NICENESS)


def main(argv: Sequence[str]) -> int:
    dest, max_bytes, merge, skip_outside, *sources = argv
    written = 0
    try:
        for source in sources:
            written += unpack(
                Path(source),
                Path(dest),
                max_bytes=int(max_bytes),
                merge=merge == "1",
                skip_outside=skip_outside == "1",
            )
    except BadPackage as exc:
        print(json.dumps({"bad": str(exc)}))
        return 0
    except OSError as exc:
        print(json.dumps({"errno": exc.errno or 0, "error": str(exc)}))
        return 0
    dropped = [str(p) for p in drop_escaping_links(Path(dest))] if merge == "1" else []
    print(json.dumps({"written": written, "dropped": dropped}))
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    os.nice(NICENESS)  # the server's event loop comes first
    sys.exit(main(sys.argv[1:]))
