"""Running schedules: the (advanceable) ``Clock`` and the ``ScheduleRunner``."""

from lamina.services.schedules.clock import Clock
from lamina.services.schedules.runner import Fire, ScheduleRunner, TooManyJobs

__all__ = ["Clock", "Fire", "ScheduleRunner", "TooManyJobs"]
