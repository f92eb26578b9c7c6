"""The INIT_START line AWS logs when an environment's init begins (issue 14)."""

from __future__ import annotations

import re

import pytest

from lamina.domain.arns import init_start_line, runtime_version_arn, runtime_version_name


@pytest.mark.parametrize(
    ("runtime", "name"),
    [
        ("python3.13", "python:3.13.v1"),
        ("python3.8", "python:3.8.v1"),
        ("nodejs20.x", "nodejs:20.v1"),
        ("ruby3.3", "ruby:3.3.v1"),
        ("java17", "java:17.v1"),
        ("java8.al2", "java:8.al2.v1"),
        ("provided.al2023", "provided:al2023.v1"),
        ("provided.al2", "provided:al2.v1"),
    ],
)
def test_runtime_version_names_have_aws_shape(runtime: str, name: str) -> None:
    assert runtime_version_name(runtime) == name


def test_the_line_names_the_version_and_the_arn_the_api_returns() -> None:
    line = init_start_line("eu-west-1", "python3.12")
    assert re.fullmatch(
        r"INIT_START Runtime Version: python:3\.12\.v1\tRuntime Version ARN: "
        r"arn:aws:lambda:eu-west-1::runtime:[0-9a-f]{64}",
        line,
    )
    assert line.endswith(runtime_version_arn("eu-west-1", "python3.12"))
