"""Schedule expressions (pure): EventBridge rules' ``rate()``/``cron()`` and EventBridge
Scheduler's ``at()``/``rate()``/``cron()`` in a time zone, with ``next_fire``."""

from lamina.domain.schedules.errors import (
    RULE_SCHEDULE_INVALID,
    InvalidRuleSchedule,
    InvalidSchedulerExpression,
    SchedulerValidationException,
)
from lamina.domain.schedules.expressions import (
    AtSchedule,
    CronSchedule,
    RateSchedule,
    Schedule,
    parse_rule_schedule,
    parse_scheduler_expression,
    scheduler_zone,
)

__all__ = [
    "RULE_SCHEDULE_INVALID",
    "AtSchedule",
    "CronSchedule",
    "InvalidRuleSchedule",
    "InvalidSchedulerExpression",
    "RateSchedule",
    "Schedule",
    "SchedulerValidationException",
    "parse_rule_schedule",
    "parse_scheduler_expression",
    "scheduler_zone",
]
