"""When a failed delivery is tried again (AWS's delivery policies).

- AWS-managed endpoints (``sqs``, ``lambda``): 3 immediate retries, 2 after 1 s, 10 with
  exponential backoff from 1 s to 20 s, then 100,000 every 20 s: 100,015 attempts in all
  (about 23 days). An endpoint that does not exist is not retried (a client error).
- HTTP/S: the subscription's ``DeliveryPolicy`` (``healthyRetryPolicy``), else the topic's
  effective policy (``http.defaultHealthyRetryPolicy``, AWS's default: 3 retries 20 s
  apart): ``numNoDelayRetries`` at once, ``numMinDelayRetries`` after ``minDelayTarget``,
  the backoff phase from ``minDelayTarget`` to ``maxDelayTarget`` (``backoffFunction``),
  ``numMaxDelayRetries`` after ``maxDelayTarget``; ``numRetries`` (at most 100) in all,
  every delay within 1..3,600 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.services.sns.subscription_attributes import effective_subscription_policy

MANAGED_ATTEMPTS = 100_015
MAX_HTTP_RETRIES = 100
MAX_DELAY_SECONDS = 3600.0


def managed_delay(retry: int) -> float | None:
    """Seconds before retry number ``retry`` (1-based) to SQS or Lambda; None: no more."""
    if retry <= 3:
        return 0.0
    if retry <= 5:
        return 1.0
    if retry <= 15:
        step = retry - 6  # 0..9
        return float(min(20.0, 1.0 * 20.0 ** (step / 9)))
    if retry < MANAGED_ATTEMPTS:
        return 20.0
    return None


@dataclass(frozen=True, slots=True)
class HttpRetryPolicy:
    min_delay: float = 20.0
    max_delay: float = 20.0
    retries: int = 3
    no_delay: int = 0
    min_delay_retries: int = 0
    max_delay_retries: int = 0
    backoff: str = "linear"

    @classmethod
    def from_json(cls, section: dict[str, Any]) -> HttpRetryPolicy:
        def number(key: str, default: float) -> float:
            value = section.get(key, default)
            return float(value) if isinstance(value, (int, float)) else default

        min_delay = min(max(number("minDelayTarget", 20), 1.0), MAX_DELAY_SECONDS)
        max_delay = min(max(number("maxDelayTarget", 20), min_delay), MAX_DELAY_SECONDS)
        return cls(
            min_delay,
            max_delay,
            int(min(max(number("numRetries", 3), 0), MAX_HTTP_RETRIES)),
            int(max(number("numNoDelayRetries", 0), 0)),
            int(max(number("numMinDelayRetries", 0), 0)),
            int(max(number("numMaxDelayRetries", 0), 0)),
            str(section.get("backoffFunction", "linear")),
        )

    def delay(self, retry: int) -> float | None:
        """Seconds before retry number ``retry`` (1-based); None once they are used up."""
        if retry > self.retries:
            return None
        if retry <= self.no_delay:
            return 0.0
        if retry <= self.no_delay + self.min_delay_retries:
            return self.min_delay
        backoff_count = max(
            self.retries - self.no_delay - self.min_delay_retries - self.max_delay_retries, 0
        )
        step = retry - self.no_delay - self.min_delay_retries
        if step > backoff_count:
            return self.max_delay
        if backoff_count <= 1:
            return self.min_delay
        fraction = (step - 1) / (backoff_count - 1)
        if self.backoff in ("exponential", "geometric") and self.min_delay > 0:
            return float(self.min_delay * (self.max_delay / self.min_delay) ** fraction)
        return self.min_delay + (self.max_delay - self.min_delay) * fraction


def http_policy(subscription_policy: str | None, topic_policy: str | None) -> HttpRetryPolicy:
    """The policy an HTTP/S subscription's retries follow: its ``healthyRetryPolicy`` over
    the topic's ``defaultHealthyRetryPolicy``."""
    effective = effective_subscription_policy(subscription_policy, topic_policy)
    return HttpRetryPolicy.from_json(effective["healthyRetryPolicy"])
