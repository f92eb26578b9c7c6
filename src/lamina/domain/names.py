"""Parsing user-supplied function names, ARNs and qualifiers the way Lambda does.

A ``FunctionName`` parameter may be a bare name (``my-fn``), ``name:qualifier``, a partial ARN
(``123456789012:function:my-fn[:qualifier]``) or a full ARN
(``arn:aws:lambda:us-east-1:123456789012:function:my-fn[:qualifier]``). Which characters and
lengths are allowed depends on the operation's input shape; the patterns below are the ones the
service itself prints in its errors (they add ``(eusc-)?`` to botocore's region pattern).

Also here: the ``N validation error(s) detected: ...`` message builders that ``validation``
shares, and the checks for the ``{Resource}`` of TagResource / UntagResource / ListTags.
Pure: no I/O.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from lamina.domain.arns import function_arn
from lamina.domain.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    ResourceNotFoundException,
    Spliced,
    ValidationException,
)

LATEST = "$LATEST"

# --- AWS's generic constraint messages ----------------------------------------------------


def render_value(value: object) -> str:
    """A value as the service's (Java) validator prints it: ``[a, b]``, ``{k=v}``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(f"{render_value(k)}={render_value(v)}" for k, v in value.items()) + "}"
        )
    return str(value)


def constraint_error(
    member: str, value: object, constraint: str, *, sensitive: bool = False
) -> str:
    """One entry of a validation message; sensitive members (env vars) omit the value. (Made
    in one piece: the value may be a request's long string, and each copy of 60 MB holds the
    GIL for tens of milliseconds.)"""
    tail = f" at '{member}' failed to satisfy constraint: {constraint}"
    if sensitive:
        return "Value" + tail
    if value is None:
        return "Value null" + tail
    return f"Value '{render_value(value)}'{tail}"


def validation_message(errors: Sequence[str]) -> str:
    n = len(errors)
    return f"{n} validation error{'' if n == 1 else 's'} detected: {'; '.join(errors)}"


def validation_exception(errors: Sequence[str]) -> ValidationException:
    return ValidationException(validation_message(errors))


# A string value this long is echoed by reference (``LongValues``), not copied.
LONG_VALUE_CHARS = 1 << 20


class LongValues:
    """The long string values a validator's entries echo. Each stands in its entries as a
    short placeholder (unique: a random token between NULs) until the message is made, whose
    parts then hold the value itself (``Spliced``): no copy of it is made on the event loop
    (a 60 MB value copied twice held it ~90 ms)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def shown(self, value: str) -> str:
        """What an entry shows of ``value``: itself, or a placeholder when it is long."""
        if len(value) < LONG_VALUE_CHARS:
            return value
        token = f"\0{secrets.token_hex(8)}\0"
        self._values[token] = value
        return token

    def message(self, errors: Sequence[str]) -> str | Spliced:
        """``validation_message(errors)``, with the placeholders' values spliced in."""
        text = validation_message(errors)
        if not self._values:
            return text
        parts: list[str] = []
        start = 0
        for found in re.finditer("|".join(map(re.escape, self._values)), text):
            parts += (text[start : found.start()], self._values[found.group()])
            start = found.end()
        parts.append(text[start:])
        return Spliced(tuple(parts))


@dataclass(frozen=True)
class StringShape:
    """Length and pattern constraints of a string member (patterns must match whole values)."""

    min_len: int | None = None
    max_len: int | None = None
    pattern: str | None = None
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.pattern is not None:  # compiled once: names are checked on every invoke
            object.__setattr__(self, "_regex", re.compile(self.pattern, re.ASCII))

    def failed(self, value: str) -> list[str]:
        """The failed constraints, in the order AWS lists them (max, min, pattern)."""
        out: list[str] = []
        if self.max_len is not None and len(value) > self.max_len:
            out.append(f"Member must have length less than or equal to {self.max_len}")
        if self.min_len is not None and len(value) < self.min_len:
            out.append(f"Member must have length greater than or equal to {self.min_len}")
        if self._regex is not None and not self._regex.fullmatch(value):
            out.append(f"Member must satisfy regular expression pattern: {self.pattern}")
        return out

    def errors(self, member: str, value: str, shown: str | None = None) -> list[str]:
        """An entry per failed constraint, echoing ``shown`` (``LongValues.shown``) if given."""
        echoed = value if shown is None else shown
        return [constraint_error(member, echoed, c) for c in self.failed(value)]


