"""Only the configured app servers may create liveness sessions: Face Recognizer on the account,
nothing broader, for exactly `faceAppServerPrincipalIds`; and a warning when a prod-like stack gives
the app server neither a role nor a network path.
"""

from __future__ import annotations

from typing import Iterable

from components.shared_interfaces import FACE_RECOGNIZER_ROLE_ID
from infra.plan.invariants.inputs import T_ROLE, finding
from infra.plan.model import Evaluation, Finding


def check_role_assignments(ev: Evaluation) -> Iterable[Finding]:
    inv = "app-server-access"
    configured = set(ev.settings.operations.app_server_principal_ids)
    account_suffix = f"/accounts/{ev.settings.face.account_name}"
    assigned = set()
    for role in ev.by_type(T_ROLE):
        if not str(role.inputs.get("scope", "")).endswith(account_suffix):
            yield finding(inv, "app-server roles must be scoped to the Face account only", role.name)
        if not str(role.inputs.get("roleDefinitionId", "")).endswith(f"/roleDefinitions/{FACE_RECOGNIZER_ROLE_ID}"):
            yield finding(inv, "app servers get Cognitive Services Face Recognizer, nothing broader", role.name)
        assigned.add(str(role.inputs.get("principalId", "")).lower())
    if assigned != configured:
        yield finding(inv, f"role assignments for {sorted(assigned)} differ from faceAppServerPrincipalIds "
                           f"{sorted(configured)}")


def check_app_server_path(ev: Evaluation) -> Iterable[Finding]:
    """A prod-like stack with neither a network path nor a role for the app server outside the apps
    subnet: the endpoint NSG admits only the apps subnet and no identity may create sessions."""
    s = ev.settings
    if not s.prod_like or s.network.endpoint_client_cidrs or s.operations.app_server_principal_ids:
        return
    yield finding("app-server-path", (
        "neither faceAllowedClientCidrs nor faceAppServerPrincipalIds is set: the private endpoint admits only "
        "the proxy's subnet and no identity holds Face Recognizer on the account, so your app server cannot "
        "create liveness sessions; set faceAllowedClientCidrs to its subnet and faceAppServerPrincipalIds to "
        "its managed identity's object id"), severity="warning")
