"""The SQS-compatible queue service: queues (``queues``), messages, and the facade
(``service.SqsService``) the server starts and stops."""