# --- shapes --------------------------------------------------------------------------------

_ARN_HEAD = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
)
FUNCTION_NAME = StringShape(
    1, 140, _ARN_HEAD + r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
NAMESPACED_FUNCTION_NAME = StringShape(
    1,
    256,
    _ARN_HEAD
    + r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
)
UNQUALIFIED_FUNCTION_NAME = StringShape(
    1, 140, _ARN_HEAD + r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)"
)
QUALIFIER = StringShape(1, 128, r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+")
FUNCTION_URL_QUALIFIER = StringShape(1, 128, r"((?!^\d+$)^[0-9a-zA-Z-_]+$)")
PROVISIONED_QUALIFIER = StringShape(1, 128, r"(|[a-zA-Z0-9$_-]+)")
PUBLISHED_QUALIFIER = StringShape(1, 128, r"(\$LATEST\.PUBLISHED|[0-9]+)")
ALIAS_PATTERN = r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)"
TAGGABLE_RESOURCE = StringShape(
    1,
    256,
    r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
    r"(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)"
    r"|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)",
)


def _ops(
    names: str, shapes: tuple[StringShape, StringShape | None]
) -> dict[str, tuple[StringShape, StringShape | None]]:
    return dict.fromkeys(names.split(), shapes)


# botocore operation name -> (FunctionName shape, Qualifier shape or None).
OPERATION_SHAPES: dict[str, tuple[StringShape, StringShape | None]] = {
    **_ops(
        "AddPermission DeleteFunction DeleteFunctionEventInvokeConfig GetFunction"
        " GetFunctionConfiguration GetFunctionEventInvokeConfig GetPolicy"
        " GetRuntimeManagementConfig Invoke InvokeWithResponseStream"
        " ListDurableExecutionsByFunction PutFunctionEventInvokeConfig PutRuntimeManagementConfig"
        " RemovePermission UpdateFunctionEventInvokeConfig",
        (NAMESPACED_FUNCTION_NAME, QUALIFIER),
    ),
    **_ops(
        "CreateAlias CreateFunction DeleteAlias DeleteFunctionConcurrency GetAlias"
        " GetFunctionConcurrency ListAliases ListFunctionUrlConfigs"
        " ListProvisionedConcurrencyConfigs PublishVersion PutFunctionConcurrency UpdateAlias"
        " UpdateFunctionCode UpdateFunctionConfiguration",
        (FUNCTION_NAME, None),
    ),
    **_ops(
        "CreateEventSourceMapping DeleteFunctionCodeSigningConfig GetFunctionCodeSigningConfig"
        " InvokeAsync ListEventSourceMappings ListFunctionEventInvokeConfigs"
        " ListVersionsByFunction PutFunctionCodeSigningConfig UpdateEventSourceMapping",
        (NAMESPACED_FUNCTION_NAME, None),
    ),
    **_ops(
        "CreateFunctionUrlConfig DeleteFunctionUrlConfig GetFunctionUrlConfig"
        " UpdateFunctionUrlConfig",
        (FUNCTION_NAME, FUNCTION_URL_QUALIFIER),
    ),
    **_ops(
        "DeleteProvisionedConcurrencyConfig GetProvisionedConcurrencyConfig"
        " PutProvisionedConcurrencyConfig",
        (FUNCTION_NAME, PROVISIONED_QUALIFIER),
    ),
    **_ops(
        "GetFunctionRecursionConfig PutFunctionRecursionConfig", (UNQUALIFIED_FUNCTION_NAME, None)
    ),
    **_ops(
        "GetFunctionScalingConfig PutFunctionScalingConfig",
        (UNQUALIFIED_FUNCTION_NAME, PUBLISHED_QUALIFIER),
    ),
}

# Only ever applied to values that already passed the operation's shape pattern.
_PARSE = re.compile(
    r"(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9-_.]+)"
    r"(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
    re.ASCII,
)

MAX_CREATE_NAME_LENGTH = 64

