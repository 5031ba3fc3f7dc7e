"""The platform resources under the mock runtime: teardown order of the certificate, NSGs, diagnostics, the
environment's settings, management locks and app-server access, on the provider's inputs."""

from __future__ import annotations

import copy

import pytest

from components import nsg_rules, shared_interfaces
from infra.plan import delete_order
from infra.config.loader import parse_settings
from infra.errors import ConfigError
from tests.unit.conftest import BASE_CONFIG, evaluate, stack_evaluation, verifying

T_CERT = "azure-native:app:ManagedCertificate"
T_KV_CERT = "azure-native:app:Certificate"
T_LOCK = "azure-native:authorization:ManagementLockByScope"
T_ROLE = "azure-native:authorization:RoleAssignment"
T_DIAG = "azure-native:monitor:DiagnosticSetting"
T_ENV = "azure-native:app:ManagedEnvironment"
T_WORKSPACE = "azure-native:operationalinsights:Workspace"
KV = {
    "liveness:proxyCertificateSource": "keyvault",
    "liveness:proxyKeyVaultCertificateUrl": "https://kv-liveness.vault.azure.net/secrets/liveness",
    "liveness:proxyKeyVaultIdentity": "/subscriptions/1/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kv-reader",  # noqa: E501 -- one resource id / URN / message kept whole so it greps
}
MODES = {
    "auto": {"liveness:proxyDomainBinding": "auto"},
    "bootstrap": {"liveness:proxyDomainBinding": "bootstrap"},
    "bound": {"liveness:proxyDomainBinding": "bound"},
    "keyvault": KV,
}
APP_SERVER = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def _settings(overrides):
    raw = {k.split(":", 1)[1]: v for k, v in {**BASE_CONFIG, **overrides}.items()}
    return parse_settings("unit", raw)


# --- 1. teardown: the certificate's delete order, in every certificate mode --------------------


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("lifecycle", ["test", "ephemeral"])
def test_destroy_never_deletes_a_certificate_while_the_app_binds_it(mode, lifecycle):
    ev = evaluate({**MODES[mode], "liveness:lifecycle": lifecycle}, stack="pr-3" if lifecycle == "ephemeral" else "unit")
    cert_type = T_KV_CERT if mode == "keyvault" else T_CERT
    cert = ev.one(cert_type)
    assert cert.deleted_with == "proxy-env"
    steps = {s.name: i for i, s in enumerate(delete_order.destroy_steps(ev.resources))}
    step = delete_order.destroy_steps(ev.resources)[steps[cert.name]]
    assert step.skipped_because == "proxy-env" and not step.deleted
    # The app (which binds the hostname) goes before the environment that takes the certificate along.
    assert steps["proxy-app"] < steps["proxy-env"]
    assert delete_order.certificate_teardown_problems(ev.resources) == []
    # Nothing that teardown meets is protected or locked.
    assert [r.name for r in ev.resources if r.protect] == []
    assert ev.by_type(T_LOCK) == []


@pytest.mark.parametrize("mode", ["auto", "bootstrap", "bound"])
def test_without_deleted_with_the_managed_certificate_goes_first_and_fails(mode):
    """The dependency on the app alone makes Pulumi delete the certificate before the app."""
    ev = copy.deepcopy(evaluate(MODES[mode]))
    cert = ev.one(T_CERT)
    cert.deleted_with = None
    order = [s.name for s in delete_order.destroy_steps(ev.resources)]
    assert order.index(cert.name) < order.index("proxy-app")
    assert delete_order.depends_on(ev.resources, cert.name, "proxy-app")
    assert [name for name, _ in delete_order.certificate_teardown_problems(ev.resources)] == [cert.name]


def test_keyvault_binding_already_orders_the_app_first():
    """The app takes the Key Vault certificate's id as input: it depends on it and is deleted first."""
    ev = copy.deepcopy(evaluate(KV))
    cert = ev.one(T_KV_CERT)
    assert delete_order.depends_on(ev.resources, "proxy-app", cert.name)
    cert.deleted_with = None
    assert delete_order.certificate_teardown_problems(ev.resources) == []


def test_deleted_with_must_name_the_certificates_own_environment():
    ev = copy.deepcopy(evaluate())
    ev.one(T_CERT).deleted_with = "proxy-logs"
    assert delete_order.certificate_teardown_problems(ev.resources)


# --- 2. NSGs ------------------------------------------------------------------------------------


def test_apps_nsg_states_microsofts_workload_profile_inbound_rules():
    rules = {r["name"]: r for r in evaluate().named("network-apps-nsg").inputs["securityRules"]}
    assert rules["allow-http-in"]["destinationPortRanges"] == ["80", "31080"]
    assert rules["allow-https-in"]["destinationPortRanges"] == ["443", "31443"]
    assert rules["allow-lb-probes-in"]["sourceAddressPrefix"] == "AzureLoadBalancer"
    assert rules["allow-lb-probes-in"]["destinationPortRange"] == "30000-32767"
    assert {r["protocol"] for r in rules.values()} == {"Tcp"}
    assert {r["destinationAddressPrefix"] for r in rules.values()} == {"10.40.0.0/23"}
    assert all(r["access"] == "Allow" for r in rules.values())


