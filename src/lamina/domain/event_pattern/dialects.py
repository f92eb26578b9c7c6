"""Where the three users of the pattern language differ.

- ``eventbridge``: EventBridge rules and TestEventPattern (the reference).
- ``lambda``: Lambda event source mapping FilterCriteria: the same engine and language;
  only the error AWS returns differs (see ``InvalidEventPattern``).
- ``sns``: SNS filter policies (an older engine): numbers compare within +/-1e9 to five
  decimals; no ``wildcard``; ``anything-but`` takes only ``prefix`` (one string) as an
  object; at most five keys (leaf paths) per branch and at most 150 combinations of values
  (the product of the value-list sizes, summed over ``$or`` branches). The attribute-scope
  view of a message (``MessageAttributes`` as a flat object) is the SNS service's adapter,
  not this package's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lamina.domain.event_pattern.numbers import (
    EVENTBRIDGE_NUMBERS,
    SNS_NUMBERS,
    NumberScale,
)

# Bound on the branches a pattern's ``$or``s expand into (each $or multiplies them). AWS
# documents no figure for EventBridge; patterns are at most 4,096 characters there, and
# Lamina refuses more branches than this rather than grow without bound.
MAX_BRANCHES: Final = 1024
TOO_MANY_BRANCHES: Final = f"Rule is too complex - more than {MAX_BRANCHES} $or combinations"


_ALL_ANYTHING_BUT_FORMS: Final = ("equals-ignore-case", "prefix", "suffix", "wildcard")


@dataclass(frozen=True)
class Dialect:
    name: str
    numbers: NumberScale
    wildcard: bool
    anything_but_forms: tuple[str, ...] = _ALL_ANYTHING_BUT_FORMS
    single_anything_but_prefix: bool = False  # anything-but prefix takes one string only
    max_keys: int | None = None
    max_combinations: int | None = None


DIALECTS: Final = {
    "eventbridge": Dialect("eventbridge", EVENTBRIDGE_NUMBERS, wildcard=True),
    "lambda": Dialect("lambda", EVENTBRIDGE_NUMBERS, wildcard=True),
    "sns": Dialect(
        "sns",
        SNS_NUMBERS,
        wildcard=False,
        anything_but_forms=("prefix",),
        single_anything_but_prefix=True,
        max_keys=5,
        max_combinations=150,
    ),
}
