"""Event source mappings: the polling invocation model (SQS queues -> a function).

``mappings`` is the CRUD service and lifecycle, ``sqs_poller`` the pollers, ``sqs_records`` the
event a function receives, ``filters`` FilterCriteria, ``batch_result`` the
ReportBatchItemFailures rules, ``scaling`` how many pollers run, ``invoker`` the port to the
invoke path (and its adapter over ``InvokeService``).
"""
