"""``ServiceModel.match`` remembers the operation a path matched first: the answers must be
those of trying every operation in order, whatever the order of requests and queries."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from lamina.api import model as model_module
from lamina.api.apigateway_model import LocatedServiceModel
from lamina.api.model import Operation, ServiceModel, load_model

# The rest-json services, as the edge builds their models.
SERVICES = {
    "lambda": ServiceModel,
    "scheduler": ServiceModel,
    "apigateway": LocatedServiceModel,
    "apigatewayv2": LocatedServiceModel,
}


def reference(
    model: ServiceModel, method: str, path: str, query: dict[str, list[str]]
) -> tuple[Operation, dict[str, str]] | None:
    """The answer without any memory: the first operation (in the model's order) whose
    pattern and fixed query both match."""
    for op in model.operations:
        if op.method != method:
            continue
        found = op.path_regex.match(path)
        if found and all(query.get(k, [None])[0] == v for k, v in op.fixed_query.items()):
            return op, found.groupdict()
    return None


def sample_paths(model: ServiceModel, rng: random.Random) -> list[str]:
    """A request path for each operation's pattern (labels filled in), plus variants."""
    paths = []
    for op in model.operations:
        pattern = op.path_regex.pattern.strip("^$").removesuffix("/?")
        for value in ("fn", "my-function", "2015", "a/b"):
            filled = re.sub(r"\(\?P<\w+>\.\+\)", value, pattern)
            filled = re.sub(r"\(\?P<\w+>\[\^/\]\+\)", value.replace("/", "-"), filled)
            paths.append(filled.replace("\\", ""))
    rng.shuffle(paths)
    return paths


def queries(model: ServiceModel) -> list[dict[str, list[str]]]:
    fixed: list[dict[str, list[str]]] = [{}]
    for op in model.operations:
        if op.fixed_query:
            fixed.append({k: [v] for k, v in op.fixed_query.items()})
    return fixed


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_remembered_matches_are_the_first_match_in_order(service: str) -> None:
    model = SERVICES[service](load_model(service))
    rng = random.Random(service)
    methods = sorted({op.method for op in model.operations})
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (method, path, query)
        for path in sample_paths(model, rng)
        for method in methods
        for query in queries(model)
    ]
    rng.shuffle(cases)
    matched = 0
    for method, path, query in cases + cases:  # each case both cold and remembered
        got = model.match(method, path, query)
        want = reference(model, method, path, query)
        if want is None:
            assert got is None, (method, path, query)
            continue
        matched += 1
        assert got is not None, (method, path, query)
        assert (got[0].name, got[1]) == (want[0].name, want[1]), (method, path, query)
    assert matched > len(model.operations)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "MATCH_CACHE_SIZE", 8)
    model = ServiceModel(load_model("lambda"))
    for index in range(100):
        path = f"/2015-03-31/functions/fn-{index}/invocations"
        found = model.match("POST", path, {})
        assert found is not None and found[0].name == "Invoke"
        assert found[1] == {"FunctionName": f"fn-{index}"}
    assert len(model._first_match) <= 8


def test_labels_returned_are_the_callers_own() -> None:
    model = ServiceModel(load_model("lambda"))
    first = model.match("POST", "/2015-03-31/functions/fn/invocations", {})
    assert first is not None
    first[1]["FunctionName"] = "changed"
    again = model.match("POST", "/2015-03-31/functions/fn/invocations", {})
    assert again is not None and again[1] == {"FunctionName": "fn"}
