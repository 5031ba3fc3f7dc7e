"""`smoke --session`: a fake Face session client (the app server's private half) and the real
loopback path for `session/start` through the proxy with the session's token."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from azure.ai.vision.face.models import CreateLivenessSessionContent
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from infra.smoke.model import HttpAnswer, HttpAttempt
from infra.smoke.session import run_session_check, session_request
from tests.smoke.conftest import FACE_HOST, HOST
from tests.smoke.rig import face_like

pytestmark = [pytest.mark.proxy, pytest.mark.dns]

TOKEN = "tok-smoke-7d1f"


class FakeSessionClient:
    """Records calls like the Face SDK's FaceSessionClient (create, delete)."""

    def __init__(self, log: list, create_error: Exception | None = None, delete_error: Exception | None = None):
        self.log, self.create_error, self.delete_error = log, create_error, delete_error

    def create_liveness_session(self, body, **kwargs):
        self.log.append(("create", body))
        if self.create_error:
            raise self.create_error
        return SimpleNamespace(session_id="sess-0001", auth_token=TOKEN)

    def delete_liveness_session(self, session_id, **kwargs):
        self.log.append(("delete", session_id))
        if self.delete_error:
            raise self.delete_error


def factory(log: list, **errors):
    def make(endpoint: str, api_version: str):
        log.append(("client", endpoint, api_version))
        return FakeSessionClient(log, **errors)
    return make


def session_args(world) -> list[str]:
    return [*world.args(HOST, "--preflight", "refused"), "--session",
            "--face-endpoint", f"https://{FACE_HOST}"]


def test_session_created_started_through_the_proxy_and_deleted(smoke, smoke_world):
    smoke_world.standin.respond = face_like(session_token=TOKEN)
    log: list = []
    result = smoke(session_args(smoke_world), session_client=factory(log))
    assert result.code == 0, result.out
    session = result.checks("session")[0]
    assert session["outcome"] == "pass" and session["details"]["status"] == 200
    assert log[0] == ("client", f"https://{FACE_HOST}", "v1.2-preview.1")  # what the SDK implements
    assert log[1][0] == "create" and log[-1] == ("delete", "sess-0001")
    # The token went through nginx to Face as a bearer token, and is never printed.
    starts = [r for r in smoke_world.standin.records if r.header("authorization") == [f"Bearer {TOKEN}".encode()]]
    assert len(starts) == 1 and b"/face/v1.2-preview.1/session/start" in starts[0].request_line
    assert TOKEN not in result.out + result.err


def test_session_forbidden_by_face_still_deletes(smoke, smoke_world):
    log: list = []
    smoke_world.standin.respond = face_like(forbidden=True)
    result = smoke(session_args(smoke_world), session_client=factory(log))
    assert result.code == 1
    session = result.checks("session")[0]
    assert session["outcome"] == "fail" and session["failureClass"] == "403"
    assert log[-1] == ("delete", "sess-0001")


def test_token_not_accepted_is_a_403_class_failure(smoke, smoke_world):
    smoke_world.standin.respond = face_like(session_token="another-token")
    result = smoke(session_args(smoke_world), session_client=factory([]))
    session = result.checks("session")[0]
    assert result.code == 1 and session["outcome"] == "fail" and "401" in session["summary"]


def test_no_credentials_fails_with_the_identity_fix(smoke, smoke_world):
    log: list = []
    error = ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")
    result = smoke(session_args(smoke_world), session_client=factory(log, create_error=error))
    session = result.checks("session")[0]
    assert result.code == 1 and session["outcome"] == "fail" and "Cognitive Services Face Recognizer" in session["fix"]
    assert [entry[0] for entry in log] == ["client", "create"]  # nothing to delete


def test_private_endpoint_unreachable_from_here_exits_3(smoke, smoke_world):
    error = ServiceRequestError(f"Failed to resolve '{FACE_HOST}'")
    result = smoke(session_args(smoke_world), session_client=factory([], create_error=error))
    assert result.code == 3
    assert result.checks("session")[0]["outcome"] == "unreachable"
    assert "inside the network" in result.checks("session")[0]["fix"]


def test_retired_api_version_points_at_the_flag():
    from azure.core.exceptions import ResourceNotFoundError

    error = ResourceNotFoundError("(404) Resource not found")
    error.status_code = 404

    def never_started(token: str) -> HttpAttempt:
        raise AssertionError("the session was never created, so nothing may start through the proxy")

    verdict = run_session_check("https://a.cognitiveservices.azure.com", "v1.2-preview.1",
                                never_started, factory([], create_error=error))
    assert verdict.outcome.value == "fail" and "--session-api-version" in verdict.fix


def test_delete_failure_turns_a_pass_into_a_warning():

    answer = HttpAnswer(200, "OK", (("apim-request-id", "x"),), b"{}", 5.0)
    verdict = run_session_check("https://a.cognitiveservices.azure.com", "v1.2",
                                lambda token: HttpAttempt("POST", "/face/v1.2/session/start", answer),
                                factory([], delete_error=RuntimeError("boom")))
    assert verdict.outcome.value == "warn" and verdict.details["deleteError"] == "boom"


def test_session_request_is_the_sdk_model_with_a_short_ttl():
    body = session_request()
    assert isinstance(body, CreateLivenessSessionContent)
    assert body.liveness_operation_mode == "Passive" and body.auth_token_time_to_live_in_seconds == 60
    assert body.device_correlation_id and body.as_dict()["livenessOperationMode"] == "Passive"


def test_session_without_an_endpoint_is_a_usage_error(smoke, smoke_world):
    result = smoke([*smoke_world.args(), "--session"])
    assert result.code == 2 and "--face-endpoint" in result.err and result.out == ""
