"""Run schemathesis cases of every operation of a schema against a running server.

``fuzz(...)`` draws ``examples`` cases per operation and generation mode (positive: bodies
and parameters the schema allows; negative: ones it forbids), sends each with a timeout
(a request outliving it is reported as a hang), checks the answer with ``api_checks``,
and returns one line per operation that failed, so a test reports every broken operation
at once. Shrinking is off: each request costs real work, and the failing case is printed
whole instead.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable

import api_checks
import requests
from fuzz_profile import counted
from grok2api_process import REQUEST_TIMEOUT
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.schemas import APIOperation, BaseSchema

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Called with the case before it is sent (may change it), and after with the answer's status.
Prepare = Callable[[Case], None]
Verify = Callable[[Case, int, bytes], list[str]]


def operations(schema: BaseSchema) -> list[APIOperation]:
    """Every operation; a malformed one raises (``ok()`` of an ``Err`` does)."""
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


def describe(case: Case) -> str:
    body = case.body if not isinstance(case.body, bytes | bytearray) else f"<{len(case.body)} B>"
    return (f"{case.method} {case.formatted_path} query={case.query!r} "
            f"headers={case.headers!r} body={body!r}"[:1500])  # fmt: skip


def fuzz(
    schema: BaseSchema,
    *,
    api: str,
    base_url: str,
    headers: dict[str, str],
    examples: int,
    skip: Iterable[tuple[str, str]] = (),
    prepare: Prepare | None = None,
    verify: Verify | None = None,
    statuses: Counter[tuple[str, int]] | None = None,
) -> tuple[list[str], int]:
    """(failures, operations fuzzed); ``statuses`` tallies the answers by operation."""
    skipped = set(skip)
    failures: list[str] = []
    fuzzed = 0
    session = requests.Session()
    for operation in operations(schema):
        if (operation.method.upper(), operation.path) in skipped:
            continue
        fuzzed += 1
        # Free-text path parameters alone admit no request that breaks the schema.
        negative = bool(operation.body) or any(True for _ in operation.query)
        for mode in MODES if negative else MODES[:1]:
            began = time.monotonic()
            failure = _fuzz_one(operation, mode, api=api, base_url=base_url, headers=headers,
                                examples=examples, prepare=prepare, verify=verify,
                                session=session, statuses=statuses)  # fmt: skip
            if failure:
                failures.append(f"{operation.label} [{mode.value}]: {failure}")
            print(f"fuzzed {operation.label} [{mode.value}] in {time.monotonic() - began:.1f} s")
    session.close()
    return failures, fuzzed


def _fuzz_one(
    operation: APIOperation, mode: GenerationMode, *, api: str, base_url: str,
    headers: dict[str, str], examples: int, prepare: Prepare | None, verify: Verify | None,
    session: requests.Session, statuses: Counter[tuple[str, int]] | None,
) -> str:  # fmt: skip
    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        counted()
        if prepare is not None:
            prepare(case)
        try:
            response = case.call(base_url=base_url, headers=headers, session=session,
                                 timeout=REQUEST_TIMEOUT)  # fmt: skip
        except requests.Timeout:
            hang = f"no answer within {REQUEST_TIMEOUT} s: {describe(case)}"
            raise AssertionError(hang) from None
        if statuses is not None:
            statuses[(operation.label, response.status_code)] += 1
        found = api_checks.problems(api=api, method=case.method, path=operation.path,
                                    status=response.status_code, body=response.content)
        if verify is not None:
            found += verify(case, response.status_code, response.content)
        if found:
            excerpt = response.content[:400]
            raise AssertionError(f"{found}; answer {response.status_code} {excerpt!r}; "
                                 f"request {describe(case)}")  # fmt: skip

    try:
        run()
    except Unsatisfiable:
        return ""  # no request violates the schema (e.g. only free-text path parameters)
    except AssertionError as exc:
        return str(exc).splitlines()[0][:2500]
    except Exception as exc:  # a generation error is a finding about the schema, not a pass
        return f"{type(exc).__name__}: {str(exc)[:500]}"
    return ""

