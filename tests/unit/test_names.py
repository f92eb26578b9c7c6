"""FunctionName / Qualifier / tag-ARN parsing against the responses recorded from AWS."""

from __future__ import annotations

import uuid

import pytest
from aws_recorded import ACCOUNT, REGION, assert_matches, recorded

from lamina.domain.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    LambdaError,
    ValidationException,
)
from lamina.domain.names import (
    FunctionRef,
    TaggableResource,
    function_not_found,
    parse_function_name,
    parse_resource_arn_for_tags,
    parse_taggable_resource,
    tagged_resource_not_found,
    validate_tags,
    validate_untag_keys,
)

ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
BAD_REGION_ARN = f"arn:aws:lambda:invalid-region:{ACCOUNT}:function:"


def a(n: int) -> str:
    return "a" * n


def parse(value: str, operation: str, qualifier: str | None = None) -> FunctionRef:
    return parse_function_name(
        value, operation=operation, qualifier=qualifier, region=REGION, account=ACCOUNT
    )


def error_of(value: str, operation: str, qualifier: str | None = None) -> LambdaError:
    with pytest.raises(LambdaError) as info:
        parse(value, operation, qualifier)
    return info.value


# --- TestLambdaFunction::test_function_name_and_qualifier_validation ------------------------

# case -> (FunctionName, Qualifier); CreateFunction gets "name:qualifier" in FunctionName.
NAME_CASES: dict[str, tuple[str, str | None]] = {
    "function_name_is_single_invalid": ("*", None),
    "invalid_characters_in_function_name": ("my-function!", None),
    "invalid_characters_in_qualifier": ("my-function", "invalid!"),
    "qualifier_too_long0": ("my-function", a(129)),
    "qualifier_too_long": ("my-function", a(129)),
    "qualifier_too_long1": ("my-function", a(65)),
    "function_name_and_qualifier_too_long": ("my-function", a(65)),
    "invalid_account_id_in_partial_arn": ("invalid-account:function:my-function", None),
    "invalid_region_in_arn": (BAD_REGION_ARN + "my-function", None),
    "non_lambda_arn": (f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance:i-1234567890abcdef0", None),
    "function_name_too_long": (a(65), None),
    "function_name_too_long_and_invalid_region": (BAD_REGION_ARN + "my-function" + a(170), None),
    "full_arn_and_qualifier_too_long_and_invalid_region": (
        BAD_REGION_ARN + "my-function-" + a(170),
        a(129),
    ),
    "full_arn_with_multiple_qualifiers": (ARN + "my-function:1:2", None),
    "incomplete_arn": (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function", None),
    "partial_arn_with_extra_qualifier": ("function:my-function:$LATEST:extra", None),
    "latest_version_with_additional_qualifier": (ARN + "my-function:$LATEST", "1"),
    "lowercase_latest_qualifier": (ARN + "my-function", "$latest"),
    "missing_region_in_arn": (f"arn:aws:lambda::{ACCOUNT}:function:my-function", None),
    "missing_account_id_in_arn": (f"arn:aws:lambda:{REGION}::function:my-function", None),
    "misspelled_latest_in_arn": (ARN + "my-function:$LATES", None),
}
CLIENT_OPS = {
    "get_function": "GetFunction",
    "delete_function": "DeleteFunction",
    "invoke": "Invoke",
    "create_function": "CreateFunction",
}


def not_found_for(operation: str, ref: FunctionRef) -> LambdaError:
    """The 404 the service answers after a failed lookup (its ARN choice differs per op)."""
    if operation == "DeleteFunction":
        return function_not_found(REGION, ACCOUNT, ref.name)
    if operation == "Invoke":
        return function_not_found(REGION, ACCOUNT, ref.name, ref.qualifier or "$LATEST")
    return function_not_found(REGION, ACCOUNT, ref.name, ref.qualifier)


@pytest.mark.parametrize("client_fn", list(CLIENT_OPS))
@pytest.mark.parametrize("case", list(NAME_CASES))
def test_function_name_and_qualifier_validation(case: str, client_fn: str) -> None:
    content = recorded(f"test_function_name_and_qualifier_validation[{case}-{client_fn}]")
    operation = CLIENT_OPS[client_fn]
    name, qualifier = NAME_CASES[case]
    if operation == "CreateFunction":
        name, qualifier = (f"{name}:{qualifier}" if qualifier else name), None
    if not content:  # AWS raised nothing: the name is accepted
        parse(name, operation, qualifier)
        return
    expected = content[f"{client_fn}_exception"]
    try:
        ref = parse(name, operation, qualifier)
    except LambdaError as exc:
        assert_matches(exc, expected)
    else:
        assert_matches(not_found_for(operation, ref), expected)


@pytest.mark.parametrize(
    "client_fn", ["delete_function", "get_function", "get_function_configuration"]
)
def test_ops_with_arn_qualifier_mismatch(client_fn: str) -> None:
    content = recorded(f"test_ops_with_arn_qualifier_mismatch[{client_fn}]")
    operation = "".join(p.title() for p in client_fn.split("_"))
    exc = error_of(ARN + "some-function:1", operation, "$LATEST")
    assert_matches(exc, content["not_match_exception"])
    try:
        ref = parse(ARN + "some-function:$LATEST", operation, "$LATEST")
    except LambdaError as exc:
        assert_matches(exc, content["match_exception"])
    else:
        assert ref == FunctionRef("some-function", "$LATEST")
        assert_matches(not_found_for(operation, ref), content["match_exception"])


WRONG_REGION_OPS = {
    "get_function": "GetFunction",
    "get_function_configuration": "GetFunctionConfiguration",
    "get_function_url_config": "GetFunctionUrlConfig",
    "get_function_code_signing_config": "GetFunctionCodeSigningConfig",
    "get_function_event_invoke_config": "GetFunctionEventInvokeConfig",
    "get_function_concurrency": "GetFunctionConcurrency",
    "delete_function": "DeleteFunction",
    "invoke": "Invoke",
}


@pytest.mark.parametrize("client_fn", list(WRONG_REGION_OPS))
def test_get_function_wrong_region(client_fn: str) -> None:
    expected = recorded(f"test_get_function_wrong_region[{client_fn}]", "wrong_region_exception")
    exc = error_of(
        f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:fn", WRONG_REGION_OPS[client_fn]
    )
    assert_matches(exc, expected, {"<wrong-region>": "eu-central-1", "<fn-name>": "fn"})


def test_function_arns_create_errors() -> None:
    content = recorded("test_function_arns")
    assert_matches(
        error_of("invalid:function:name", "CreateFunction"), content["invalid_function_name_exc"]
    )
    assert_matches(error_of(a(65), "CreateFunction"), content["long_function_name_exc"])
    long_name = a(141 - len(ARN))
    assert_matches(
        error_of(ARN + long_name, "CreateFunction"),
        content["long_function_arn_exc"],
        {"<function-name>": long_name},
    )
    other_region = f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:fn"
    assert_matches(
        error_of(other_region, "CreateFunction"), content["function_arn_other_region_exc"]
    )
    other_account = f"arn:aws:lambda:{REGION}:123456789012:function:fn"
    exc = error_of(other_account, "CreateFunction")
    assert isinstance(exc, AccessDeniedException)
    assert_matches(exc, content["function_arn_other_account_exc"])
    assert exc.body() == {"Message": None}
    # the accepted forms
    assert parse(ARN + "fn", "CreateFunction") == FunctionRef("fn", None)
    assert parse(f"{ACCOUNT}:function:fn", "CreateFunction") == FunctionRef("fn", None)


def test_invalid_invoke() -> None:
    exc = error_of(f"arn:aws:lambda:{REGION}:123400000000@function:myfn", "Invoke")
    assert_matches(exc, recorded("test_invalid_invoke", "invoke_function_name_pattern_exc"))


def test_function_not_found_messages() -> None:
    subs = {"<fn-name>": "fn", "<nonexisting-fn-name>": "fn"}
    for op in ("get_function", "get_function_configuration"):
        expected = recorded(f"test_ops_on_nonexisting_version[{op}]", "version_not_found_exception")
        assert_matches(
            not_found_for("GetFunction", parse("fn", "GetFunction", "1221")), expected, subs
        )
    for op in ("delete_function", "get_function", "get_function_configuration"):
        expected = recorded(f"test_ops_on_nonexisting_fn[{op}]", "not_found_exception")
        assert_matches(function_not_found(REGION, ACCOUNT, "fn"), expected, subs)
    content = recorded("test_delete_on_nonexisting_version")
    for key in (
        "delete_function_response_non_existent",
        "delete_function_response_non_existent_with_qualifier",
    ):
        ref = parse("fn", "DeleteFunction", "1233")  # numeric qualifiers pass; lookup fails
        assert_matches(not_found_for("DeleteFunction", ref), content[key], subs)


def test_event_invoke_config_qualifier_conflicts() -> None:
    content = recorded("test_lambda_eventinvokeconfig_exceptions")
    op = "PutFunctionEventInvokeConfig"
    cases = {
        "put_alias_qualifiedarn_qualifierconflict": (ARN + "fn:myalias", "myaliasdoesnotexist"),
        "put_alias_shorthand_qualifierconflict": ("fn:myalias", "myaliasdoesnotexist"),
        "put_shorthand_qualifier_mismatch_1": ("fn:1", "$LATEST"),
        "put_shorthand_qualifier_mismatch_2": ("fn:$LATEST", "1"),
        "put_shorthand_qualifier_mismatch_3": ("fn:1", "myalias"),
    }
    for key, (name, qualifier) in cases.items():
        assert_matches(error_of(name, op, qualifier), content[key])
    assert parse("fn:$LATEST", op, "$LATEST") == FunctionRef("fn", "$LATEST")
    assert parse(ARN + "fn:myalias", op, "myalias") == FunctionRef("fn", "myalias")


@pytest.mark.parametrize("verb", ["create", "get", "delete", "update"])
def test_url_config_qualifiers(verb: str) -> None:
    content = recorded("test_url_config_exceptions")
    op = f"{verb.title()}FunctionUrlConfig"
    for suffix, qualifier in (
        ("name_doesnotexist_qualifier", "1"),
        ("qualifier_version", "1"),
        ("qualifier_version_doesnotexist", "2"),
        ("qualifier_latest", "$LATEST"),
    ):
        assert_matches(
            error_of("fn", op, qualifier), content[f"{verb}_function_url_config_{suffix}"]
        )
    key = f"{verb}_function_url_config_qualifier_alias_doesnotmatch_arn"
    if isinstance(content.get(key), dict):  # delete recorded "<aws_internal_failure>"
        assert_matches(error_of("fn:alias-doesnotmatch", op, "alias"), content[key])
    assert parse("fn:alias", op, "alias") == FunctionRef("fn", "alias")


def test_permission_qualifiers() -> None:
    content = recorded("test_permission_exceptions")
    exc = error_of("fn", "AddPermission", "invalid-qualifier-with-?-char")
    assert_matches(exc, content["add_permission_fn_qualifier_invalid"])
    assert_matches(
        error_of("fn:$LATEST", "AddPermission", "1"),
        content["add_permission_fn_qualifier_mismatch"],
    )
    ref = parse("fn", "AddPermission", "valid-with-$-but-doesnotexist")
    assert_matches(
        not_found_for("AddPermission", ref),
        content["add_permission_fn_qualifier_valid_doesnotexist"],
        {"<function-name>": "fn"},
    )


def test_function_concurrency_qualified() -> None:
    content = recorded("test_function_concurrency_exceptions")
    exc = error_of(ARN + "fn:$LATEST", "PutFunctionConcurrency")
    assert_matches(exc, content["put_function_concurrency_with_qualified_arn"])
    ref = parse("doesnotexist", "PutFunctionConcurrency")
    expected = content["put_function_concurrency_with_function_name_doesnotexist"]
    assert_matches(function_not_found(REGION, ACCOUNT, ref.name, "$LATEST"), expected)


def test_delete_function_qualifiers() -> None:
    assert parse("fn", "DeleteFunction", "7") == FunctionRef("fn", "7")
    assert error_of("fn", "DeleteFunction", "$LATEST").message == (
        "$LATEST version cannot be deleted without deleting the function."
    )
    exc = error_of("fn:prod", "DeleteFunction")
    assert isinstance(exc, InvalidParameterValueException)
    assert exc.message == "Deletion of aliases is not currently supported."


def test_name_forms() -> None:
    assert parse("fn", "GetFunction") == FunctionRef("fn", None)
    assert parse("fn:prod", "GetFunction") == FunctionRef("fn", "prod")
    assert parse(f"{ACCOUNT}:function:fn:3", "Invoke") == FunctionRef("fn", "3")
    assert parse(ARN + "fn", "Invoke", "prod") == FunctionRef("fn", "prod")
    assert parse("fn", "Invoke", "") == FunctionRef("fn", None)
    assert parse("fn:$LATEST.PUBLISHED", "Invoke") == FunctionRef("fn", "$LATEST.PUBLISHED")
    exc = error_of("fn:1", "GetFunctionRecursionConfig")
    assert isinstance(exc, ValidationException)
    exc = error_of(f"arn:aws:lambda:{REGION}:123456789012:function:fn", "Invoke")
    assert isinstance(exc, AccessDeniedException)
    with pytest.raises(ValueError):
        parse("fn", "NoSuchOperation")


# --- tags ---------------------------------------------------------------------------------


def tag_error(arn: str) -> LambdaError:
    with pytest.raises(LambdaError) as info:
        parse_resource_arn_for_tags(arn, REGION, ACCOUNT)
    return info.value


def test_tag_exceptions() -> None:
    content = recorded("TestLambdaTags::test_tag_exceptions")
    assert_matches(tag_error("arn:aws:something"), content["tag_lambda_invalidarn"])
    resource = parse_taggable_resource(ARN + "doesnotexist", REGION, ACCOUNT)
    assert resource == TaggableResource("function", "doesnotexist", ARN + "doesnotexist")
    assert_matches(tagged_resource_not_found(resource), content["tag_lambda_doesnotexist"])
    assert_matches(tag_error(ARN + "fn:v1"), content["tag_lambda_qualifier_doesnotexist"])
    with pytest.raises(LambdaError) as info:
        validate_untag_keys([])
    assert_matches(info.value, content["untag_empty_keys"])
    with pytest.raises(LambdaError) as info:
        validate_tags({}, require_nonempty=True)
    assert_matches(info.value, content["tag_empty_tags"])
    validate_untag_keys(["somekey"])


def test_tag_versions() -> None:
    content = recorded("TestLambdaTags::test_tag_versions")
    assert_matches(tag_error(ARN + "fn:1"), content["tag_resource_exception"])
    assert_matches(tag_error(ARN + "fn:$LATEST"), content["tag_resource_latest_exception"])


@pytest.mark.parametrize("kind", ["lambda_function", "event_source_mapping", "capacity_provider"])
def test_tag_exceptions_by_resource(kind: str) -> None:
    content = recorded(f"TestLambdaTag::test_tag_exceptions[{kind}]")
    name = {"lambda_function": "fn", "event_source_mapping": str(uuid.uuid4())}.get(kind, "cp1")
    arn_kind = {"lambda_function": "function"}.get(kind, kind.replace("_", "-"))
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:{arn_kind}:{name}"
    subs = {"<resource-name>": name}
    resource = parse_taggable_resource(arn, REGION, ACCOUNT)
    assert (resource.kind, resource.name) == (arn_kind, name)
    for key in ("not_found_exception_tag", "not_found_exception_untag", "not_found_exception_list"):
        assert_matches(tagged_resource_not_found(resource), content[key], subs)
    if kind != "lambda_function":  # Lamina tags functions only: the others are not found
        assert_matches(tag_error(arn), content["not_found_exception_tag"], subs)
    else:
        assert parse_resource_arn_for_tags(arn, REGION, ACCOUNT) == name
    assert_matches(tag_error(arn + ":alias"), content["aliased_arn_exception"], subs)
    bad = f"arn:aws:lambda:{REGION}:{ACCOUNT}:foobar:{name}"
    assert_matches(tag_error(bad), content["invalid_arn_exception"], subs)


def test_tag_nonexisting_resource() -> None:
    content = recorded("test_tag_nonexisting_resource")
    resource = parse_taggable_resource(ARN + "fn", REGION, ACCOUNT)
    for key in ("not_found_exception_tag", "not_found_exception_untag", "not_found_exception_list"):
        assert_matches(
            tagged_resource_not_found(resource), content[key], {"<function-name:1>": "fn"}
        )


def test_tag_limits() -> None:
    content = recorded("TestLambdaTags::test_tag_limits")
    fifty = {f"{k}_key": f"{k}_value" for k in range(50)}
    with pytest.raises(LambdaError) as info:
        validate_tags({f"{k}_key": f"{k}_value" for k in range(51)})
    assert_matches(info.value, content["tag_lambda_too_many_tags"])
    validate_tags(fifty)
    validate_tags(fifty, existing=fifty)  # overwriting does not add
    with pytest.raises(LambdaError) as info:
        validate_tags({"a_key": "a_value"}, existing=fifty)
    assert_matches(info.value, content["tag_lambda_too_many_tags_additional"])
    for bad in ({a(129): "v"}, {"k": a(257)}, {"aws:k": "v"}):
        with pytest.raises(InvalidParameterValueException):
            validate_tags(bad)
