"""Schema-driven fuzzing of both HTTP APIs on one real ``grok2api run`` against the
simulator (started once: it is the slow part).

* The gateway (its served OpenAPI description, kept on loopback by ``gateway_spec``): no
  5xx, no hang, every error an OpenAI (on ``/v1/messages``, Anthropic) error object, and
  accepted requests really answered through the simulator.
* The admin API (its own description): no 5xx, no hang, every error in the admin's
  ``{"error": {"message", "type", "code"}}`` shape, and a rejected create, change or
  delete leaves the stored accounts, client keys and egresses as they were.

The gateway runs first: the admin's fuzzing may disable or delete the accounts it uses.
"""


from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import gateway_spec
import httpx2
import pytest
import schemathesis
from admin_store import AdminStore
from api_fuzzing import fuzz
from fuzz_profile import API_EXAMPLES
from grok2api_process import Running, started
from grok_sim.testing import SimHandle
from schemathesis import Case

# Operations that would reach past loopback or lock the fuzzer out: settings writes can
# change network.base_url or app.app_key; egress tests and clearance refreshes connect
# through the proxy under test (created egresses are pinned to loopback by ``loopback``).
SKIP = {
    ("PUT", "/api/settings"),
    ("POST", "/api/egresses/test"),
    ("POST", "/api/egresses/{egress_id}/test"),
    ("POST", "/api/egresses/{egress_id}/refresh-clearance"),
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOWHERE = "127.0.0.1:9"  # the discard port on loopback: nothing listens, nothing leaves


def loopback(body: Any) -> None:
    """Point any proxy URL of an egress body at a loopback port where nothing listens."""
    if not isinstance(body, dict):
        return
    for field in ("proxy_url", "asset_proxy_url"):
        value = body.get(field)
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value)
            has_host = bool(parts.hostname)
        except ValueError:
            parts, has_host = None, False
        if parts is not None and has_host:
            userinfo = parts.netloc.rpartition("@")[0]
            netloc = f"{userinfo}@{NOWHERE}" if userinfo else NOWHERE
            body[field] = parts._replace(netloc=netloc).geturl()


@pytest.fixture(scope="module")
def api_process(
    sim_server: SimHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    sim_server.reset()
    sim_server.set_options(time_scale=0.01)  # media jobs finish in moments
    try:
        with started(tmp_path_factory.mktemp("fuzz-api"), sim_server) as running:
            yield running
    finally:
        sim_server.reset()


@pytest.mark.timeout(3600)
def test_no_gateway_operation_answers_5xx_hangs_or_leaves_the_error_shape(
    api_process: Running,
) -> None:
    served = httpx2.get(f"{api_process.base_url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(gateway_spec.narrowed(served))
    statuses: Counter[tuple[str, int]] = Counter()
    failures, fuzzed = fuzz(
        schema, api="gateway", base_url=api_process.base_url,
        headers=api_process.gateway_headers(), examples=API_EXAMPLES, statuses=statuses,
    )  # fmt: skip
    print("answers:", sorted(statuses.items()))
    assert fuzzed >= 19  # every route described, the hot ones included
    assert not failures, "\n".join(failures)
    # Accepted requests really ran: some chats were answered through the simulator.
    assert statuses[("POST /v1/chat/completions", 200)] > 0, statuses
    assert "Traceback" not in api_process.output(), api_process.output()[-5000:]


@pytest.mark.timeout(3600)
def test_no_admin_operation_answers_5xx_hangs_leaves_the_error_shape_or_keeps_a_rejected_write(
    api_process: Running,
) -> None:
    headers = api_process.admin_headers()
    served = httpx2.get(f"{api_process.admin_url}/api/openapi.json", headers=headers,
                        timeout=30).json()  # fmt: skip
    schema = schemathesis.openapi.from_dict(served)
    store = AdminStore(admin_url=api_process.admin_url, headers=headers)
    before: dict[str, Any] = {}

    def prepare(case: Case) -> None:
        loopback(case.body)
        if case.method.upper() in WRITES:
            store.settle()
            before["snapshot"] = store.snapshot()

    def verify(case: Case, status: int, body: bytes) -> list[str]:
        if status == 202:
            store.note_batch(body)
        if case.method.upper() not in WRITES or status < 400:
            return []
        store.settle()
        after = store.snapshot()
        if after != before["snapshot"]:
            return [f"a rejected {case.method} changed the store: {before['snapshot']} -> {after}"]
        return []

    statuses: Counter[tuple[str, int]] = Counter()
    try:
        failures, fuzzed = fuzz(
            schema, api="admin", base_url=api_process.admin_url, headers=headers,
            examples=API_EXAMPLES, skip=SKIP, prepare=prepare, verify=verify, statuses=statuses,
        )  # fmt: skip
    finally:
        store.close()
    print("answers:", sorted(statuses.items()))
    assert fuzzed >= len({(m, p) for p, item in served["paths"].items() for m in item}) - len(SKIP)
    assert not failures, "\n".join(failures)
    assert "Traceback" not in api_process.output(), api_process.output()[-5000:]


def test_proxy_urls_are_pinned_to_loopback() -> None:
    body = {"proxy_url": "http://user:pw@proxy.example.com:3128", "asset_proxy_url": "x"}
    loopback(body)
    assert body == {"proxy_url": f"http://user:pw@{NOWHERE}", "asset_proxy_url": "x"}
