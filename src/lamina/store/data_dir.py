"""The data directory is private to the server's user.

``lamina.sqlite3`` holds environment variables (secrets, often: sealed under the master key
``master.key``, store/master_key.py), ``kms.sqlite3`` KMS keys (sealed too), the others hold
logs, event payloads and queue messages, ``code/`` every package: the directory is 0700 and
every SQLite file 0600 (created so before SQLite opens it; SQLite gives its ``-wal``/``-shm``
files the database's mode). Functions still read their code: the isolated sandbox binds the trees
into each environment as root, so the environment's user never walks these paths.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASES = (
    "lamina.sqlite3",
    "logs.sqlite3",
    "async.sqlite3",
    "sqs.sqlite3",
    "events.sqlite3",
    "sns.sqlite3",
    "scheduler.sqlite3",
    "apigateway.sqlite3",
    "iam.sqlite3",
    "sts.sqlite3",
    "kms.sqlite3",
)
DIRECTORY_MODE = 0o700
DATABASE_MODE = 0o600


def prepare_data_dir(data: Path) -> None:
    data.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    data.chmod(DIRECTORY_MODE)
    for name in DATABASES:
        fd = os.open(data / name, os.O_WRONLY | os.O_CREAT, DATABASE_MODE)
        os.close(fd)
    for path in data.glob("*.sqlite3*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(DATABASE_MODE)
