"""The egress test bed itself: real proxies exiting from their own loopback addresses, the
simulator's Cloudflare clearance per (client address, User-Agent), and the solver."""

from __future__ import annotations

import base64
import logging
import uuid

import pytest
from curl_cffi import requests as curl_requests
from egress_proxies import Credentials, RunningProxy
from grok_sim.solver import SOLVER_USER_AGENT
from grok_sim.testing import SimHandle, SolverHandle

CREDENTIALS = Credentials(username="egress-user", password="pr0xy-s3cret")
OTHER_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36"


def fetch(url: str, *, proxy: str | None = None, user_agent: str = SOLVER_USER_AGENT,
          cookie: str = "") -> curl_requests.Response:
    headers = {"User-Agent": user_agent}
    if cookie:
        headers["Cookie"] = cookie
    return curl_requests.get(url, proxy=proxy, headers=headers, impersonate="chrome131",
                             timeout=10)


def rate_limits(sim: SimHandle, *, proxy: str, clearance: str,
                user_agent: str = SOLVER_USER_AGENT) -> curl_requests.Response:
    """An authenticated grok.com API call (POST /rest/rate-limits) through `proxy`."""
    headers = {
        "Cookie": f"sso=tok-egress; sso-rw=tok-egress; cf_clearance={clearance}",
        "x-statsig-id": base64.b64encode(b"e:egress-test").decode(),
        "x-xai-request-id": str(uuid.uuid4()),
        "Origin": "https://grok.com", "Referer": "https://grok.com/",
        "User-Agent": user_agent, "Content-Type": "application/json",
    }
    return curl_requests.post(f"{sim.base_url}/rest/rate-limits", proxy=proxy, headers=headers,
                              json={"requestKind": "DEFAULT", "modelName": "grok-3"},
                              impersonate="chrome131", timeout=10)


def is_challenge(answer: curl_requests.Response) -> bool:
    return answer.status_code == 403 and "Just a moment..." in answer.text


def solve_through(solver: SolverHandle, sim: SimHandle, proxy: RunningProxy) -> str:
    """The cf_clearance the solver obtains through `proxy`."""
    solved = solver.solve(sim.base_url + "/", proxy=proxy.flaresolverr_proxy())
    assert solved["status"] == "ok", solved
    cookies = {c["name"]: c["value"] for c in solved["solution"]["cookies"]}
    return cookies["cf_clearance"]


def test_the_simulator_sees_each_proxy_as_its_exit_address(sim, start_tinyproxy, start_dante):
    http_proxy = start_tinyproxy("127.0.0.2", credentials=CREDENTIALS)
    socks_proxy = start_dante("127.0.0.3")

    assert is_challenge(fetch(sim.base_url + "/", proxy=http_proxy.url()))
    assert is_challenge(fetch(sim.base_url + "/", proxy=socks_proxy.url()))
    assert is_challenge(fetch(sim.base_url + "/"))

    assert sim.clearance()["challenged"] == {"127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.1": 1}


def test_solver_through_a_proxy_returns_a_clearance_that_works_from_that_proxy(
    sim, solver, start_tinyproxy
):
    sim.add_account("tok-egress")
    sim.require_clearance()
    proxy = start_tinyproxy("127.0.0.4", credentials=CREDENTIALS)
    solves_before = solver.stats()["solves"].get(proxy.url(with_credentials=False), 0)

    solved = solver.solve(sim.base_url + "/", proxy=proxy.flaresolverr_proxy())

    assert solved["status"] == "ok" and solved["message"] == "Challenge solved!"
    solution = solved["solution"]
    assert solution["status"] == 200 and solution["userAgent"] == SOLVER_USER_AGENT
    clearance = next(c for c in solution["cookies"] if c["name"] == "cf_clearance")
    assert clearance["path"] == "/" and clearance["expires"] > 0
    assert sim.clearances_issued("127.0.0.4") == 1
    assert solver.stats()["solves"][proxy.url(with_credentials=False)] == solves_before + 1
    answer = rate_limits(sim, proxy=proxy.url(), clearance=clearance["value"])
    assert answer.status_code == 200, answer.text


