"""THE policy evaluator: identity-based and resource-based IAM policies, as AWS evaluates
them (docs/iam-policies.md). Pure: no I/O.

- ``evaluate(AccessRequest, identity_policies, resource_policy) -> Decision``;
- ``validate_policy_document(text, kind)`` checks a document as IAM does before storing it,
  raising ``PolicyGrammarError`` with IAM's message;
- ``simulate(...)`` answers IAM's SimulatePrincipalPolicy / SimulateCustomPolicy results.
"""

from lamina.domain.iam_policy.evaluate import (
    AccessRequest,
    Decision,
    evaluate,
    resource_policy_decision,
)
from lamina.domain.iam_policy.grammar import PolicyGrammarError, validate_policy_document
from lamina.domain.iam_policy.simulate import SourcePolicy, simulate

__all__ = [
    "AccessRequest",
    "Decision",
    "PolicyGrammarError",
    "SourcePolicy",
    "evaluate",
    "resource_policy_decision",
    "simulate",
    "validate_policy_document",
]
