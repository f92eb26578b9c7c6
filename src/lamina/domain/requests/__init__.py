"""Typed requests and results of the services: what an operation asks and answers, without
its wire form (the api layer converts)."""