def test_a_clearance_is_refused_from_another_address_or_user_agent(
    sim, solver, start_tinyproxy, start_dante
):
    sim.add_account("tok-egress")
    first = start_tinyproxy("127.0.0.5", credentials=CREDENTIALS)
    second = start_dante("127.0.0.6")
    clearance = solve_through(solver, sim, first)
    sim.require_clearance()

    assert rate_limits(sim, proxy=first.url(), clearance=clearance).status_code == 200
    assert is_challenge(rate_limits(sim, proxy=second.url(), clearance=clearance))
    assert is_challenge(rate_limits(sim, proxy=first.url(), clearance=clearance,
                                    user_agent=OTHER_USER_AGENT))
    assert is_challenge(fetch(sim.base_url + "/", cookie=f"cf_clearance={clearance}"))


def test_without_enforcement_api_calls_pass_without_clearance(sim, start_dante):
    sim.add_account("tok-egress")
    proxy = start_dante("127.0.0.7")

    assert rate_limits(sim, proxy=proxy.url(), clearance="none").status_code == 200


def test_a_challenge_on_demand_revokes_the_address_until_it_solves_again(
    sim, solver, start_tinyproxy, start_dante
):
    sim.add_account("tok-egress")
    challenged = start_tinyproxy("127.0.0.8")
    bystander = start_dante("127.0.0.9")
    old = solve_through(solver, sim, challenged)
    spared = solve_through(solver, sim, bystander)
    sim.require_clearance()

    sim.challenge("127.0.0.8", times=1)

    assert is_challenge(rate_limits(sim, proxy=challenged.url(), clearance=old))
    assert is_challenge(rate_limits(sim, proxy=challenged.url(), clearance=old))
    assert rate_limits(sim, proxy=bystander.url(), clearance=spared).status_code == 200
    fresh = solve_through(solver, sim, challenged)
    assert rate_limits(sim, proxy=challenged.url(), clearance=fresh).status_code == 200
    assert sim.clearances_issued("127.0.0.8") == 2
    assert sim.revoke_clearances("127.0.0.8") == 1
    assert is_challenge(rate_limits(sim, proxy=challenged.url(), clearance=fresh))


def test_curl_cffi_through_socks5h_leaves_name_resolution_to_the_proxy(sim, start_dante):
    proxy = start_dante("127.0.0.10")

    answer = fetch(f"http://localhost:{sim.port}/_sim/health", proxy=proxy.url(scheme="socks5h"))

    assert answer.status_code == 200 and answer.json() == {"ok": True}
    # dante logs the request as the client sent it: a domain name (ATYP 3), not an address.
    assert f"ATYP: 3 address: localhost.{sim.port}" in proxy.log_text()


def test_proxy_credentials_never_reach_the_simulator_or_the_solver_answers(
    sim, solver, start_tinyproxy, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    sim.add_account("tok-egress")
    proxy = start_tinyproxy("127.0.0.11", credentials=CREDENTIALS)

    solved = solver.solve(sim.base_url + "/", proxy=proxy.flaresolverr_proxy())
    clearance = next(c["value"] for c in solved["solution"]["cookies"]
                     if c["name"] == "cf_clearance")
    assert rate_limits(sim, proxy=proxy.url(), clearance=clearance).status_code == 200
    dead = {"url": "http://127.0.0.1:9", **proxy.flaresolverr_proxy()}
    dead["url"] = "http://127.0.0.1:9"
    failed = solver.solve(sim.base_url + "/", proxy=dead)

    assert failed["status"] == "error" and "http://127.0.0.1:9" in failed["message"]
    encoded = base64.b64encode(b"egress-user:pr0xy-s3cret").decode()
    seen = [str(solved), str(failed), str(sim.requests()), caplog.text]
    for text in seen:
        assert CREDENTIALS.password not in text and encoded not in text
        assert CREDENTIALS.username not in text


def test_the_solver_answers_errors_in_flaresolverr_shape(sim, solver):
    solver.fail_next(1, message="Error solving the challenge. Timeout after 1.0 seconds.")

    failed = solver.solve(sim.base_url + "/")
    recovered = solver.solve(sim.base_url + "/")

    assert failed["status"] == "error" and "Timeout" in failed["message"]
    assert {"startTimestamp", "endTimestamp", "version"} <= failed.keys()
    assert recovered["status"] == "ok" and sim.clearances_issued("127.0.0.1") == 1
