from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_UNSPECIFIED: _ClassVar[Tier]
    TIER_BASIC: _ClassVar[Tier]
    TIER_SUPER: _ClassVar[Tier]
    TIER_HEAVY: _ClassVar[Tier]

class AccountStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATUS_UNSPECIFIED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_ACTIVE: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_COOLING: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_INVALID: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_DISABLED: _ClassVar[AccountStatus]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_SUCCESS: _ClassVar[Outcome]
    OUTCOME_RATE_LIMITED: _ClassVar[Outcome]
    OUTCOME_INVALID_CREDENTIAL: _ClassVar[Outcome]
    OUTCOME_FORBIDDEN: _ClassVar[Outcome]
    OUTCOME_CHALLENGE: _ClassVar[Outcome]
    OUTCOME_UPSTREAM_ERROR: _ClassVar[Outcome]
    OUTCOME_CANCELLED: _ClassVar[Outcome]
    OUTCOME_TRANSIENT: _ClassVar[Outcome]
    OUTCOME_PRODUCT_REFUSED: _ClassVar[Outcome]

class QuotaSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUOTA_SOURCE_UNSPECIFIED: _ClassVar[QuotaSource]
    QUOTA_SOURCE_DEFAULT: _ClassVar[QuotaSource]
    QUOTA_SOURCE_ESTIMATED: _ClassVar[QuotaSource]
    QUOTA_SOURCE_REAL: _ClassVar[QuotaSource]

class AccountSort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_SORT_UNSPECIFIED: _ClassVar[AccountSort]
    ACCOUNT_SORT_REMAINING: _ClassVar[AccountSort]
    ACCOUNT_SORT_LAST_USED: _ClassVar[AccountSort]
    ACCOUNT_SORT_FAILURES: _ClassVar[AccountSort]
    ACCOUNT_SORT_CREATED: _ClassVar[AccountSort]

class AccountAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_ACTION_UNSPECIFIED: _ClassVar[AccountAction]
    ACCOUNT_ACTION_ACCEPT_TOS: _ClassVar[AccountAction]
    ACCOUNT_ACTION_SET_BIRTH_DATE: _ClassVar[AccountAction]
    ACCOUNT_ACTION_ENABLE_NSFW: _ClassVar[AccountAction]
    ACCOUNT_ACTION_CLEAR_ASSETS: _ClassVar[AccountAction]

class EgressState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EGRESS_STATE_UNSPECIFIED: _ClassVar[EgressState]
    EGRESS_STATE_HEALTHY: _ClassVar[EgressState]
    EGRESS_STATE_COOLING: _ClassVar[EgressState]
    EGRESS_STATE_UNREACHABLE: _ClassVar[EgressState]
    EGRESS_STATE_DISABLED: _ClassVar[EgressState]
    EGRESS_STATE_NO_CLEARANCE: _ClassVar[EgressState]

class RefreshResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFRESH_RESULT_UNSPECIFIED: _ClassVar[RefreshResult]
    REFRESH_RESULT_REFRESHED: _ClassVar[RefreshResult]
    REFRESH_RESULT_FRESH: _ClassVar[RefreshResult]
    REFRESH_RESULT_FAILED: _ClassVar[RefreshResult]
    REFRESH_RESULT_NO_SOLVER: _ClassVar[RefreshResult]
