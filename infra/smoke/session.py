"""`smoke --session`: a real liveness session, created privately, started through the proxy.

The app server's half of Microsoft's Step 4: create a session with the Face SDK
(``azure.ai.vision.face.FaceSessionClient.create_liveness_session``) over the private path with
azure-identity's ``DefaultAzureCredential``, call ``session/start`` through the proxy with the
session's auth token as a client device would, report Face's status, and always delete the session.

The Face client is injected (``client_factory``) so tests drive this with a fake; the real one
needs credentials and a network path to the account's private endpoint, i.e. it runs where the
app server runs. The session token is never printed.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Protocol

from infra.smoke.judge_http import signature
from infra.smoke.model import FailureClass, HttpAttempt, Outcome, Verdict

CHECK = "session"
# Shortest lifetime Face accepts (60-86400 s): the smoke session is deleted right away anyway.
TOKEN_TTL_SECONDS = 60


class SessionClient(Protocol):
    def create_liveness_session(self, body: Any, **kwargs: Any) -> Any: ...

    def delete_liveness_session(self, session_id: str, **kwargs: Any) -> None: ...


ClientFactory = Callable[[str, str], SessionClient]
# (session token) -> the attempt of POST /face/{v}/session/start through the proxy
StartThroughProxy = Callable[[str], HttpAttempt]


def face_session_client(endpoint: str, api_version: str) -> SessionClient:
    """The real client: Face SDK + DefaultAzureCredential (imported here: only --session needs them)."""
    from azure.ai.vision.face import FaceSessionClient
    from azure.identity import DefaultAzureCredential

    return FaceSessionClient(endpoint=endpoint, credential=DefaultAzureCredential(), api_version=api_version)


def session_request() -> Any:
    from azure.ai.vision.face.models import CreateLivenessSessionContent, LivenessOperationMode

    return CreateLivenessSessionContent(
        liveness_operation_mode=LivenessOperationMode.PASSIVE,
        device_correlation_id=str(uuid.uuid4()),
        auth_token_time_to_live_in_seconds=TOKEN_TTL_SECONDS,
    )


def _create_failure(endpoint: str, exc: Exception) -> Verdict:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    if isinstance(exc, ClientAuthenticationError):
        return Verdict(CHECK, Outcome.FAIL, f"could not create a session at {endpoint}: {text}",
                       "run with the app server's identity (DefaultAzureCredential: managed identity, az login, or "
                       "AZURE_CLIENT_ID/SECRET/TENANT_ID); it needs the Cognitive Services Face Recognizer role on the "
                       "account (liveness:faceAppServerPrincipalIds)",
                       FailureClass.FORBIDDEN)
    if isinstance(exc, ServiceRequestError):
        return Verdict(CHECK, Outcome.UNREACHABLE, f"{endpoint} cannot be reached from here: {text}",
                       "--session must run inside the network (where the app server runs): the account has public "
                       "network access disabled and resolves to its private endpoint only there",
                       FailureClass.CONNECT)
    if isinstance(exc, HttpResponseError) and exc.status_code == 404:
        return Verdict(CHECK, Outcome.FAIL, f"Face does not know the session route at this API version: {text}",
                       "pass a version the account serves with --session-api-version (the SDK's paths must match)")
    if isinstance(exc, HttpResponseError):
        return Verdict(CHECK, Outcome.FAIL, f"Face refused to create a session ({exc.status_code}): {text}",
                       "check the account's networkAcls (this machine's network must be allowed through the private "
                       "endpoint) and the identity's role", FailureClass.FORBIDDEN)
    return Verdict(CHECK, Outcome.FAIL, f"could not create a session at {endpoint}: {type(exc).__name__}: {text}",
                   "check the account endpoint (faceEndpointHost) and the Face SDK's error above")


def judge_start(attempt: HttpAttempt, session_id: str) -> Verdict:
    if attempt.answer is None:
        return Verdict(CHECK, Outcome.FAIL, f"session/start through the proxy: no answer ({attempt.error})",
                       "see the route checks", FailureClass.CONNECT, {"sessionId": session_id})
    a = attempt.answer
    sig = signature(a)
    details = {"sessionId": session_id, "status": a.status}
    if sig.error_code:
        details["faceErrorCode"] = sig.error_code
    if not sig.face:
        return Verdict(CHECK, Outcome.FAIL, f"session/start with the token: {a.status} without Face's marks",
                       "the proxy did not forward the call: see the route checks", FailureClass.PARTIAL, details)
    if 200 <= a.status < 300:
        return Verdict(CHECK, Outcome.PASS, f"session {session_id}: session/start through the proxy answered "
                       f"{a.status}: the whole path client -> proxy -> Face works", details=details)
    if a.status in (401, 403):
        return Verdict(CHECK, Outcome.FAIL, f"session/start with a fresh token: Face answered {a.status} "
                       f"({sig.described})",
                       "Face rejects the token through this proxy: the proxy host is not registered for this account "
                       "(Step 1-3), or the token was not issued by this account", FailureClass.FORBIDDEN, details)
    return Verdict(CHECK, Outcome.WARN, f"session/start with the token: Face answered {a.status} ({sig.described}); "
                   "the token reached Face, but the empty smoke request is not a client SDK's",
                   "finish the check with the client SDK on a device (Step 4.1)", details=details)


def run_session_check(endpoint: str, api_version: str, start: StartThroughProxy,
                      client_factory: ClientFactory = face_session_client,
                      make_request: Callable[[], Any] = session_request) -> Verdict:
    """Create, start through the proxy, delete. Deletion is attempted whenever creation succeeded."""
    client = client_factory(endpoint, api_version)
    try:
        created = client.create_liveness_session(make_request())
    except Exception as exc:  # noqa: BLE001 - every SDK error becomes a verdict
        return _create_failure(endpoint, exc)
    session_id = str(created.session_id)
    try:
        verdict = judge_start(start(str(created.auth_token)), session_id)
    finally:
        try:
            client.delete_liveness_session(session_id)
            deleted = ""
        except Exception as exc:  # noqa: BLE001
            deleted = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    if deleted:
        details = dict(verdict.details, deleteError=deleted)
        outcome = Outcome.WARN if verdict.outcome is Outcome.PASS else verdict.outcome
        return Verdict(CHECK, outcome, verdict.summary + f"; deleting the session failed ({deleted}); it expires "
                       "on its own", verdict.fix, verdict.failure_class, details)
    return verdict