QUALIFIER_MISMATCH = (
    "The derived qualifier from the function name does not match the specified qualifier."
)
UNQUALIFIED_ONLY = (
    "This operation is permitted on Lambda functions only. Aliases and versions do not support"
    " this operation. Please specify either a function name or an unqualified function ARN."
)
_UNQUALIFIED_ONLY_OPS = frozenset(
    {"PutFunctionConcurrency", "GetFunctionConcurrency", "DeleteFunctionConcurrency"}
)


def function_locator(value: str) -> tuple[str, str | None, str | None, str | None]:
    """``(name, qualifier, region, account)`` of a FunctionName that passed its shape check."""
    match = _PARSE.fullmatch(value)
    if match is None:
        raise ValueError(f"not a function name or ARN: {value!r}")
    return match["name"], match["qualifier"], match["region"], match["account"]


@dataclass(frozen=True)
class FunctionRef:
    name: str
    qualifier: str | None  # from the name or the Qualifier param, None if neither


def function_name_errors(value: str, operation: str, qualifier: str | None = None) -> list[str]:
    """Shape errors for ``FunctionName`` (and ``Qualifier``), qualifier first as AWS lists them."""
    try:
        name_shape, qualifier_shape = OPERATION_SHAPES[operation]
    except KeyError:
        raise ValueError(f"no FunctionName shape known for operation {operation!r}") from None
    errors: list[str] = []
    if qualifier is not None:
        if qualifier_shape is None:
            raise ValueError(f"{operation} has no Qualifier parameter")
        errors += qualifier_shape.errors("qualifier", qualifier)
    errors += name_shape.errors("functionName", value)
    return errors


def create_name_length_error(value: str, name: str) -> InvalidParameterValueException | None:
    """CreateFunction: names over 64 characters fail as InvalidParameterValueException (with the
    validation-message wording), after the 140-character shape check passed."""
    if len(name) <= MAX_CREATE_NAME_LENGTH:
        return None
    constraint = f"Member must have length less than or equal to {MAX_CREATE_NAME_LENGTH}"
    return InvalidParameterValueException(
        validation_message([constraint_error("functionName", value, constraint)])
    )


def _check_location(
    region: str | None, account: str | None, here_region: str, here_account: str
) -> None:
    if account and account != here_account:
        raise AccessDeniedException()
    if region and region != here_region:
        raise ResourceNotFoundException(
            f"Functions from '{region}' are not reachable in this region ('{here_region}')"
        )


