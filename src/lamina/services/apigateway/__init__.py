"""API Gateway: HTTP APIs (``apigatewayv2``) and REST APIs (``apigateway``, the Lambda proxy
subset): their management, route matching and the Lambda proxy events and responses."""
