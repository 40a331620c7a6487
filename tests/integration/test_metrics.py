"""/metrics and the logs, on a real `talking serve` with two workers: who may read the metrics,
requests counted on Litestar's path and on the fast paths alike and added up over the workers, and
JSON log lines carrying the request id the response carries."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from talking.testing.surveys import publish_survey_at

from ..conftest import live_server

TOKEN = "metrics-reader-token-0123456789"
SUBMIT = "/api/v1/surveys/{survey_id}/responses"  # Litestar's path_template


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_counted(found: dict, route: str, method: str, status: int) -> float:
    return found.get(("talking_requests_total", (("method", method), ("route", route), ("status", str(status)))), 0)


def one_request(method: str, url: str, **kwargs: object) -> httpx.Response:
    """Each request on a new connection, so that the two workers share them."""
    with httpx.Client(timeout=10) as client:
        return client.request(method, url, **kwargs)


def test_metrics_are_for_the_token_holder_and_count_both_paths_over_two_workers(
    database_url: str, tmp_path: Path
) -> None:
    survey_id = publish_survey_at(database_url)
    metrics_dir = tmp_path / "metrics"
    env = {"TALKING_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with live_server(database_url, tmp_path, workers=2, extra_env=env) as server:
        refused = one_request("GET", f"{server.url}/metrics")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert "TALKING_METRICS_TOKEN" in refused.json()["detail"]
        wrong = one_request("GET", f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        posted = one_request("POST", f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert posted.status_code == 405

        body = {"district": "E07000123", "picks": ["burglary", "fraud"]}
        submit = f"{server.url}/api/v1/surveys/{survey_id}/responses"
        for _ in range(30):  # the fast path for submissions
            assert one_request("POST", submit, json=body).status_code == 201
        for _ in range(4):  # a refusal on the fast path
            bad = one_request("POST", submit, json={**body, "picks": []})
            assert bad.status_code == 422
        for _ in range(20):  # Litestar's path
            assert one_request("GET", f"{server.url}/api/v1/districts").status_code == 200
        for _ in range(10):  # the fast path for the resident pages
            assert one_request("GET", f"{server.url}/surveys/{survey_id}").status_code == 200
        for n in range(5):  # nothing there: one label for all
            assert one_request("GET", f"{server.url}/no-such-page-{n}").status_code == 404

        readings = []
        for _ in range(6):  # whichever worker answers, it answers for both
            shown = one_request("GET", f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert shown.status_code == 200
            assert shown.headers["content-type"].startswith("text/plain")
            assert shown.headers["cache-control"] == "no-store"
            readings.append(samples(shown.text))
    workers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(workers) == 2, f"both workers should have counted: {sorted(metrics_dir.iterdir())}"
    for found in readings:
        assert requests_counted(found, SUBMIT, "POST", 201) == 30
        assert requests_counted(found, SUBMIT, "POST", 422) == 4
        assert requests_counted(found, "/api/v1/districts", "GET", 200) == 20
        assert requests_counted(found, "/surveys/{survey_id}", "GET", 200) == 10
        assert requests_counted(found, "unmatched", "GET", 404) == 5
        assert requests_counted(found, "/metrics", "GET", 401) == 2
        assert found[("talking_responses_stored_total", ())] == 30
        assert found[("talking_writer_batch_size_sum", ())] == 30
        assert found[("talking_request_duration_seconds_count", (("route", SUBMIT),))] == 34
        assert ("talking_writer_queue_depth", ()) in found
    assert readings[-1] == readings[-1]
    # Reading the metrics counts too, so each reading has one more 200 than the one before.
    assert [requests_counted(found, "/metrics", "GET", 200) for found in readings] == [0, 1, 2, 3, 4, 5]


def test_metrics_answer_no_one_without_the_setting(database_url: str, tmp_path: Path) -> None:
    with live_server(database_url, tmp_path) as server:
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer anything"}):
            refused = one_request("GET", f"{server.url}/metrics", headers=headers)
            assert refused.status_code == 404
            assert refused.headers["content-type"] == "application/problem+json"


def test_json_logs_carry_the_request_id_the_response_carries(database_url: str, tmp_path: Path) -> None:
    survey_id = publish_survey_at(database_url)
    with live_server(database_url, tmp_path, workers=2, extra_env={"TALKING_LOG_FORMAT": "json"}) as server:
        answered = [
            one_request("GET", f"{server.url}/api/v1/districts"),
            one_request("POST", f"{server.url}/api/v1/surveys/{survey_id}/responses", json={"district": "E07000123"}),
            one_request("GET", f"{server.url}/surveys/{survey_id}"),
            one_request("GET", f"{server.url}/healthz", headers={"X-Request-Id": "proxy-id.42"}),
            one_request("GET", f"{server.url}/healthz", headers={"X-Request-Id": "not ok\u00e9".encode()}),
        ]
        log = server.log()
    ids = [response.headers["x-request-id"] for response in answered]
    assert ids[3] == "proxy-id.42"  # a sound id from the caller is kept
    assert ids[4] != "not ok" and len(set(ids)) == 5  # anything else gets a fresh one
    lines = [line for line in log.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    access = {entry["request_id"]: entry for entry in entries if entry["logger"] == "talking.access"}
    for response, request_id in zip(answered, ids, strict=True):
        entry = access[request_id]
        assert entry["status"] == response.status_code
        assert entry["path"] == response.request.url.path
        assert entry["level"] == "INFO" and entry["ms"] >= 0
