"""The one translation between the pool's error tree and gRPC statuses, both directions.

PoolExhausted    ↔ RESOURCE_EXHAUSTED, rich status details: google.rpc.ErrorInfo
                   (reason = ExhaustedReason, metadata["retry_at"] = unix seconds or
                   absent) and google.rpc.QuotaFailure (subject = the model)
AccountNotFound  ↔ NOT_FOUND
EgressNotFound   ↔ NOT_FOUND with a google.rpc.ResourceInfo detail (resource_type "egress")
InvalidRequest   ↔ INVALID_ARGUMENT
PoolUnavailable  ↔ UNAVAILABLE (and any transport failure or other status)

Items of the batched ``LeaseBatches`` stream carry the same code and details in an
``ItemError`` (``to_item_error`` / ``from_item_error``), mapped to the same errors.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grpc_status import rpc_status

from . import errors

DOMAIN = "tokenpool.grok2api"
EGRESS_RESOURCE = "egress"
_DETAILS_KEY = "grpc-status-details-bin"

_CODES: tuple[tuple[type[errors.PoolError], int], ...] = (
    (errors.PoolExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (errors.AccountNotFound, code_pb2.NOT_FOUND),
    (errors.EgressNotFound, code_pb2.NOT_FOUND),
    (errors.InvalidRequest, code_pb2.INVALID_ARGUMENT),
    (errors.PoolUnavailable, code_pb2.UNAVAILABLE),
)


def to_status(exc: errors.PoolError, *, subject: str = "") -> grpc.Status:
    """The gRPC status a server aborts with for ``exc``."""
    code = next((c for cls, c in _CODES if isinstance(exc, cls)), code_pb2.INTERNAL)
    status = status_pb2.Status(code=code, message=str(exc))
    if isinstance(exc, errors.PoolExhausted):
        metadata = {} if exc.retry_at is None else {"retry_at": repr(exc.retry_at)}
        info = error_details_pb2.ErrorInfo(
            reason=exc.reason.value, domain=DOMAIN, metadata=metadata
        )
        quota = error_details_pb2.QuotaFailure(
            violations=[error_details_pb2.QuotaFailure.Violation(
                subject=subject, description=exc.reason.value,
            )]
        )  # fmt: skip
        for detail in (info, quota):
            packed = any_pb2.Any()
            packed.Pack(detail)
            status.details.append(packed)
    if isinstance(exc, errors.EgressNotFound):
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.ResourceInfo(resource_type=EGRESS_RESOURCE))
        status.details.append(packed)
    return rpc_status.to_status(status)


def to_item_error(exc: errors.PoolError) -> pb.ItemError:
    """The ``ItemError`` a batched answer carries for ``exc`` (same code as ``to_status``)."""
    code = next((c for cls, c in _CODES if isinstance(exc, cls)), code_pb2.INTERNAL)
    item = pb.ItemError(code=code, message=str(exc))
    if isinstance(exc, errors.PoolExhausted):
        item.reason = exc.reason.value
        if exc.retry_at is not None:
            item.retry_at = exc.retry_at
    return item


def from_item_error(item: pb.ItemError) -> errors.PoolError:
    """The pool error a client raises for a failed batched item."""
    if item.code == code_pb2.RESOURCE_EXHAUSTED:
        return errors.PoolExhausted(
            item.message,
            reason=errors.ExhaustedReason.parse(item.reason),
            retry_at=item.retry_at if item.HasField("retry_at") else None,
        )
    if item.code == code_pb2.NOT_FOUND:
        return errors.AccountNotFound(item.message)
    if item.code == code_pb2.INVALID_ARGUMENT:
        return errors.InvalidRequest(item.message)
    return errors.PoolUnavailable(item.message or "token pool call failed")


def from_rpc_error(exc: grpc.RpcError) -> errors.PoolError:
    """The pool error a client raises for a failed call (chain ``exc`` as the cause)."""
    code = exc.code() if isinstance(exc, grpc.aio.AioRpcError | grpc.Call) else None
    message = (exc.details() if isinstance(exc, grpc.aio.AioRpcError | grpc.Call) else "") or ""
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return _exhausted(exc, message)
    if code is grpc.StatusCode.NOT_FOUND:
        if _names_egress(exc):
            return errors.EgressNotFound(message)
        return errors.AccountNotFound(message)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidRequest(message)
    return errors.PoolUnavailable(f"token pool call failed: {code.name if code else 'unknown'}")


def _details(exc: grpc.RpcError) -> list[any_pb2.Any]:
    """The rich status details a failed call carries (none for a plain status)."""
    trailing = exc.trailing_metadata() if isinstance(exc, grpc.aio.AioRpcError) else None
    found: list[any_pb2.Any] = []
    for key, value in trailing or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            found.extend(status_pb2.Status.FromString(value).details)
    return found


def _names_egress(exc: grpc.RpcError) -> bool:
    info = error_details_pb2.ResourceInfo()
    return any(
        d.Is(info.DESCRIPTOR) and d.Unpack(info) and info.resource_type == EGRESS_RESOURCE
        for d in _details(exc)
    )


def _exhausted(exc: grpc.RpcError, message: str) -> errors.PoolExhausted:
    reason = errors.ExhaustedReason.NO_ACCOUNT_OF_TIER
    retry_at: float | None = None
    for detail in _details(exc):
        info = error_details_pb2.ErrorInfo()
        if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
            reason = errors.ExhaustedReason.parse(info.reason)
            if "retry_at" in info.metadata:
                retry_at = float(info.metadata["retry_at"])
    return errors.PoolExhausted(message, reason=reason, retry_at=retry_at)
