"""Query-protocol names a JSON-era service model lost, laid back over it.

A service that moved from the query protocol to JSON (SQS) kept its shapes but dropped the
traits only the query protocol reads: ``locationName`` of members, list elements and map
entries, ``flattened``, and each operation's ``resultWrapper``. Older SDKs still send and
read those names (``Attribute.1.Name``, ``SendMessageBatchRequestEntry.1.Id``,
``<ReceiveMessageResult><Message>``...). ``QueryNames`` is the small table of them;
``apply`` returns a copy of the model with the table's traits set, which ``QueryCodec``
then reads as it reads any query-protocol model.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueryNames:
    """``shape_names``: shape -> its own ``locationName`` (used where a reference names none).
    ``members``: structure shape -> member -> query name (its ``locationName``).
    ``flattened``: structure shape -> member -> whether that list or map is flattened.
    ``list_members``: list shape -> the name of its elements.
    ``map_entries``: map shape -> (key name, value name).
    ``result_wrappers``: every operation with an output wraps it in ``<Operation>Result``.
    """

    shape_names: Mapping[str, str] = field(default_factory=dict)
    members: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    flattened: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    list_members: Mapping[str, str] = field(default_factory=dict)
    map_entries: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    result_wrappers: bool = True

    def apply(self, model: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``model`` carrying these names (``model`` itself is left unchanged)."""
        patched: dict[str, Any] = dict(model)
        shapes: dict[str, Any] = dict(model["shapes"])
        patched["shapes"] = shapes

        def own(name: str) -> dict[str, Any]:
            if name not in model["shapes"]:
                raise KeyError(f"query names refer to an unknown shape {name}")
            if shapes[name] is model["shapes"][name]:
                shapes[name] = copy.deepcopy(model["shapes"][name])
            shape: dict[str, Any] = shapes[name]
            return shape

        for shape_name, location_name in self.shape_names.items():
            own(shape_name)["locationName"] = location_name
        for shape_name, names in self.members.items():
            members = own(shape_name)["members"]
            for member, query_name in names.items():
                members[member]["locationName"] = query_name
        for shape_name, flags in self.flattened.items():
            members = own(shape_name)["members"]
            for member, flattened in flags.items():
                members[member]["flattened"] = flattened
        for shape_name, element in self.list_members.items():
            own(shape_name)["member"]["locationName"] = element
        for shape_name, (key_name, value_name) in self.map_entries.items():
            shape = own(shape_name)
            shape["key"]["locationName"] = key_name
            shape["value"]["locationName"] = value_name
        if self.result_wrappers:
            operations = {name: dict(spec) for name, spec in model["operations"].items()}
            for name, spec in operations.items():
                if spec.get("output"):
                    spec["output"] = {**spec["output"], "resultWrapper": f"{name}Result"}
            patched["operations"] = operations
        return patched
