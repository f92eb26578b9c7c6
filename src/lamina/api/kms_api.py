"""KMS operations (JSON 1.1, ``X-Amz-Target: TrentService.<Operation>``) on the edge: the
request's members checked against botocore's ``kms`` model (AWS's ValidationException
wording), then the KMS service; every operation of the model Lamina's KMS lacks answers
``UnsupportedOperationException`` (HTTP 501) after the same validation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.lambda_unsupported_api import model_errors
from lamina.api.model import load_model
from lamina.domain.context import RequestContext
from lamina.domain.names import constraint_error, validation_exception
from lamina.services.kms.errors import InvalidKeyUsageException, UnsupportedOperationException
from lamina.services.kms.keys import ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT
from lamina.services.kms.service import KmsService, Scope

Json = dict[str, Any]
Operation = Callable[[KmsService, Scope, Json], Json]
DEFAULT_LIMIT = 100


def _scope(ctx: RequestContext) -> Scope:
    return Scope(ctx.region, ctx.account_id)


def _create_key(kms: KmsService, scope: Scope, params: Json) -> Json:
    wanted = {
        "KeyUsage": (params.get("KeyUsage"), ENCRYPT_DECRYPT),
        "KeySpec": (params.get("KeySpec"), SYMMETRIC_DEFAULT),
        "CustomerMasterKeySpec": (params.get("CustomerMasterKeySpec"), SYMMETRIC_DEFAULT),
        "Origin": (params.get("Origin"), "AWS_KMS"),
    }
    for member, (given, supported) in wanted.items():
        if given is not None and given != supported:
            raise UnsupportedOperationException(
                f"Lamina's KMS creates only symmetric encryption keys: {member} {given} is"
                f" not supported (only {supported})."
            )
    if params.get("MultiRegion") or params.get("CustomKeyStoreId") or params.get("XksKeyId"):
        raise UnsupportedOperationException(
            "Lamina's KMS creates only single-Region keys in its own key store."
        )
    key = kms.create_key(scope, params.get("Description") or "", params.get("Tags"))
    return {"KeyMetadata": key.metadata()}


def _describe_key(kms: KmsService, scope: Scope, params: Json) -> Json:
    return {"KeyMetadata": kms.describe_key(scope, params["KeyId"]).metadata()}


def _list_keys(kms: KmsService, scope: Scope, params: Json) -> Json:
    keys, marker = kms.list_keys(scope, params.get("Limit") or DEFAULT_LIMIT, params.get("Marker"))
    out: Json = {"Keys": [{"KeyId": key.key_id, "KeyArn": key.arn} for key in keys]}
    if marker is not None:
        out["NextMarker"] = marker
    out["Truncated"] = marker is not None
    return out


def _enable_key(kms: KmsService, scope: Scope, params: Json) -> Json:
    kms.enable_key(scope, params["KeyId"])
    return {}


def _disable_key(kms: KmsService, scope: Scope, params: Json) -> Json:
    kms.disable_key(scope, params["KeyId"])
    return {}


def _schedule_key_deletion(kms: KmsService, scope: Scope, params: Json) -> Json:
    key = kms.schedule_deletion(scope, params["KeyId"], params.get("PendingWindowInDays"))
    meta = key.metadata()
    return {
        "KeyId": key.arn,
        "DeletionDate": meta["DeletionDate"],
        "KeyState": key.state,
        "PendingWindowInDays": key.pending_window_days,
    }


def _cancel_key_deletion(kms: KmsService, scope: Scope, params: Json) -> Json:
    return {"KeyId": kms.cancel_deletion(scope, params["KeyId"]).arn}


def _create_alias(kms: KmsService, scope: Scope, params: Json) -> Json:
    kms.create_alias(scope, params["AliasName"], params["TargetKeyId"])
    return {}


def _delete_alias(kms: KmsService, scope: Scope, params: Json) -> Json:
    kms.delete_alias(scope, params["AliasName"])
    return {}


def _list_aliases(kms: KmsService, scope: Scope, params: Json) -> Json:
    aliases, marker = kms.list_aliases(
        scope, params.get("KeyId"), params.get("Limit") or DEFAULT_LIMIT, params.get("Marker")
    )
    out: Json = {"Aliases": [alias.to_wire() for alias in aliases]}
    if marker is not None:
        out["NextMarker"] = marker
    out["Truncated"] = marker is not None
    return out


def _check_algorithm(params: Json) -> None:
    algorithm = params.get("EncryptionAlgorithm")
    if algorithm is not None and algorithm != SYMMETRIC_DEFAULT:
        raise InvalidKeyUsageException(
            f"Algorithm {algorithm} is incompatible with key spec {SYMMETRIC_DEFAULT}."
        )


def _encrypt(kms: KmsService, scope: Scope, params: Json) -> Json:
    _check_algorithm(params)
    blob, key = kms.encrypt(
        scope, params["KeyId"], params["Plaintext"], params.get("EncryptionContext")
    )
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": SYMMETRIC_DEFAULT}


def _decrypt(kms: KmsService, scope: Scope, params: Json) -> Json:
    _check_algorithm(params)
    plaintext, key = kms.decrypt(
        scope, params["CiphertextBlob"], params.get("EncryptionContext"), params.get("KeyId")
    )
    return {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": SYMMETRIC_DEFAULT}


def _generate_data_key(kms: KmsService, scope: Scope, params: Json) -> Json:
    data_key = kms.generate_data_key(
        scope,
        params["KeyId"],
        params.get("NumberOfBytes"),
        params.get("KeySpec"),
        params.get("EncryptionContext"),
    )
    return {
        "CiphertextBlob": data_key.ciphertext,
        "Plaintext": data_key.plaintext,
        "KeyId": data_key.key.arn,
    }


def _generate_data_key_without_plaintext(kms: KmsService, scope: Scope, params: Json) -> Json:
    out = _generate_data_key(kms, scope, params)
    del out["Plaintext"]
    return out


OPERATIONS: dict[str, Operation] = {
    "CreateKey": _create_key,
    "DescribeKey": _describe_key,
    "ListKeys": _list_keys,
    "EnableKey": _enable_key,
    "DisableKey": _disable_key,
    "ScheduleKeyDeletion": _schedule_key_deletion,
    "CancelKeyDeletion": _cancel_key_deletion,
    "CreateAlias": _create_alias,
    "DeleteAlias": _delete_alias,
    "ListAliases": _list_aliases,
    "Encrypt": _encrypt,
    "Decrypt": _decrypt,
    "GenerateDataKey": _generate_data_key,
    "GenerateDataKeyWithoutPlaintext": _generate_data_key_without_plaintext,
}


def _blob_errors(params: Json, shape: Json, shapes: dict[str, Json]) -> list[str]:
    """The length constraints of the request's blobs (``Plaintext``, ``CiphertextBlob``),
    which the generic check leaves out; a sensitive blob's value is never repeated."""
    errors: list[str] = []
    for member, ref in shape.get("members", {}).items():
        blob = shapes[ref["shape"]]
        value = params.get(member)
        if blob.get("type") != "blob" or not isinstance(value, bytes):
            continue
        field = member[:1].lower() + member[1:]
        if "max" in blob and len(value) > blob["max"]:
            limit = f"Member must have length less than or equal to {blob['max']}"
            errors.append(constraint_error(field, value, limit, sensitive=True))
        elif "min" in blob and len(value) < blob["min"]:
            limit = f"Member must have length greater than or equal to {blob['min']}"
            errors.append(constraint_error(field, value, limit, sensitive=True))
    return errors


def kms_handlers(kms: KmsService) -> dict[str, Handler]:
    """A handler for every operation of the model: Lamina's, and the unsupported rest."""
    model = load_model("kms")
    shapes = model["shapes"]
    out: dict[str, Handler] = {}
    for name, operation in model["operations"].items():
        input_shape = shapes[operation["input"]["shape"]] if "input" in operation else None
        out[name] = _handler(kms, name, OPERATIONS.get(name), input_shape, shapes)
    return out


def _handler(
    kms: KmsService,
    name: str,
    operation: Operation | None,
    input_shape: Json | None,
    shapes: dict[str, Json],
) -> Callable[[RequestContext, Json], Awaitable[Json]]:
    async def handler(ctx: RequestContext, params: Json) -> Json:
        if input_shape is not None:
            errors = model_errors(params, input_shape, shapes) + _blob_errors(
                params, input_shape, shapes
            )
            if errors:
                raise validation_exception(errors)
        if operation is None:
            raise UnsupportedOperationException(
                f"Lamina does not support the operation {name} yet."
            )
        # SQLite reads and writes: off the event loop.
        return await asyncio.to_thread(operation, kms, _scope(ctx), params)

    return handler
