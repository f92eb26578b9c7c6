"""botocore's last query-protocol SQS model, for tests that speak SQS as older SDKs do.

botocore's current SQS model is JSON-era; the query names older SDKs (and the AWS CLI v1 of
their time) send and read are only in older releases. ``old_botocore_data`` downloads one
such release once (``pip download``; the wheel is not kept in the repository), extracts its
SQS model into a cache directory and returns a botocore data path holding
``sqs/2012-11-05/service-2.json``. ``query_sqs_session`` is a botocore session whose loader
reads that model first, so ``session.create_client("sqs", ...)`` speaks the query protocol.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

OLD_BOTOCORE = "1.29.165"  # the last SQS model of the query protocol, API 2012-11-05
_MODEL = "botocore/data/sqs/2012-11-05/service-2.json"


def old_botocore_data(cache_dir: Path) -> Path:
    """The data path (``<cache_dir>/data``) holding the old SQS model; downloads it on first
    use. Skips the calling test, saying why, when PyPI cannot be reached."""
    data = cache_dir / "data"
    target = data / "sqs" / "2012-11-05" / "service-2.json"
    if target.is_file():
        return data
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", f"botocore=={OLD_BOTOCORE}"]
                + ["--no-deps", "--only-binary=:all:", "-q", "-d", tmp],
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"cannot download botocore {OLD_BOTOCORE} from PyPI: {exc}")
        wheel = next(Path(tmp).glob("botocore-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            model = json.loads(archive.read(_MODEL))
        assert model["metadata"]["protocol"] == "query", "not a query-protocol SQS model"
        staging = Path(tmp) / "data" / "sqs" / "2012-11-05"
        staging.mkdir(parents=True)
        (staging / "service-2.json").write_text(json.dumps(model))
        data.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file():
            shutil.rmtree(data, ignore_errors=True)
            shutil.move(str(Path(tmp) / "data"), str(data))
    return data


def old_sqs_model(data: Path) -> dict[str, Any]:
    model: dict[str, Any] = json.loads((data / "sqs" / "2012-11-05" / "service-2.json").read_text())
    return model


def query_sqs_session(data: Path) -> Any:
    """A botocore session whose ``sqs`` client speaks the query protocol."""
    import botocore.session

    session = botocore.session.Session()
    session.get_component("data_loader").search_paths.insert(0, str(data))
    return session
