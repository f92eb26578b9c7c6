"""Lambda's wire forms: operation inputs (botocore member names) to typed requests, typed
results to output shapes. Shape validation (member constraints, AWS's "N validation errors
detected" messages) happens here; business rules in the services."""
