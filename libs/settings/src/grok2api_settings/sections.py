"""The settings sections. Each field's description is its documentation: the README's
settings reference and the commented ``config.toml`` are generated from these models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_DEFAULT_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)


def secret(default: str, description: str) -> Any:
    """A string field whose value is masked wherever settings are shown."""
    return Field(default, description=description, json_schema_extra={"secret": True})


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class AppSettings(Section):
    app_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public URL of this gateway, used to build file links. Set it behind a proxy.",
    )
    app_key: str = secret("grok2api", "Admin panel password. Change it in production.")
    api_key: str = secret(
        "", "API key clients must send. Empty means the API is OPEN to anyone who can reach it."
    )
    image_format: Literal["url", "base64"] = Field("url", description="How images are returned.")
    video_format: Literal["html", "url"] = Field(
        "html", description="How videos are returned: an HTML <video> tag or a plain URL."
    )


class NetworkSettings(Section):
    timeout: float = Field(120.0, gt=0, description="Timeout of one upstream request (seconds).")
    base_proxy_url: str = Field(
        "", description="Egress proxy for grok.com calls (http://, socks5://; socks5 → socks5h)."
    )
    asset_proxy_url: str = Field("", description="Egress proxy for asset downloads.")
    ca_bundle: str = Field(
        "",
        description="PEM file of the CAs upstream TLS trusts (a TLS-inspecting proxy, a "
        "mirror with its own CA). Empty: CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE, SSL_CERT_FILE "
        "in that order, else the certificates bundled with curl_cffi.",
    )
    base_url: str = Field(
        "https://grok.com", description="Upstream base URL; point it at the simulator or a mirror."
    )
    assets_url: str = Field("https://assets.grok.com", description="Upstream asset host URL.")
    accounts_url: str = Field(
        "https://accounts.x.ai", description="Upstream account-settings host (ToS acceptance)."
    )
    max_connections: int = Field(
        2048,
        ge=1,
        description="Upstream connections a process holds at once per egress, i.e. its "
        "concurrent upstream streams: a chat holds one for its whole answer (the mgw "
        "WebSocket or the REST stream). A call beyond it waits for a free one (a WebSocket "
        "up to `network.timeout`), shown by `grok2api_upstream_connection_waiting` and an "
        "`upstream_connection_wait` log line. Sized for 2,000 concurrent streams; each "
        "costs about 160 kB (curl's WebSocket buffers) and two file descriptors.",
    )
    chat_protocol: Literal["rest", "mgw"] = Field(
        "mgw",
        description="How chat reaches grok.com: `mgw`, a WebSocket per turn to the mgw "
        "gateway (grok.com's web page since August 2026); `rest`, REST app-chat with an "
        "NDJSON stream (the February 2026 generation, for mirrors that still serve it).",
    )
    upload_protocol: Literal["v2", "json"] = Field(
        "v2",
        description="How files reach grok.com (chat attachments, edit and video references): "
        "`v2`, a multipart POST to `/http/upload-file-v2/direct` (grok.com's web page since "
        "August 2026); `json`, base64 JSON to `/rest/app-chat/upload-file` (the February "
        "2026 generation, for mirrors that still serve it).",
    )
    media_protocol: Literal["media_gen_input", "media_post"] = Field(
        "media_gen_input",
        description="How image edits and videos are requested: `media_gen_input`, a REST "
        "app-chat body with `mediaGenInput` and no media post (grok.com since August 2026); "
        "`media_post`, a media post plus a `modelMap` override (the February 2026 "
        "generation). Video with a reference image and videos longer than 15 s use "
        "`media_post` either way: the August generation documents text-to-video only.",
    )


class SecuritySettings(Section):
    cf_clearance: str = secret("", "Cloudflare clearance cookie sent upstream.")
    browser: str = Field("chrome136", description="curl_cffi browser fingerprint to impersonate.")
    user_agent: str = Field(_DEFAULT_UA, description="User-Agent sent upstream.")
    encryption_key: str = secret(
        "",
        "Key that encrypts account credentials at rest. Empty: the single-process mode "
        "generates DATA_DIR/secret.key; split deployments must set it.",
    )


class ChatSettings(Section):
    temporary: bool = Field(True, description="Use temporary upstream conversations.")
    disable_memory: bool = Field(True, description="Disable Grok memory for each conversation.")
    stream: bool = Field(
        False,
        description="Stream when a request omits `stream`. Off, as OpenAI's API defines it (its "
        "SDKs omit `stream` on non-streaming calls); the original project's default was on.",
    )
    thinking: bool = Field(True, description="Show reasoning by default when a request omits it.")
    dynamic_statsig: bool = Field(True, description="Generate a new x-statsig-id per request.")
    filter_tags: list[str] = Field(
        default_factory=lambda: ["xaiartifact", "xai:tool_usage_card", "grok:render"],
        description="Upstream markup tags stripped from answers.",
    )
    reasoning_format: Literal["reasoning_content", "think_tags"] = Field(
        "reasoning_content",
        description="Where reasoning goes: `reasoning_content`, or inline `<think>` tags.",
    )
    keepalive_seconds: float = Field(
        15.0, gt=0, description="Interval of SSE keep-alive comments while upstream thinks."
    )
    attachment_max_bytes: int = Field(
        20 * 1024 * 1024, ge=1, description="Largest image or file a message may carry (bytes)."
    )
    attachment_fetch_timeout: float = Field(
        15.0, gt=0, description="Time allowed to download one image URL from a message (s)."
    )
    attachment_allow_private: bool = Field(
        False,
        description="Let image URLs in messages reach loopback, private and link-local "
        "addresses (off: a client could make the gateway fetch from its own network).",
    )


class RetrySettings(Section):
    max_retry: int = Field(3, ge=0, description="Max retries (on other accounts) per request.")
    retry_status_codes: list[int] = Field(
        default_factory=lambda: [401, 429, 403], description="Upstream statuses that are retried."
    )
    retry_backoff_base: float = Field(0.5, ge=0, description="Backoff base delay (seconds).")
    retry_backoff_factor: float = Field(2.0, ge=1, description="Exponential backoff factor.")
    retry_backoff_max: float = Field(30.0, ge=0, description="Max wait per retry (seconds).")
    retry_budget: float = Field(90.0, ge=0, description="Max total retry time per request (s).")
    busy_wait_max: float = Field(
        10.0, ge=0, description="Max wait for an account when all are at their concurrency cap (s)."
    )
    retry_transient: bool = Field(
        True,
        description="Also retry on another account after a transient failure before the first "
        "byte reached the client: upstream 5xx, a reset or refused connection, a TLS failure, "
        "no first byte within timeout.first_byte_timeout, an empty answer.",
    )


class TimeoutSettings(Section):
    stream_idle_timeout: float = Field(
        120.0, gt=0, description="A stream silent this long is cut (seconds)."
    )
    video_idle_timeout: float = Field(90.0, gt=0, description="Idle timeout for video (seconds).")
    first_byte_timeout: float = Field(
        30.0,
        gt=0,
        description="A chat upstream that sends no byte this long after the request is given "
        "up and retried on another account (seconds).",
    )
    media_timeout: float = Field(
        900.0,
        gt=0,
        description="The longest a synchronous media request (/v1/images/*, chat with an image "
        "or video model) waits for its job; then it answers 504 `media_timeout` and the job is "
        "cancelled (seconds). Jobs of /v1/videos run on without a waiting request.",
    )


class ImageSettings(Section):
    image_ws: bool = Field(True, description="Generate images over the Imagine WebSocket.")
    image_ws_nsfw: bool = Field(True, description="Request NSFW mode on the Imagine WebSocket.")
    image_ws_blocked_seconds: float = Field(
        15, gt=0, description="No final image this long after a medium one means blocked (s)."
    )
    image_ws_final_min_bytes: int = Field(
        100000, ge=0, description="Minimum size of a final image (bytes)."
    )
    image_ws_medium_min_bytes: int = Field(
        30000, ge=0, description="Minimum size of a medium image (bytes)."
    )


class TokenSettings(Section):
    auto_refresh: bool = Field(True, description="Refresh account usage automatically.")
    refresh_interval_hours: float = Field(8, gt=0, description="Basic account refresh interval.")
    super_refresh_interval_hours: float = Field(
        2, gt=0, description="Super account refresh interval (hours)."
    )
    fail_threshold: int = Field(
        5, ge=1, description="Consecutive invalid-credential failures before an account is invalid."
    )
    save_delay_ms: int = Field(
        500,
        ge=1,
        description="Quota spent by leases is written to the durable store at most this long "
        "after (ms), so a Redis restart does not forget it.",
    )
    refresh_after_rebuild: bool = Field(
        True,
        description="After the hot state is found empty while the pool runs (Redis restarted or "
        "flushed), re-read every account's usage from the upstream, which knows what the last "
        "moments before the loss spent.",
    )
    reload_interval_sec: int = Field(
        30, ge=0, description="Accepted for compatibility; pool state is shared, so unused."
    )
    lease_ttl_seconds: float = Field(
        300,
        gt=0,
        description="A lease neither released nor renewed within this time is reclaimed "
        "(seconds); a call that runs longer renews its lease.",
    )
    transient_fail_threshold: int = Field(
        1,
        ge=1,
        description="Transient failures in a row (5xx, reset, no first byte, empty answer) "
        "from which an account cools, as a load balancer ejects a failing backend. Failures "
        "on half the usable accounts with no success between them are the upstream's: they "
        "cool nobody.",
    )
    transient_cooldown_seconds: float = Field(
        10.0,
        gt=0,
        description="First cooldown after transient failures (s); it doubles with each further "
        "failure in a row, up to 32 times.",
    )
    max_inflight_per_account: int = Field(
        4, ge=1, description="Concurrent upstream calls allowed on one account."
    )
    selection_policy: Literal["most_remaining", "random", "round_robin"] = Field(
        "most_remaining", description="How an account is chosen among eligible ones."
    )


class CacheSettings(Section):
    enable_auto_clean: bool = Field(True, description="Clean the media cache above its limit.")
    limit_mb: int = Field(1024, ge=1, description="Media cache size that triggers cleanup (MB).")
    job_ttl_seconds: float = Field(
        86400.0,
        gt=0,
        description="How long a media job's record (status, progress, result, error) stays "
        "readable after its last change, e.g. for GET /v1/videos/{id} (seconds).",
    )
    continuation_ttl_seconds: float = Field(
        2592000.0,
        gt=0,
        description="How long a response can be continued (a later turn naming it as its "
        "previous response): its upstream conversation, the account holding it and the "
        "upstream response id are kept this long after the turn (seconds; 30 days, as "
        "grok.com's web client keeps them).",
    )


class PerformanceSettings(Section):
    media_max_concurrent: int = Field(
        50, ge=1, description="Concurrent media jobs (generations) per media worker."
    )
    media_reclaim_seconds: float = Field(
        60.0,
        gt=0,
        description="A media job whose worker stopped heartbeating this long ago (it died) is "
        "taken over by another worker (seconds); heartbeats come every third of it.",
    )
    assets_max_concurrent: int = Field(25, ge=1, description="Concurrent asset find/delete calls.")
    assets_batch_size: int = Field(10, ge=1, description="Batch size of asset find/delete.")
    assets_max_tokens: int = Field(1000, ge=1, description="Max accounts per asset batch.")
    assets_delete_batch_size: int = Field(
        10, ge=1, description="Concurrent deletions for one account's assets."
    )
    usage_max_concurrent: int = Field(25, ge=1, description="Concurrent usage refresh calls.")
    usage_batch_size: int = Field(50, ge=1, description="Batch size of usage refresh.")
    usage_max_tokens: int = Field(1000, ge=1, description="Max accounts per usage refresh.")
    nsfw_max_concurrent: int = Field(10, ge=1, description="Concurrent NSFW enable calls.")
    nsfw_batch_size: int = Field(50, ge=1, description="Batch size of NSFW enabling.")
    nsfw_max_tokens: int = Field(1000, ge=1, description="Max accounts per NSFW batch.")


class UsageSettings(Section):
    retention_days: int = Field(
        90, ge=1, description="Days the per-request usage records are kept in the durable store."
    )
    flush_interval_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often a gateway hands its buffered usage records on (to Redis in a "
        "split deployment, else to the durable store).",
    )


class ServerSettings(Section):
    host: str = Field("0.0.0.0", description="Bind address (env SERVER_HOST).")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port (env SERVER_PORT).")
    workers: int = Field(
        1, ge=1, description="Gateway worker processes (env SERVER_WORKERS); >1 needs REDIS_URL."
    )
    storage_type: Literal["local", "mysql", "pgsql", "redis"] = Field(
        "local", description="Durable store (env SERVER_STORAGE_TYPE)."
    )
    storage_url: str = secret(
        "", "Store URL, empty for local SQLite in DATA_DIR (env SERVER_STORAGE_URL)."
    )
    max_body_bytes: int = Field(
        224 * 1024 * 1024,
        ge=1,
        description="Largest request body (bytes); a larger one is answered 413 unread. The "
        "default fits the largest legitimate chat request: 8 attachments at "
        "chat.attachment_max_bytes (20 MiB), base64 in JSON (4/3: 213.3 MiB), plus about "
        "10 MiB of prompt text. Raise it with chat.attachment_max_bytes.",
    )
    body_timeout: float = Field(
        60.0,
        gt=0,
        description="Time allowed to receive a whole request body (s); a slower one is answered "
        "408 and its connection closed, so a client trickling bytes cannot hold a connection. "
        "60 s carries one attachment at its limit (27 MB encoded) over a 4 Mbit/s uplink; "
        "the largest body needs about 30 Mbit/s.",
    )
    header_timeout: float = Field(
        20.0,
        gt=0,
        description="Time allowed for a request's line and headers (s), from the connection "
        "opening or the request's first byte; a slower one gets 408 and its connection closed "
        "(slow-loris), one that never sent a byte is just closed.",
    )
    shutdown_grace: int = Field(
        30,
        ge=0,
        description="Time open requests, streams included, get to finish after SIGTERM or "
        "Ctrl-C (s); new connections are refused meanwhile and what is still open after it "
        "is cut. Give a Kubernetes pod a terminationGracePeriodSeconds above it.",
    )


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Log level (env LOG_LEVEL)."
    )
    file_enabled: bool = Field(
        True, description="Also write a rotated log file in DATA_DIR/logs (env LOG_FILE_ENABLED)."
    )
    format: Literal["text", "json"] = Field(
        "text", description="Log record format (env LOG_FORMAT)."
    )


class ServicesSettings(Section):
    redis_url: str = secret(
        "", "Redis for shared hot state (env REDIS_URL). Empty: in-process state, one process only."
    )
    token_pool_addr: str = Field(
        "127.0.0.1:50051", description="Token pool gRPC address (env TOKEN_POOL_ADDR)."
    )


class EgressSettings(Section):
    solver_url: str = Field(
        "",
        description="FlareSolverr base URL (e.g. `http://flaresolverr:8191`) that obtains "
        "Cloudflare clearance through each egress's proxy. Empty: clearance only as pasted.",
    )
    solver_timeout_seconds: float = Field(
        60.0, gt=0, description="Time the solver may take to pass one challenge (s)."
    )
    clearance_refresh_seconds: float = Field(
        1800.0,
        gt=0,
        description="Refresh an egress's solver clearance this long after it was obtained "
        "(or this long before it expires, whichever is sooner) (s).",
    )
    challenge_limit: int = Field(
        3,
        ge=1,
        description="Challenges an egress may get within `challenge_window_seconds` of a fresh "
        "clearance before it is cooled and its accounts move to other egresses.",
    )
    challenge_window_seconds: float = Field(
        300.0, gt=0, description="Window in which challenges after a refresh are counted (s)."
    )
    challenge_cooldown_seconds: float = Field(
        600.0, gt=0, description="How long a repeatedly challenged egress is left unused (s)."
    )
    unreachable_threshold: int = Field(
        3,
        ge=1,
        description="Network failures in a row after which an egress counts as unreachable "
        "and its accounts move; it is tried again after `challenge_cooldown_seconds`.",
    )
    declared_file: str = Field(
        "",
        description="JSON or YAML file listing egresses (name, proxy, asset_proxy, tags, "
        "max_inflight, browser, user_agent, clearance, enabled) that the token pool adds or "
        "updates by name when it starts; the Helm chart mounts it from a Secret. Empty: none.",
    )


class TelemetrySettings(Section):
    metrics_enabled: bool = Field(True, description="Expose Prometheus metrics on /metrics.")
    service_name: str = Field("grok2api", description="Service name in traces (OTEL_SERVICE_NAME).")
    otlp_endpoint: str = Field(
        "", description="OTLP trace endpoint; empty disables export (OTEL_EXPORTER_OTLP_ENDPOINT)."
    )
    metrics_urls: list[str] = Field(
        default_factory=list,
        description="Prometheus endpoints (full URLs of each gateway, token pool and media "
        "worker `/metrics`) the admin dashboard scrapes in a split deployment; the chart sets "
        "it. Unused in the single-process mode, which reads its own metrics.",
    )


DataDir = Path
