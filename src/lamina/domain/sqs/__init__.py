"""The SQS-compatible queue service's domain: queues, their attributes, names and errors."""
