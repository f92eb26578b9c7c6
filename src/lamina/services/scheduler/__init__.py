"""EventBridge Scheduler (``scheduler``, rest-json): schedules and schedule groups, fired by
the shared schedule runner, delivered to Lambda functions and SQS queues."""
