"""The network, audit, ingress-hardening, deletion and app-server invariants (infra/plan/invariants/) can fail:
each broken plan is reported."""

from __future__ import annotations

import copy

import pytest

from infra.plan.invariants.checks import check_invariants
from tests.unit.conftest import evaluate, stack_evaluation, verifying

APP_SERVER = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def _prod():
    return verifying({"liveness:lifecycle": "prod", "liveness:dnsMode": "create",
                      "liveness:faceAllowedClientCidrs": ["10.60.1.0/24"],
                      "liveness:faceAppServerPrincipalIds": [APP_SERVER]})


def _rules(ev, nsg):
    return ev.named(nsg).inputs["securityRules"]


def _rule(ev, nsg, name):
    return next(r for r in _rules(ev, nsg) if r["name"] == name)


def _env(ev):
    return ev.one("azure-native:app:ManagedEnvironment").inputs


def _remove(ev, name):
    ev.resources.remove(ev.named(name))


MUTATIONS = {
    # NSGs
    "priority above 4096": (lambda ev: _rule(ev, "network-endpoints-nsg", "deny-all-in").update(priority=4097), "outside Azure's"),
    "priority below 100": (lambda ev: _rule(ev, "network-apps-nsg", "allow-http-in").update(priority=99), "outside Azure's"),
    "duplicate priority": (lambda ev: _rule(ev, "network-apps-nsg", "allow-https-in").update(priority=100), "share priority"),
    "no https edge port": (lambda ev: _rule(ev, "network-apps-nsg", "allow-https-in").update(destinationPortRanges=["443"]), "31443"),
    "no http rule": (lambda ev: _rules(ev, "network-apps-nsg").remove(_rule(ev, "network-apps-nsg", "allow-http-in")), "31080"),
    "no lb probes": (
        lambda ev: _rule(ev, "network-apps-nsg", "allow-lb-probes-in").update(sourceAddressPrefix="Internet"),
        "AzureLoadBalancer",
    ),
    "deny on apps": (lambda ev: _rules(ev, "network-apps-nsg").append(
        {"name": "deny-x", "priority": 4000, "direction": "Inbound", "access": "Deny", "protocol": "*",
         "sourceAddressPrefix": "*", "destinationPortRange": "*"}), "deny rules"),
    "endpoint open to vnet": (lambda ev: _rule(ev, "network-endpoints-nsg", "allow-https-from-clients")["sourceAddressPrefixes"]
                              .append("VirtualNetwork"), "'VirtualNetwork'"),
    "endpoint open to wider range": (lambda ev: _rule(ev, "network-endpoints-nsg", "allow-https-from-clients")["sourceAddressPrefixes"]
                                     .append("10.0.0.0/8"), "'10.0.0.0/8'"),
    "endpoint extra port": (lambda ev: _rule(ev, "network-endpoints-nsg", "allow-https-from-clients").update(
        destinationPortRange="*"), "only port 443"),
    "endpoint no deny-all": (lambda ev: _rules(ev, "network-endpoints-nsg").remove(
        _rule(ev, "network-endpoints-nsg", "deny-all-in")), "deny-all"),
    "endpoint nsg detached": (lambda ev: ev.named("network-endpoints-subnet").inputs.pop("networkSecurityGroup"), "endpoints subnet"),
    "endpoint policies off": (lambda ev: ev.named("network-endpoints-subnet").inputs.update(
        privateEndpointNetworkPolicies="Disabled"), "privateEndpointNetworkPolicies"),
    # diagnostics
    "no diagnostic setting": (lambda ev: _remove(ev, "face-diagnostics"), "one diagnostic setting"),
    "audit log off": (lambda ev: ev.named("face-diagnostics").inputs["logs"][0].update(enabled=False), "Audit"),
    "request log missing": (lambda ev: ev.named("face-diagnostics").inputs["logs"].pop(), "RequestResponse"),
    "metrics off": (lambda ev: ev.named("face-diagnostics").inputs.update(metrics=[]), "AllMetrics"),
    "other workspace": (lambda ev: ev.named("face-diagnostics").inputs.update(workspaceId="/x/workspaces/elsewhere"), "workspace"),
    "retention drift": (lambda ev: ev.named("proxy-logs").inputs.update(retentionInDays=30), "retention"),
    # environment
    "peer encryption off": (lambda ev: _env(ev).update(peerTrafficConfiguration={"encryption": {"enabled": False}}), "peer traffic"),
    "public access unstated": (lambda ev: _env(ev).pop("publicNetworkAccess"), "publicNetworkAccess"),
    "default infra rg": (lambda ev: _env(ev).pop("infrastructureResourceGroup"), "infrastructureResourceGroup"),
    "plain shared key": (lambda ev: _env(ev).update(appLogsConfiguration={"logAnalyticsConfiguration": {"sharedKey": "k"}}), "shared key"),
    # locks
    "account unlocked": (lambda ev: _remove(ev, "face-account-lock"), "the Face account"),
    "endpoint unlocked": (lambda ev: _remove(ev, "face-pe-lock"), "the private endpoint"),
    "zone unlocked": (lambda ev: _remove(ev, "dns-zone-lock"), "the public zone"),
    "whole zone locked instead of its SOA": (lambda ev: ev.named("dns-zone-lock").inputs.update(
        scope=ev.named("dns-zone-lock").inputs["scope"].removesuffix("/SOA/@")), "the public zone"),
    "record unlocked": (lambda ev: _remove(ev, "dns-azaiverify-lock"), "the verification record"),
    "read-only is not the lock": (lambda ev: ev.named("face-pe-lock").inputs.update(level="NotSpecified"), "the private endpoint"),
    # roles
    "broader role": (lambda ev: ev.named("face-role-0").inputs.update(
        roleDefinitionId="/subscriptions/0/providers/Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908"),
        "Face Recognizer"),
    "role on the group": (lambda ev: ev.named("face-role-0").inputs.update(scope="/subscriptions/0/resourceGroups/rg"), "scoped"),
    "role missing": (lambda ev: _remove(ev, "face-role-0"), "differ"),
    # teardown order
    "certificate not deleted_with": (lambda ev: setattr(ev.named("proxy-managed-cert"), "deleted_with", None), "CertificateInUse"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_broken_platform_invariant_is_reported(name):
    mutate, fragment = MUTATIONS[name]
    ev = _prod()
    assert check_invariants(ev) == []
    ev = copy.deepcopy(ev)
    mutate(ev)
    messages = [f.message for f in check_invariants(ev)]
    assert any(fragment in m for m in messages), messages


@pytest.mark.parametrize("lifecycle", ["test", "ephemeral"])
def test_a_lock_in_a_test_or_ephemeral_stack_is_reported(lifecycle):
    ev = copy.deepcopy(evaluate({"liveness:lifecycle": lifecycle}, stack="pr-8"))
    assert check_invariants(ev) == []
    ev.resources.append(copy.deepcopy(_prod().named("face-account-lock")))
    findings = check_invariants(ev)
    assert [f.invariant for f in findings] == ["management-locks"]
    assert "teardown" in findings[0].message


# --- the app server's path to the account -------------------------------------------------------

APP_SERVER = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _path_findings(ev):
    return [f for f in ev.findings if f.invariant == "app-server-path"]


def test_prod_without_a_path_for_the_app_server_is_a_finding_with_the_fix():
    (finding,) = _path_findings(evaluate({"liveness:lifecycle": "prod"}))
    assert finding.severity == "warning"
    assert "faceAllowedClientCidrs" in finding.message and "faceAppServerPrincipalIds" in finding.message
    assert "cannot create liveness sessions" in finding.message


@pytest.mark.parametrize("overrides", [
    {"liveness:faceAllowedClientCidrs": ["10.60.1.0/24"]},
    {"liveness:faceAppServerPrincipalIds": [APP_SERVER]},
])
def test_either_path_for_the_app_server_clears_the_finding(overrides):
    assert _path_findings(evaluate({"liveness:lifecycle": "prod", **overrides})) == []


def test_test_stacks_are_not_asked_for_an_app_server_path():
    assert _path_findings(evaluate()) == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_shipped_prod_like_stacks_are_told_they_have_no_path(stack):
    assert len(_path_findings(stack_evaluation(stack))) == 1
