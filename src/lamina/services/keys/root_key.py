"""The account root's access key: given (``--root-access-key-id`` and
``--root-secret-access-key``), else read from the data directory's ``root-key.json``, else
created there at first start (0600) and printed once to the server's log."""

from __future__ import annotations

import json
import logging
import os
import secrets
import string
from pathlib import Path

from lamina.domain.identity import Principal, SigningKey

log = logging.getLogger("lamina.keys")

ROOT_KEY_FILE = "root-key.json"
FILE_MODE = 0o600
_KEY_ID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


class RootKeyError(ValueError):
    """The root key cannot be read or was given by half."""


def new_long_term_key() -> tuple[str, str]:
    """``(AKIA… id of 20 characters, secret of 40)``, as AWS shapes long-term keys."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return key_id, secret


def root_key(data: Path, account_id: str, given_id: str = "", given_secret: str = "") -> SigningKey:
    """The root key of ``account_id`` (see the module's docstring)."""
    principal = Principal.root(account_id)
    if given_id or given_secret:
        if not (given_id and given_secret):
            raise RootKeyError(
                "--root-access-key-id and --root-secret-access-key go together: give both"
            )
        return SigningKey(given_id, given_secret, principal)
    path = data / ROOT_KEY_FILE
    try:
        stored = json.loads(path.read_text())
        return SigningKey(stored["AccessKeyId"], stored["SecretAccessKey"], principal)
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError) as exc:
        raise RootKeyError(f"{path} is not a root key file: {exc}") from None
    key_id, secret = new_long_term_key()
    _write_private(path, json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret}))
    log.warning(
        "created the account root's access key (shown once; kept in %s): "
        "AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s",
        path,
        key_id,
        secret,
    )
    return SigningKey(key_id, secret, principal)


def _write_private(path: Path, text: str) -> None:
    """Written whole or not at all, readable by the server's user only."""
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
