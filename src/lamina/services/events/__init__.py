"""The EventBridge-compatible event router: buses, rules, targets, PutEvents and the durable
delivery of matched events to Lambda functions, SQS queues, SNS topics and other buses."""