@lru_cache(maxsize=4096)
def parse_function_name(
    value: str, *, operation: str, qualifier: str | None, region: str, account: str
) -> FunctionRef:
    """Validate and resolve a ``FunctionName`` (+ optional ``Qualifier``) for ``operation``
    (remembered: a pure function of its arguments, asked on every request; errors are not).

    Order: shape validation (ValidationException listing every failure) -> account in the ARN
    (AccessDeniedException) -> region in the ARN (ResourceNotFoundException) -> name/param
    qualifier mismatch -> per-operation rules (CreateFunction 64-char names, DeleteFunction
    qualifiers, concurrency operations refusing qualifiers).
    """
    if qualifier == "":
        qualifier = None
    errors = function_name_errors(value, operation, qualifier)
    if errors:
        raise validation_exception(errors)
    name, derived, arn_region, arn_account = function_locator(value)
    _check_location(arn_region, arn_account, region, account)
    if qualifier is not None and derived is not None and qualifier != derived:
        raise InvalidParameterValueException(QUALIFIER_MISMATCH)
    resolved = qualifier if qualifier is not None else derived

    if operation == "CreateFunction":
        too_long = create_name_length_error(value, name)
        if too_long is not None:
            raise too_long
    elif operation == "DeleteFunction" and resolved is not None:
        if resolved == LATEST:
            raise InvalidParameterValueException(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if re.fullmatch(ALIAS_PATTERN, resolved, re.ASCII):
            raise InvalidParameterValueException("Deletion of aliases is not currently supported.")
    elif operation in _UNQUALIFIED_ONLY_OPS and resolved is not None:
        raise InvalidParameterValueException(UNQUALIFIED_ONLY)
    return FunctionRef(name=name, qualifier=resolved)


def function_not_found(
    region: str, account: str, name: str, qualifier: str | None = None
) -> ResourceNotFoundException:
    """``Function not found: <arn>``. AWS's choice of ARN varies per operation: GetFunction names
    the qualifier given, Invoke appends ``:$LATEST`` when none was given, DeleteFunction always
    names the unqualified ARN."""
    return ResourceNotFoundException(
        f"Function not found: {function_arn(region, account, name, qualifier)}"
    )


# --- TagResource / UntagResource / ListTags ------------------------------------------------

MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256


@dataclass(frozen=True)
class TaggableResource:
    """A validated ``{Resource}`` ARN: ``kind`` is ``function``, ``event-source-mapping``,
    ``code-signing-config``, ``capacity-provider`` or ``layer``; ``name`` is the function name
    (or the ESM UUID, CSC id, ...)."""

    kind: str
    name: str
    arn: str


def parse_taggable_resource(arn: str, region: str, account: str) -> TaggableResource:
    """Validate a TagResource/UntagResource/ListTags ``{Resource}`` of any taggable kind."""
    errors = TAGGABLE_RESOURCE.errors("resource", arn)
    if errors:
        raise validation_exception(errors)
    _, _, _, arn_region, arn_account, rest = arn.split(":", 5)
    # Unverified for tags: region/account mismatches are treated like FunctionName's.
    _check_location(arn_region, arn_account, region, account)
    kind, _, remainder = rest.partition(":")
    if kind == "function":
        name, _, qualifier = remainder.partition(":")
        if qualifier:
            raise InvalidParameterValueException(
                "Tags on function aliases and versions are not supported."
                " Please specify a function ARN."
            )
        return TaggableResource(kind=kind, name=name, arn=function_arn(region, account, name))
    return TaggableResource(kind=kind, name=remainder, arn=arn)


def parse_resource_arn_for_tags(arn: str, region: str, account: str) -> str:
    """The function name of a tag ``{Resource}``. Other taggable kinds (event source mappings,
    code signing configs, capacity providers) pass validation and then answer AWS's 404 for
    them, as Lamina does not tag those (yet): use ``parse_taggable_resource`` when it does."""
    resource = parse_taggable_resource(arn, region, account)
    if resource.kind != "function":
        raise tagged_resource_not_found(resource)
    return resource.name


def tagged_resource_not_found(resource: TaggableResource) -> ResourceNotFoundException:
    """The 404 for a well-formed tag ARN naming nothing (function/ESM/capacity-provider wording
    recorded; the code-signing-config and layer wording is borrowed/unverified)."""
    messages = {
        "function": f"Function not found: {resource.arn}",
        "event-source-mapping": f"Event source mapping not found: {resource.arn}",
        "capacity-provider": f"Capacity provider not found: {resource.arn}",
        "code-signing-config": (
            f"The Lambda code signing configuration {resource.arn} can not be found."
        ),
    }
    return ResourceNotFoundException(
        messages.get(resource.kind, "The resource you requested does not exist.")
    )


def validate_tags(
    tags: Mapping[str, str],
    *,
    existing: Mapping[str, str] | None = None,
    require_nonempty: bool = False,
) -> None:
    """Tag limits. ``existing``: tags already on the resource (TagResource merges, and the
    50-tag limit counts the merged set). ``require_nonempty``: TagResource with ``{}``."""
    if require_nonempty and not tags:
        raise InvalidParameterValueException(
            "An error occurred and the request cannot be processed."
        )
    merged = {**(existing or {}), **tags}
    if len(merged) > MAX_TAGS:
        raise InvalidParameterValueException("Number of tags exceeds resource tag limit.")
    # The following three messages are unverified (no recording): AWS's documented limits.
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH:
            raise InvalidParameterValueException(
                f"Tag key must be between 1 and {MAX_TAG_KEY_LENGTH} characters long: {key}"
            )
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise InvalidParameterValueException(
                f"Tag value must be at most {MAX_TAG_VALUE_LENGTH} characters long: {value}"
            )
        if key.lower().startswith("aws:"):
            raise InvalidParameterValueException(
                f"Tag keys starting with 'aws:' are reserved for system use: {key}"
            )


def validate_untag_keys(keys: Sequence[str] | None) -> None:
    """UntagResource with no ``tagKeys`` (an empty list is not serialised at all)."""
    if not keys:
        raise validation_exception([constraint_error("tagKeys", None, "Member must not be null")])