TIER_UNSPECIFIED: Tier
TIER_BASIC: Tier
TIER_SUPER: Tier
TIER_HEAVY: Tier
ACCOUNT_STATUS_UNSPECIFIED: AccountStatus
ACCOUNT_STATUS_ACTIVE: AccountStatus
ACCOUNT_STATUS_COOLING: AccountStatus
ACCOUNT_STATUS_INVALID: AccountStatus
ACCOUNT_STATUS_DISABLED: AccountStatus
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_SUCCESS: Outcome
OUTCOME_RATE_LIMITED: Outcome
OUTCOME_INVALID_CREDENTIAL: Outcome
OUTCOME_FORBIDDEN: Outcome
OUTCOME_CHALLENGE: Outcome
OUTCOME_UPSTREAM_ERROR: Outcome
OUTCOME_CANCELLED: Outcome
OUTCOME_TRANSIENT: Outcome
OUTCOME_PRODUCT_REFUSED: Outcome
QUOTA_SOURCE_UNSPECIFIED: QuotaSource
QUOTA_SOURCE_DEFAULT: QuotaSource
QUOTA_SOURCE_ESTIMATED: QuotaSource
QUOTA_SOURCE_REAL: QuotaSource
ACCOUNT_SORT_UNSPECIFIED: AccountSort
ACCOUNT_SORT_REMAINING: AccountSort
ACCOUNT_SORT_LAST_USED: AccountSort
ACCOUNT_SORT_FAILURES: AccountSort
ACCOUNT_SORT_CREATED: AccountSort
ACCOUNT_ACTION_UNSPECIFIED: AccountAction
ACCOUNT_ACTION_ACCEPT_TOS: AccountAction
ACCOUNT_ACTION_SET_BIRTH_DATE: AccountAction
ACCOUNT_ACTION_ENABLE_NSFW: AccountAction
ACCOUNT_ACTION_CLEAR_ASSETS: AccountAction
EGRESS_STATE_UNSPECIFIED: EgressState
EGRESS_STATE_HEALTHY: EgressState
EGRESS_STATE_COOLING: EgressState
EGRESS_STATE_UNREACHABLE: EgressState
EGRESS_STATE_DISABLED: EgressState
EGRESS_STATE_NO_CLEARANCE: EgressState
REFRESH_RESULT_UNSPECIFIED: RefreshResult
REFRESH_RESULT_REFRESHED: RefreshResult
REFRESH_RESULT_FRESH: RefreshResult
REFRESH_RESULT_FAILED: RefreshResult
REFRESH_RESULT_NO_SOLVER: RefreshResult

class AcquireRequest(_message.Message):
    __slots__ = ("model", "cost", "exclude_account_ids", "request_id", "prefer_tier", "account_id", "account_tags", "lease_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PREFER_TIER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_TAGS_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    cost: int
    exclude_account_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    prefer_tier: str
    account_id: str
    account_tags: _containers.RepeatedScalarFieldContainer[str]
    lease_id: str
    def __init__(self, model: _Optional[str] = ..., cost: _Optional[int] = ..., exclude_account_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., prefer_tier: _Optional[str] = ..., account_id: _Optional[str] = ..., account_tags: _Optional[_Iterable[str]] = ..., lease_id: _Optional[str] = ...) -> None: ...

class Lease(_message.Message):
    __slots__ = ("lease_id", "account_id", "credential", "tier", "mode", "cost", "expires_at", "user_id", "egress")
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    lease_id: str
    account_id: str
    credential: str
    tier: Tier
    mode: str
    cost: int
    expires_at: float
    user_id: str
    egress: LeaseEgress
    def __init__(self, lease_id: _Optional[str] = ..., account_id: _Optional[str] = ..., credential: _Optional[str] = ..., tier: _Optional[_Union[Tier, str]] = ..., mode: _Optional[str] = ..., cost: _Optional[int] = ..., expires_at: _Optional[float] = ..., user_id: _Optional[str] = ..., egress: _Optional[_Union[LeaseEgress, _Mapping]] = ...) -> None: ...

class LeaseEgress(_message.Message):
    __slots__ = ("egress_id", "name", "proxy_url", "asset_proxy_url", "browser", "user_agent", "clearance_cookies")
    EGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROXY_URL_FIELD_NUMBER: _ClassVar[int]
    ASSET_PROXY_URL_FIELD_NUMBER: _ClassVar[int]
    BROWSER_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CLEARANCE_COOKIES_FIELD_NUMBER: _ClassVar[int]
    egress_id: str
    name: str
    proxy_url: str
    asset_proxy_url: str
    browser: str
    user_agent: str
    clearance_cookies: str
    def __init__(self, egress_id: _Optional[str] = ..., name: _Optional[str] = ..., proxy_url: _Optional[str] = ..., asset_proxy_url: _Optional[str] = ..., browser: _Optional[str] = ..., user_agent: _Optional[str] = ..., clearance_cookies: _Optional[str] = ...) -> None: ...

class QuotaFigures(_message.Message):
    __slots__ = ("mode", "remaining", "total", "window_seconds")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    mode: str
    remaining: int
    total: int
    window_seconds: int
    def __init__(self, mode: _Optional[str] = ..., remaining: _Optional[int] = ..., total: _Optional[int] = ..., window_seconds: _Optional[int] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("lease", "outcome", "retry_after", "quota")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    outcome: Outcome
    retry_after: float
    quota: _containers.RepeatedCompositeFieldContainer[QuotaFigures]
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., retry_after: _Optional[float] = ..., quota: _Optional[_Iterable[_Union[QuotaFigures, _Mapping]]] = ...) -> None: ...

class ReleaseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ("lease",)
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ...) -> None: ...

