"""The SNS-compatible topic service: topics, subscriptions, Publish and durable deliveries."""
