"""Provisioned concurrency requests and results.

A target is a function and the qualifier the request named (None when it named none: the
service refuses it, as it refuses ``$LATEST``)."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.domain.provisioned import AllocationStatus, ProvisionedConfig


@dataclass(frozen=True)
class ProvisionedTarget:
    function: str
    qualifier: str | None


@dataclass(frozen=True)
class PutProvisionedConcurrency:
    target: ProvisionedTarget
    requested: int


@dataclass(frozen=True)
class ListProvisionedConcurrency:
    function: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True)
class ProvisionedView:
    """A configuration and how far its environments are."""

    config: ProvisionedConfig
    status: AllocationStatus


@dataclass(frozen=True)
class ProvisionedPage:
    configs: tuple[ProvisionedView, ...]
    next_marker: str | None = None
