"""Access keys the server knows: the account root's, and the book that composes every kind
of key (root, IAM users', STS sessions', execution environments')."""
