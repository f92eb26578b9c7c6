"""EventBridge ARNs: buses (``event-bus/<name>``) and rules (``rule/<name>`` on the default
bus, ``rule/<bus>/<name>`` elsewhere), and how a bus is named in requests (a name or an ARN)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BUS = "default"


@dataclass(frozen=True, slots=True)
class BusKey:
    """Which bus: region and account it lives in, and its name."""

    region: str
    account: str
    name: str

    @property
    def arn(self) -> str:
        return bus_arn(self.region, self.account, self.name)


def bus_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def rule_arn(region: str, account: str, bus: str, name: str) -> str:
    if bus == DEFAULT_BUS:
        return f"arn:aws:events:{region}:{account}:rule/{name}"
    return f"arn:aws:events:{region}:{account}:rule/{bus}/{name}"


def parse_bus_arn(arn: str) -> BusKey | None:
    """The bus an ``arn:aws:events:<region>:<account>:event-bus/<name>`` names, else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "events":
        return None
    kind, slash, name = parts[5].partition("/")
    if kind != "event-bus" or not slash or not name or not parts[3] or not parts[4]:
        return None
    return BusKey(parts[3], parts[4], name)


def parse_rule_arn(arn: str) -> tuple[BusKey, str] | None:
    """(bus, rule name) of a rule ARN, else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "events":
        return None
    kind, slash, rest = parts[5].partition("/")
    if kind != "rule" or not slash or not rest:
        return None
    bus, sep, name = rest.rpartition("/")
    return BusKey(parts[3], parts[4], bus if sep else DEFAULT_BUS), name


def resolve_bus(region: str, account: str, name_or_arn: str | None) -> BusKey:
    """The bus a request's ``EventBusName`` names (absent: ``default``; an ARN: its own
    region, account and name)."""
    if not name_or_arn:
        return BusKey(region, account, DEFAULT_BUS)
    if name_or_arn.startswith("arn:"):
        key = parse_bus_arn(name_or_arn)
        if key is not None:
            return key
    return BusKey(region, account, name_or_arn)


def target_service(arn: str) -> str:
    """The service an ARN names (``lambda``, ``sqs``, ``sns``, ``events``...), or ``""``."""
    parts = arn.split(":", 3)
    return parts[2] if len(parts) >= 3 and parts[0] == "arn" else ""
