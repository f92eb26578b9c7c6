"""Bounds on what an API may store (AWS's, where known): names, descriptions, tags and
stage variables, so that no record grows without limit."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lamina.services.apigateway.errors import BadRequestException

MAX_NAME = 128
MAX_DESCRIPTION = 1024
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_STAGE_VARIABLES = 100
MAX_STAGE_VARIABLE_VALUE = 2048
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_VARIABLE_VALUE = re.compile(r"[A-Za-z0-9\-._~:/?#&=,]*")


def check_name(name: str | None) -> None:
    if name is not None and len(name) > MAX_NAME:
        raise BadRequestException(f"Name must be at most {MAX_NAME} characters")


def check_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise BadRequestException(f"Description must be at most {MAX_DESCRIPTION} characters")


def check_tags(tags: Mapping[str, str] | None) -> None:
    if not tags:
        return
    if len(tags) > MAX_TAGS:
        raise BadRequestException(f"At most {MAX_TAGS} tags are allowed")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            raise BadRequestException(
                f"Tag keys must be 1 to {MAX_TAG_KEY} characters and values at most {MAX_TAG_VALUE}"
            )


def check_stage_variables(variables: Mapping[str, str] | None) -> None:
    if not variables:
        return
    if len(variables) > MAX_STAGE_VARIABLES:
        raise BadRequestException(f"At most {MAX_STAGE_VARIABLES} stage variables are allowed")
    for name, value in variables.items():
        if not _VARIABLE_NAME.fullmatch(name):
            raise BadRequestException(
                f"Stage variable name {name!r} must match [A-Za-z0-9_]{{1,64}}"
            )
        if len(value) > MAX_STAGE_VARIABLE_VALUE or not _VARIABLE_VALUE.fullmatch(value):
            raise BadRequestException(
                f"Stage variable value for {name!r} must be at most"
                f" {MAX_STAGE_VARIABLE_VALUE} characters of [A-Za-z0-9-._~:/?#&=,]"
            )