def test_rule_builders_keep_priorities_in_azures_range_for_any_number_of_clients():
    many = tuple(f"10.{i // 256}.{i % 256}.0/24" for i in range(500))
    for rules in (nsg_rules.apps_rules("10.0.0.0/23"), nsg_rules.endpoint_rules("10.1.0.0/27", "10.0.0.0/23", many)):
        priorities = [r.priority for r in rules]
        assert all(nsg_rules.MIN_PRIORITY <= p <= nsg_rules.MAX_PRIORITY for p in priorities)
        assert len(priorities) == len(set(priorities))
    allow = nsg_rules.endpoint_rules("10.1.0.0/27", "10.0.0.0/23", ("10.0.0.0/23", *many))[0]
    assert allow.sources.count("10.0.0.0/23") == 1 and len(allow.sources) == 501


def test_endpoints_subnet_enforces_its_nsg_on_private_endpoint_traffic():
    subnet = evaluate().named("network-endpoints-subnet")
    assert subnet.inputs["privateEndpointNetworkPolicies"] == "Enabled"
    assert subnet.inputs["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/fl-unit-pe-nsg")


# --- 3. diagnostics and retention ---------------------------------------------------------------


def test_account_sends_audit_request_response_and_metrics_to_the_workspace():
    ev = evaluate()
    setting = ev.one(T_DIAG)
    assert setting.inputs["resourceUri"].endswith("/accounts/fl-unit-face")
    assert setting.inputs["workspaceId"].endswith("/workspaces/fl-unit-logs")
    assert setting.inputs["logs"] == [{"category": "Audit", "enabled": True}, {"category": "RequestResponse", "enabled": True}]
    assert setting.inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]
    assert setting.parent == "face" and set(setting.dependencies) >= {"face-account", "proxy-logs"}


@pytest.mark.parametrize("overrides,days", [
    ({}, 30),
    ({"liveness:lifecycle": "prod"}, 90),
    ({"liveness:logRetentionDays": 180}, 180),
    ({"liveness:lifecycle": "prod", "liveness:logRetentionDays": 365}, 365),
])
def test_log_retention_follows_config(overrides, days):
    assert evaluate(overrides).one(T_WORKSPACE).inputs["retentionInDays"] == days


@pytest.mark.parametrize("value", [29, 731, "ninety"])
def test_log_retention_out_of_range_names_the_key(value):
    with pytest.raises(ConfigError, match="liveness:logRetentionDays"):
        _settings({"liveness:logRetentionDays": value})


def test_no_shared_key_in_plain_inputs_or_outputs():
    ev = evaluate()
    assert ev.one(T_ENV).inputs["appLogsConfiguration"] == "[secret]"
    assert "offline-mock-shared-key" not in repr(ev.outputs)
    assert "offline-mock-shared-key" not in repr([r.inputs for r in ev.resources])


# --- 4. the environment ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "pr"])
def test_environment_encrypts_peer_traffic_and_states_its_settings(stack):
    ev = stack_evaluation(stack)
    env = ev.one(T_ENV).inputs
    assert env["peerTrafficConfiguration"] == {"encryption": {"enabled": True}}
    assert env["infrastructureResourceGroup"] == f"rg-{ev.settings.name_prefix}-cae-infra"
    assert env["publicNetworkAccess"] == "Enabled" and env["vnetConfiguration"]["internal"] is False


# --- 5. management locks --------------------------------------------------------------------------


def _locks(ev):
    return {r.name: r for r in ev.by_type(T_LOCK)}


def test_prod_locks_account_endpoint_zone_and_verification_record():
    ev = verifying({"liveness:lifecycle": "prod", "liveness:dnsMode": "create"})
    locks = _locks(ev)
    targets = {"face-account-lock": "face-account", "face-pe-lock": "face-pe",
               "dns-zone-lock": "dns-zone", "dns-azaiverify-lock": "dns-azaiverify"}
    assert set(locks) == set(targets)
    for lock in locks.values():
        assert lock.inputs["level"] == "CanNotDelete"
    rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fl-unit/providers/"
    assert {n: lock.inputs["scope"] for n, lock in locks.items()} == {
        "face-account-lock": rg + "Microsoft.CognitiveServices/accounts/fl-unit-face",
        "face-pe-lock": rg + "Microsoft.Network/privateEndpoints/fl-unit-face-pe",
        # The zone through its SOA: zone deletion stops there, the stack's own records stay deletable.
        "dns-zone-lock": rg + "Microsoft.Network/dnszones/dev.contoso.com/SOA/@",
        "dns-azaiverify-lock": rg + "Microsoft.Network/dnszones/dev.contoso.com/TXT/azaiverify.liveness",
    }
    for name, target in targets.items():
        lock = locks[name]
        # Scoped by the target's id: created after it, deleted before it (a record removed by config
        # loses its lock first); never the target's child; protected itself, so a destroy after
        # `pulumi state unprotect <account>` stops at the locks.
        assert target in lock.dependencies and lock.parent != target and lock.protect


