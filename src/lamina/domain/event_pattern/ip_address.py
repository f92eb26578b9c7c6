"""IP addresses and CIDR blocks as the pattern language reads them.

- An address is text of the form ``d.d.d.d`` (decimal octets) or hex digits and colons with
  at least one colon (IPv6; an IPv4-mapped IPv6 address counts as its IPv4 address). Other
  text is a "Nonstandard IP address"; text of that shape that is no address is an
  "Invalid IP address".
- ``cidr`` ranges run from the written address (not the network address) to that address
  with every host bit set, as AWS computes them; ``/32`` (IPv4) and ``/128`` (IPv6) are
  rejected.
- A pattern's exact string that is an IP address matches the same address written
  differently (``2001:db8::1`` and ``2001:0db8:0:0:0:0:0:1``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

_IPV4_SHAPE: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_SHAPE: Final = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


class AddressError(ValueError):
    """A CIDR or address AWS rejects; ``str()`` is AWS's reason."""


@dataclass(frozen=True)
class Address:
    """An address as (width in bytes, integer value)."""

    width: int  # 4 or 16
    value: int


def looks_like_ip(text: str) -> bool:
    return bool(_IPV4_SHAPE.fullmatch(text) or _IPV6_SHAPE.fullmatch(text))


def parse_address(text: str) -> Address:
    """The address written in ``text``; AddressError with AWS's reason otherwise."""
    if _IPV4_SHAPE.fullmatch(text):
        octets = [int(part) for part in text.split(".")]
        if any(octet > 255 for octet in octets):
            raise AddressError(f"Invalid IP address: {text}")
        return Address(4, int.from_bytes(bytes(octets), "big"))
    if _IPV6_SHAPE.fullmatch(text):
        try:
            v6 = ipaddress.IPv6Address(text)
        except ValueError as exc:
            raise AddressError(f"Invalid IP address: {text}") from exc
        if v6.ipv4_mapped is not None:
            return Address(4, int(v6.ipv4_mapped))
        return Address(16, int(v6))
    raise AddressError(f"Nonstandard IP address: {text}")


def address_if_possible(text: str) -> Address | None:
    """The address in ``text`` if it is one, else None (no error)."""
    if not looks_like_ip(text):
        return None
    try:
        return parse_address(text)
    except AddressError:
        return None


@dataclass(frozen=True)
class AddressRange:
    """Addresses of one width from ``low`` to ``high`` inclusive."""

    width: int
    low: int
    high: int

    def contains(self, address: Address) -> bool:
        return address.width == self.width and self.low <= address.value <= self.high


def parse_cidr(text: str) -> AddressRange:
    """The range of a ``cidr`` operand; AddressError with AWS's reason if malformed."""
    parts = text.split("/")
    while len(parts) > 1 and parts[-1] == "":  # a trailing "/" counts as no mask at all
        parts.pop()
    if len(parts) != 2:
        raise AddressError("Malformed CIDR, one '/' required")
    mask_text = parts[1]
    if not re.fullmatch(r"[+-]?[0-9]{1,10}", mask_text) or not (-(2**31) <= int(mask_text) < 2**31):
        raise AddressError("Malformed CIDR, mask bits must be an integer")
    mask_bits = int(mask_text)
    if mask_bits < 0:
        raise AddressError("Malformed CIDR, mask bits must not be negative")
    address = parse_address(parts[0])
    if address.width == 4 and mask_bits > 31:
        raise AddressError("IPv4 mask bits must be < 32")
    if address.width == 16 and mask_bits > 127:
        raise AddressError("IPv6 mask bits must be < 128")
    host_bits = address.width * 8 - mask_bits
    return AddressRange(address.width, address.value, address.value | ((1 << host_bits) - 1))