class RenewLeaseResponse(_message.Message):
    __slots__ = ("renewed", "expires_at")
    RENEWED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    renewed: bool
    expires_at: float
    def __init__(self, renewed: _Optional[bool] = ..., expires_at: _Optional[float] = ...) -> None: ...

class SetUserIdRequest(_message.Message):
    __slots__ = ("account_id", "user_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    user_id: str
    def __init__(self, account_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class SetUserIdResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BatchedAcquire(_message.Message):
    __slots__ = ("id", "request", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    id: int
    request: AcquireRequest
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[int] = ..., request: _Optional[_Union[AcquireRequest, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class BatchedRelease(_message.Message):
    __slots__ = ("id", "request", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    id: int
    request: ReleaseRequest
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[int] = ..., request: _Optional[_Union[ReleaseRequest, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LeaseBatch(_message.Message):
    __slots__ = ("acquires", "releases")
    ACQUIRES_FIELD_NUMBER: _ClassVar[int]
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    acquires: _containers.RepeatedCompositeFieldContainer[BatchedAcquire]
    releases: _containers.RepeatedCompositeFieldContainer[BatchedRelease]
    def __init__(self, acquires: _Optional[_Iterable[_Union[BatchedAcquire, _Mapping]]] = ..., releases: _Optional[_Iterable[_Union[BatchedRelease, _Mapping]]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message", "reason", "retry_at")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_AT_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    reason: str
    retry_at: float
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., retry_at: _Optional[float] = ...) -> None: ...

class AcquireAnswer(_message.Message):
    __slots__ = ("id", "lease", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    lease: Lease
    error: ItemError
    def __init__(self, id: _Optional[int] = ..., lease: _Optional[_Union[Lease, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class ReleaseAnswer(_message.Message):
    __slots__ = ("id", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    error: ItemError
    def __init__(self, id: _Optional[int] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class LeaseBatchReply(_message.Message):
    __slots__ = ("acquired", "released")
    ACQUIRED_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    acquired: _containers.RepeatedCompositeFieldContainer[AcquireAnswer]
    released: _containers.RepeatedCompositeFieldContainer[ReleaseAnswer]
    def __init__(self, acquired: _Optional[_Iterable[_Union[AcquireAnswer, _Mapping]]] = ..., released: _Optional[_Iterable[_Union[ReleaseAnswer, _Mapping]]] = ...) -> None: ...

class QuotaWindow(_message.Message):
    __slots__ = ("mode", "remaining", "total", "window_seconds", "reset_at", "source")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RESET_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    mode: str
    remaining: int
    total: int
    window_seconds: int
    reset_at: float
    source: QuotaSource
    def __init__(self, mode: _Optional[str] = ..., remaining: _Optional[int] = ..., total: _Optional[int] = ..., window_seconds: _Optional[int] = ..., reset_at: _Optional[float] = ..., source: _Optional[_Union[QuotaSource, str]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("account_id", "credential_masked", "tier", "status", "enabled", "tags", "note", "quota", "inflight", "fail_count", "cooling_until", "last_refresh_at", "created_at", "updated_at", "refused_products", "last_used_at")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_MASKED_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    FAIL_COUNT_FIELD_NUMBER: _ClassVar[int]
    COOLING_UNTIL_FIELD_NUMBER: _ClassVar[int]
    LAST_REFRESH_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    REFUSED_PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    credential_masked: str
    tier: Tier
    status: AccountStatus
    enabled: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    note: str
    quota: _containers.RepeatedCompositeFieldContainer[QuotaWindow]
    inflight: int
    fail_count: int
    cooling_until: float
    last_refresh_at: float
    created_at: float
    updated_at: float
    refused_products: _containers.RepeatedScalarFieldContainer[str]
    last_used_at: float
    def __init__(self, account_id: _Optional[str] = ..., credential_masked: _Optional[str] = ..., tier: _Optional[_Union[Tier, str]] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., enabled: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ..., quota: _Optional[_Iterable[_Union[QuotaWindow, _Mapping]]] = ..., inflight: _Optional[int] = ..., fail_count: _Optional[int] = ..., cooling_until: _Optional[float] = ..., last_refresh_at: _Optional[float] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., refused_products: _Optional[_Iterable[str]] = ..., last_used_at: _Optional[float] = ...) -> None: ...

class UpsertAccountRequest(_message.Message):
    __slots__ = ("credential", "account_id", "tier", "enabled", "tags", "set_tags", "note")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SET_TAGS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    credential: str
    account_id: str
    tier: Tier
    enabled: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    set_tags: bool
    note: str
    def __init__(self, credential: _Optional[str] = ..., account_id: _Optional[str] = ..., tier: _Optional[_Union[Tier, str]] = ..., enabled: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ..., set_tags: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class RemoveAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class RemoveAccountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("tier", "status", "tag", "search", "page_size", "page_token", "sort", "descending")
    TIER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    DESCENDING_FIELD_NUMBER: _ClassVar[int]
    tier: Tier
    status: AccountStatus
    tag: str
    search: str
    page_size: int
    page_token: str
    sort: AccountSort
    descending: bool
    def __init__(self, tier: _Optional[_Union[Tier, str]] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., tag: _Optional[str] = ..., search: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sort: _Optional[_Union[AccountSort, str]] = ..., descending: _Optional[bool] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token", "total")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    next_page_token: str
    total: int
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...

class RefreshUsageRequest(_message.Message):
    __slots__ = ("account_ids", "all")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ...) -> None: ...

class RefreshProgress(_message.Message):
    __slots__ = ("account_id", "ok", "error", "done", "total", "finished", "skipped")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ok: bool
    error: str
    done: int
    total: int
    finished: bool
    skipped: bool
    def __init__(self, account_id: _Optional[str] = ..., ok: _Optional[bool] = ..., error: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., finished: _Optional[bool] = ..., skipped: _Optional[bool] = ...) -> None: ...

class RunAccountActionRequest(_message.Message):
    __slots__ = ("action", "account_ids", "all")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    action: AccountAction
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    def __init__(self, action: _Optional[_Union[AccountAction, str]] = ..., account_ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ...) -> None: ...

class ActionProgress(_message.Message):
    __slots__ = ("account_id", "ok", "error", "done", "total", "finished", "assets_found", "assets_deleted", "already_done")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    ASSETS_FOUND_FIELD_NUMBER: _ClassVar[int]
    ASSETS_DELETED_FIELD_NUMBER: _ClassVar[int]
    ALREADY_DONE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ok: bool
    error: str
    done: int
    total: int
    finished: bool
    assets_found: int
    assets_deleted: int
    already_done: bool
    def __init__(self, account_id: _Optional[str] = ..., ok: _Optional[bool] = ..., error: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., finished: _Optional[bool] = ..., assets_found: _Optional[int] = ..., assets_deleted: _Optional[int] = ..., already_done: _Optional[bool] = ...) -> None: ...

class ListAssetsRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class Asset(_message.Message):
    __slots__ = ("asset_id", "name", "mime_type", "key", "size", "created_at")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    name: str
    mime_type: str
    key: str
    size: int
    created_at: str
    def __init__(self, asset_id: _Optional[str] = ..., name: _Optional[str] = ..., mime_type: _Optional[str] = ..., key: _Optional[str] = ..., size: _Optional[int] = ..., created_at: _Optional[str] = ...) -> None: ...

class ListAssetsResponse(_message.Message):
    __slots__ = ("assets", "next_page_token")
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    assets: _containers.RepeatedCompositeFieldContainer[Asset]
    next_page_token: str
    def __init__(self, assets: _Optional[_Iterable[_Union[Asset, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TierStats(_message.Message):
    __slots__ = ("tier", "by_status", "remaining_by_mode")
    class ByStatusEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class RemainingByModeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TIER_FIELD_NUMBER: _ClassVar[int]
    BY_STATUS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BY_MODE_FIELD_NUMBER: _ClassVar[int]
    tier: Tier
    by_status: _containers.ScalarMap[str, int]
    remaining_by_mode: _containers.ScalarMap[str, int]
    def __init__(self, tier: _Optional[_Union[Tier, str]] = ..., by_status: _Optional[_Mapping[str, int]] = ..., remaining_by_mode: _Optional[_Mapping[str, int]] = ...) -> None: ...

class PoolStats(_message.Message):
    __slots__ = ("total_accounts", "leases_in_flight", "tiers")
    TOTAL_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    LEASES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    total_accounts: int
    leases_in_flight: int
    tiers: _containers.RepeatedCompositeFieldContainer[TierStats]
    def __init__(self, total_accounts: _Optional[int] = ..., leases_in_flight: _Optional[int] = ..., tiers: _Optional[_Iterable[_Union[TierStats, _Mapping]]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("store_fingerprint", "store_kind", "version")
    STORE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    STORE_KIND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    store_fingerprint: str
    store_kind: str
    version: str
    def __init__(self, store_fingerprint: _Optional[str] = ..., store_kind: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class WatchAccountsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AccountChange(_message.Message):
    __slots__ = ("kind", "account_id", "account")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[AccountChange.Kind]
        KIND_UPSERTED: _ClassVar[AccountChange.Kind]
        KIND_STATE_CHANGED: _ClassVar[AccountChange.Kind]
        KIND_REMOVED: _ClassVar[AccountChange.Kind]
    KIND_UNSPECIFIED: AccountChange.Kind
    KIND_UPSERTED: AccountChange.Kind
    KIND_STATE_CHANGED: AccountChange.Kind
    KIND_REMOVED: AccountChange.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    kind: AccountChange.Kind
    account_id: str
    account: Account
    def __init__(self, kind: _Optional[_Union[AccountChange.Kind, str]] = ..., account_id: _Optional[str] = ..., account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class ExportAccountsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportedAccount(_message.Message):
    __slots__ = ("credential", "tier", "status", "tags", "note", "enabled")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    credential: str
    tier: Tier
    status: AccountStatus
    tags: _containers.RepeatedScalarFieldContainer[str]
    note: str
    enabled: bool
    def __init__(self, credential: _Optional[str] = ..., tier: _Optional[_Union[Tier, str]] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., tags: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class ClearanceInfo(_message.Message):
    __slots__ = ("source", "user_agent", "obtained_at", "expires_at")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    OBTAINED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    source: str
    user_agent: str
    obtained_at: float
    expires_at: float
    def __init__(self, source: _Optional[str] = ..., user_agent: _Optional[str] = ..., obtained_at: _Optional[float] = ..., expires_at: _Optional[float] = ...) -> None: ...

class Egress(_message.Message):
    __slots__ = ("id", "name", "proxy_masked", "asset_proxy_masked", "tags", "enabled", "max_inflight", "browser", "user_agent", "clearance", "state", "bound_accounts", "inflight", "calls", "challenges", "challenge_rate", "latency_ms", "last_error", "from_settings", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROXY_MASKED_FIELD_NUMBER: _ClassVar[int]
    ASSET_PROXY_MASKED_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    BROWSER_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CLEARANCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BOUND_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGES_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_RATE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    FROM_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    proxy_masked: str
    asset_proxy_masked: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    max_inflight: int
    browser: str
    user_agent: str
    clearance: ClearanceInfo
    state: EgressState
    bound_accounts: int
    inflight: int
    calls: int
    challenges: int
    challenge_rate: float
    latency_ms: float
    last_error: str
    from_settings: bool
    created_at: float
    updated_at: float
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., proxy_masked: _Optional[str] = ..., asset_proxy_masked: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ..., max_inflight: _Optional[int] = ..., browser: _Optional[str] = ..., user_agent: _Optional[str] = ..., clearance: _Optional[_Union[ClearanceInfo, _Mapping]] = ..., state: _Optional[_Union[EgressState, str]] = ..., bound_accounts: _Optional[int] = ..., inflight: _Optional[int] = ..., calls: _Optional[int] = ..., challenges: _Optional[int] = ..., challenge_rate: _Optional[float] = ..., latency_ms: _Optional[float] = ..., last_error: _Optional[str] = ..., from_settings: _Optional[bool] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ...) -> None: ...

class ListEgressesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEgressesResponse(_message.Message):
    __slots__ = ("egresses",)
    EGRESSES_FIELD_NUMBER: _ClassVar[int]
    egresses: _containers.RepeatedCompositeFieldContainer[Egress]
    def __init__(self, egresses: _Optional[_Iterable[_Union[Egress, _Mapping]]] = ...) -> None: ...

class AddEgressRequest(_message.Message):
    __slots__ = ("name", "proxy_url", "asset_proxy_url", "tags", "enabled", "max_inflight", "browser", "user_agent", "clearance_cookies")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROXY_URL_FIELD_NUMBER: _ClassVar[int]
    ASSET_PROXY_URL_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    BROWSER_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CLEARANCE_COOKIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    proxy_url: str
    asset_proxy_url: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    max_inflight: int
    browser: str
    user_agent: str
    clearance_cookies: str
    def __init__(self, name: _Optional[str] = ..., proxy_url: _Optional[str] = ..., asset_proxy_url: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ..., max_inflight: _Optional[int] = ..., browser: _Optional[str] = ..., user_agent: _Optional[str] = ..., clearance_cookies: _Optional[str] = ...) -> None: ...

class UpdateEgressRequest(_message.Message):
    __slots__ = ("egress", "name", "proxy_url", "asset_proxy_url", "tags", "set_tags", "enabled", "max_inflight", "browser", "user_agent", "clearance_cookies")
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROXY_URL_FIELD_NUMBER: _ClassVar[int]
    ASSET_PROXY_URL_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SET_TAGS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    BROWSER_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CLEARANCE_COOKIES_FIELD_NUMBER: _ClassVar[int]
    egress: str
    name: str
    proxy_url: str
    asset_proxy_url: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    set_tags: bool
    enabled: bool
    max_inflight: int
    browser: str
    user_agent: str
    clearance_cookies: str
    def __init__(self, egress: _Optional[str] = ..., name: _Optional[str] = ..., proxy_url: _Optional[str] = ..., asset_proxy_url: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., set_tags: _Optional[bool] = ..., enabled: _Optional[bool] = ..., max_inflight: _Optional[int] = ..., browser: _Optional[str] = ..., user_agent: _Optional[str] = ..., clearance_cookies: _Optional[str] = ...) -> None: ...

class RemoveEgressRequest(_message.Message):
    __slots__ = ("egress",)
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    egress: str
    def __init__(self, egress: _Optional[str] = ...) -> None: ...

class RemoveEgressResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TestEgressesRequest(_message.Message):
    __slots__ = ("egress_ids", "all")
    EGRESS_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    egress_ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    def __init__(self, egress_ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ...) -> None: ...

class EgressTest(_message.Message):
    __slots__ = ("egress_id", "name", "ok", "status", "challenged", "latency_ms", "message", "done", "total", "finished")
    EGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGED_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    egress_id: str
    name: str
    ok: bool
    status: int
    challenged: bool
    latency_ms: float
    message: str
    done: int
    total: int
    finished: bool
    def __init__(self, egress_id: _Optional[str] = ..., name: _Optional[str] = ..., ok: _Optional[bool] = ..., status: _Optional[int] = ..., challenged: _Optional[bool] = ..., latency_ms: _Optional[float] = ..., message: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., finished: _Optional[bool] = ...) -> None: ...

class RefreshClearanceRequest(_message.Message):
    __slots__ = ("egress",)
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    egress: str
    def __init__(self, egress: _Optional[str] = ...) -> None: ...

class ClearanceRefresh(_message.Message):
    __slots__ = ("egress_id", "result", "message")
    EGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    egress_id: str
    result: RefreshResult
    message: str
    def __init__(self, egress_id: _Optional[str] = ..., result: _Optional[_Union[RefreshResult, str]] = ..., message: _Optional[str] = ...) -> None: ...
