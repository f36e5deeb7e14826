"""Fuzzing the HTTP API from its own OpenAPI description (schemathesis): no input gets a 5xx.

A real server (uvicorn on loopback, auth on, a fresh SQLite or PostgreSQL store) answers every generated
request; 2xx answers must also match the documented response schema. Bounded: at most
``MAX_EXAMPLES`` requests per operation. Every operation of the OpenAPI document is fuzzed; the SSE
stream (endless by design) is read up to its headers and then closed, so only its status counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.server.harness import Served, served

MAX_EXAMPLES = 25
#: Operations whose answer never ends by design: only their status (and headers) are checked.
STREAMS = {"events_stream"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        backing = f"sqlite:///{tmp}/store.db"
    else:
        backing = request.getfixturevalue("pg_server").new_database()
    with served(backing, Path(tmp), auth=True) as s:
        yield s


@pytest.fixture(scope="module")
def fuzz_key(fuzz_server: Served) -> str:
    return fuzz_server.store.create_api_key("fuzz")[1]


def test_no_input_gets_a_server_error(fuzz_server: Served, fuzz_key: str) -> None:
    # Operations are driven one by one here rather than with schemathesis' pytest integration,
    # whose lazy-fixture loader does not support this pytest version.
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    failures: list[str] = []
    tested = 0
    calls = 0
    documented = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        documented += 1
        tested += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same inputs on every run: CI must not pass or fail by chance
        )
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            if case.operation.path == "/api/v1/events" and isinstance(case.query, dict):
                case.query["wait"] = 0  # long-polls would make the run slow, not different
            if case.operation.definition.raw.get("operationId") in STREAMS:
                kwargs = case.as_transport_kwargs(base_url=fuzz_server.url, headers=headers)
                with requests.request(**kwargs, stream=True, timeout=10) as streamed:
                    assert streamed.status_code < 500, f"{case.as_curl_command()} -> {streamed.status_code}"
                return
            response = case.call(headers=headers, timeout=10)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    print(f"fuzzed {tested} of {documented} operations with {calls} requests")
    assert tested == documented >= 50 and calls >= 10 * tested  # most operations get the full MAX_EXAMPLES
    assert not failures, "\n\n".join(failures)
