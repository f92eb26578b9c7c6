"""Numbers as the pattern language compares them: fixed point, bounded, exact.

AWS compares numbers "between -5.0e9 and +5.0e9 inclusive, with 15 digits of precision, or
six digits to the right of the decimal point": a number becomes an integer count of
millionths (digits past the sixth decimal are dropped), so ``300``, ``300.0`` and ``3e2``
are equal and no binary floating-point error creeps into a comparison. A number outside
the range cannot be compared: as a pattern bound it is an error, as an event value it
matches no numeric condition. SNS filter policies use a narrower range and five decimals
(``NumberScale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Final


@dataclass(frozen=True)
class NumberScale:
    """The range and precision numbers are compared with."""

    limit: int  # |value| <= limit
    decimals: int
    limit_text: str  # how AWS prints the limit in its error message

    @property
    def unit(self) -> int:
        unit: int = 10**self.decimals
        return unit

    def out_of_range_message(self) -> str:
        return f"Value must be between -{self.limit_text} and {self.limit_text}, inclusive"

    def from_text(self, text: str) -> int:
        """The comparable form of a JSON number's text; ValueError (AWS's message) if the
        number is out of range."""
        try:
            value = Decimal(text)
        except InvalidOperation as exc:  # the reader only passes JSON numbers
            raise ValueError(f"Invalid number: {text}") from exc
        return self._from_decimal(value)

    def _from_decimal(self, value: Decimal) -> int:
        if not value.is_finite() or abs(value) > self.limit:
            raise ValueError(self.out_of_range_message())
        return int(value.scaleb(self.decimals).to_integral_value(rounding=ROUND_DOWN))

    def from_event(self, value: int | float) -> int | None:
        """The comparable form of an event's number, or None if it cannot be compared."""
        if isinstance(value, int):
            return value * self.unit if -self.limit <= value <= self.limit else None
        if value != value or not -self.limit <= value <= self.limit:  # NaN or out of range
            return None
        return self._from_decimal(Decimal(repr(value)))


EVENTBRIDGE_NUMBERS: Final = NumberScale(limit=5_000_000_000, decimals=6, limit_text="5.0E9")
SNS_NUMBERS: Final = NumberScale(limit=1_000_000_000, decimals=5, limit_text="1.0E9")
