"""Reserved concurrency requests and the account's concurrency figures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PutFunctionConcurrency:
    function: str
    reserved: int


@dataclass(frozen=True)
class AccountConcurrency:
    """GetAccountSettings' concurrency figures: the account limit and what reservations
    leave to unreserved functions."""

    limit: int
    unreserved: int