def test_prod_stack_file_locks_what_it_owns():
    locks = {r.inputs["scope"].rsplit("/", 2)[-2] for r in stack_evaluation("prod").by_type(T_LOCK)}
    assert locks == {"accounts", "privateEndpoints"}  # zone is the org's (existing), no code configured


def test_removing_the_verification_code_drops_the_record_lock_before_the_record():
    before = verifying({"liveness:lifecycle": "prod"})
    assert "dns-azaiverify-lock" in _locks(before)
    steps = [s.name for s in delete_order.destroy_steps(before.resources)]
    assert steps.index("dns-azaiverify-lock") < steps.index("dns-azaiverify")
    after = evaluate({"liveness:lifecycle": "prod"})
    assert "dns-azaiverify-lock" not in _locks(after)


def test_locks_are_lifted_by_an_explicit_key():
    ev = verifying({"liveness:lifecycle": "prod", "liveness:managementLocks": False,
                    "liveness:faceAllowedClientCidrs": ["10.60.1.0/24"]})
    assert ev.by_type(T_LOCK) == [] and ev.findings == []


@pytest.mark.parametrize("lifecycle", ["test", "ephemeral"])
def test_test_and_ephemeral_stacks_get_no_lock_and_refuse_one(lifecycle):
    assert evaluate({"liveness:lifecycle": lifecycle}, stack="pr-5").by_type(T_LOCK) == []
    with pytest.raises(ConfigError, match="liveness:managementLocks"):
        _settings({"liveness:lifecycle": lifecycle, "liveness:managementLocks": True})


# --- 6. app-server access ---------------------------------------------------------------------------


def test_no_role_assignment_unless_configured():
    assert evaluate().by_type(T_ROLE) == []


def test_app_server_gets_face_recognizer_on_the_account_only():
    ev = evaluate({"liveness:faceAppServerPrincipalIds": [APP_SERVER.upper()]})
    (role,) = ev.by_type(T_ROLE)
    assert role.inputs["scope"] == ev.outputs["faceAccountId"]
    assert role.inputs["roleDefinitionId"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/"
        + shared_interfaces.FACE_RECOGNIZER_ROLE_ID)
    assert role.inputs["principalId"] == APP_SERVER
    assert role.inputs["principalType"] == "ServicePrincipal"
    # The assignment name is a GUID derived from scope, principal and role: stable across runs.
    again = evaluate({"liveness:faceAppServerPrincipalIds": [APP_SERVER]}).one(T_ROLE)
    assert again.inputs["roleAssignmentName"] == role.inputs["roleAssignmentName"]


@pytest.mark.parametrize("value,fragment", [
    (["not-a-guid"], "GUIDs"),
    ([APP_SERVER, APP_SERVER.upper()], "once"),
    ([f"00000000-0000-0000-0000-{i:012d}" for i in range(21)], "at most 20"),
])
def test_bad_principal_ids_name_the_key(value, fragment):
    with pytest.raises(ConfigError, match="faceAppServerPrincipalIds") as info:
        _settings({"liveness:faceAppServerPrincipalIds": value})
    assert fragment in str(info.value) and len(str(info.value)) <= 300


def test_subscription_is_read_from_the_scope_id():
    assert shared_interfaces.subscription_of("/subscriptions/abc/resourceGroups/x") == "abc"
    with pytest.raises(ValueError):
        shared_interfaces.subscription_of("/mock/thing")


def test_private_endpoint_references_its_subnet_by_id_alone():
    """SubnetArgs(id=…) also sends the subnet defaults (privateEndpointNetworkPolicies: Disabled,
    privateLinkServiceNetworkPolicies: Enabled); the endpoint must send the reference and nothing else."""
    for e in (evaluate(), stack_evaluation("prod")):
        pe = e.one("azure-native:network:PrivateEndpoint")
        subnet_id = e.named("network-endpoints-subnet")
        assert list(pe.inputs["subnet"]) == ["id"], pe.inputs["subnet"]
        assert pe.inputs["subnet"]["id"].endswith("/subnets/" + subnet_id.inputs["subnetName"])


PRINCIPAL = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def test_each_lock_depends_on_everything_it_blocks():
    """The account's lock blocks its diagnostic setting and role assignments (extension resources)
    and the private endpoint (its connection lives on the account); the endpoint's lock blocks the
    zone group under it. Pulumi deletes dependents first, so the lock goes before any of them."""
    ev = verifying({"liveness:lifecycle": "prod", "liveness:dnsMode": "create",
                    "liveness:faceAppServerPrincipalIds": [PRINCIPAL]})
    locks = _locks(ev)
    assert {"face-account", "face-diagnostics", "face-role-0", "face-pe"} <= set(locks["face-account-lock"].dependencies)
    assert {"face-pe", "face-pe-zone-group"} <= set(locks["face-pe-lock"].dependencies)
    steps = [s.name for s in delete_order.destroy_steps(ev.resources)]
    for blocked in ("face-diagnostics", "face-role-0", "face-pe", "face-pe-zone-group"):
        lock = "face-pe-lock" if blocked == "face-pe-zone-group" else "face-account-lock"
        assert steps.index(lock) < steps.index(blocked), (lock, blocked)
