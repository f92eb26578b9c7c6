"""CloudWatch Logs retention: the values ``retentionInDays`` may take."""

from __future__ import annotations

# What PutRetentionPolicy accepts (and DescribeLogGroups shows); no policy: never expire.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)  # fmt: skip


def parse_retention_days(text: str) -> int | None:
    """A setting's retention: one of ``RETENTION_DAYS``, or empty/``0``/``never`` for none."""
    value = text.strip().lower()
    if value in ("", "0", "never"):
        return None
    days = int(value)
    if days not in RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in RETENTION_DAYS)
        raise ValueError(f"retention must be one of {allowed} days (or 0: never expire)")
    return days
