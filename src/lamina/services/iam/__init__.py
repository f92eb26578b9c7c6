"""AWS IAM on Lamina's port: roles, users and their access keys, managed and inline policies
(docs/iam.md)."""
