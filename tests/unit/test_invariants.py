"""The invariant checker can fail: each broken plan yields the finding it should."""

from __future__ import annotations

import copy

import pytest

from infra.plan.invariants.checks import check_invariants
from tests.unit.conftest import evaluate, verifying


def broken(ev, mutate):
    ev = copy.deepcopy(ev)
    mutate(ev)
    return {(f.invariant, f.message) for f in check_invariants(ev)}


def _account(ev):
    return ev.one("azure-native:cognitiveservices:Account").inputs["properties"]


def _ingress(ev):
    return ev.one("azure-native:app:ContainerApp").inputs["configuration"]["ingress"]


MUTATIONS = {
    "public access enabled": (lambda ev: _account(ev).update(publicNetworkAccess="Enabled"), "publicNetworkAccess"),
    "acl allow": (lambda ev: _account(ev)["networkAcls"].update(defaultAction="Allow"), "defaultAction"),
    "no subdomain": (lambda ev: _account(ev).pop("customSubDomainName"), "custom subdomain"),
    "ip rule sneaked in": (lambda ev: _account(ev)["networkAcls"].update(ipRules=[{"value": "1.2.3.4"}]), "IP rules"),
    "wrong group": (lambda ev: ev.one("azure-native:network:PrivateEndpoint").inputs["privateLinkServiceConnections"][0]
                    .update(groupIds=["blob"]), "groupIds"),
    "endpoint outside vnet": (lambda ev: ev.one("azure-native:network:PrivateEndpoint").inputs["subnet"]
                              .update(id="/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/other/subnets/other"),
                              "subnet of the stack's VNet"),
    "zone not global": (lambda ev: ev.one("azure-native:privatedns:PrivateZone").inputs.update(location="westeurope"), "global"),
    "zone unlinked": (lambda ev: ev.resources.remove(ev.one("azure-native:privatedns:VirtualNetworkLink")), "linked"),
    "no zone group": (lambda ev: ev.resources.remove(ev.one("azure-native:network:PrivateDnsZoneGroup")), "zone group"),
    "env outside vnet": (lambda ev: ev.one("azure-native:app:ManagedEnvironment").inputs["vnetConfiguration"]
                         .update(infrastructureSubnetId="/x/subnets/elsewhere"), "injected"),
    "internal ingress": (lambda ev: _ingress(ev).update(external=False), "external"),
    "insecure allowed": (lambda ev: _ingress(ev).update(allowInsecure=True), "allowInsecure"),
    "tcp transport": (lambda ev: _ingress(ev).update(transport="tcp"), "transport"),
    "extra port": (lambda ev: _ingress(ev).update(additionalPortMappings=[{"targetPort": 8081}]), "only the target port"),
    "no custom domain": (lambda ev: _ingress(ev).update(customDomains=[]), "custom domain"),
    "no cname": (lambda ev: ev.resources.remove(ev.named("dns-cname")), "CNAME"),
    "no asuid": (lambda ev: ev.resources.remove(ev.named("dns-asuid")), "asuid"),
    "no azaiverify": (lambda ev: ev.resources.remove(ev.named("dns-azaiverify")), "azaiverify"),
    "plain code": (lambda ev: ev.named("dns-azaiverify").inputs.update(txtRecords=[{"value": ["leaked"]}]), "secret"),
    "plain code output": (lambda ev: ev.outputs.update(verificationCode="leaked"), "secret"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_broken_invariant_is_reported(name):
    mutate, fragment = MUTATIONS[name]
    ev = verifying({"liveness:dnsMode": "create"})
    assert check_invariants(ev) == []
    findings = broken(ev, mutate)
    assert any(fragment in message for _, message in findings), findings


def test_an_ipv6_vnet_prefix_beside_the_ipv4_one_is_checked_not_crashed_on():
    """A dual-stack address space: the IPv4 subnets still lie inside the VNet; an IPv4 subnet is
    never compared with the IPv6 prefix (ipaddress would raise TypeError)."""
    ev = verifying({"liveness:dnsMode": "create"})
    vnet_space = ev.one("azure-native:network:VirtualNetwork").inputs["addressSpace"]["addressPrefixes"]
    assert broken(ev, lambda e: e.one("azure-native:network:VirtualNetwork").inputs["addressSpace"]
                  .update(addressPrefixes=["fd00:40::/48", *vnet_space])) == set()
    only_v6 = broken(ev, lambda e: e.one("azure-native:network:VirtualNetwork").inputs["addressSpace"]
                     .update(addressPrefixes=["fd00:40::/48"]))
    assert any("subnet of the stack's VNet" in message for _, message in only_v6), only_v6


def test_unprotected_prod_resources_are_reported():
    ev = verifying({"liveness:lifecycle": "prod", "liveness:dnsMode": "create",
                    "liveness:faceAppServerPrincipalIds": ["6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]})
    assert check_invariants(ev) == []

    def unprotect(e):
        for r in e.resources:
            r.protect = False

    findings = broken(ev, unprotect)
    assert {inv for inv, _ in findings} == {"prod-protection"}
    assert len(findings) == 3  # account, zone, verification record


def test_policy_mode_must_not_declare_a_zone_group():
    ev = evaluate({"liveness:privateDnsMode": "policy"})
    ev = copy.deepcopy(ev)
    ev.resources.append(copy.deepcopy(evaluate().one("azure-native:network:PrivateDnsZoneGroup")))
    assert any("Azure Policy" in f.message for f in check_invariants(ev))


def test_proxy_config_checks_catch_a_wrong_sni(monkeypatch):
    from components import proxy_config

    ev = evaluate()
    real = proxy_config.render_nginx_config
    monkeypatch.setattr(proxy_config, "render_nginx_config",
                        lambda s: real(s).replace(s.face_host, "evil.example.com")
                        .replace("Host $liveness_upstream_host;", "Host evil.example.com;"))
    messages = [f.message for f in check_invariants(ev)]
    assert any("SNI" in m for m in messages) and any("Host header" in m for m in messages)


@pytest.mark.parametrize("variable", ["$http_authorization", "$http_cookie", "$request_body",
                                      "$http_ocp_apim_subscription_key"])
def test_access_log_with_credentials_is_reported(monkeypatch, variable):
    from components import proxy_config

    ev = evaluate()
    assert check_invariants(ev) == []
    real = proxy_config.render_nginx_config
    monkeypatch.setattr(proxy_config, "render_nginx_config",
                        lambda s: real(s).replace('"status":$status', f'"status":$status,"x":"{variable}"'))
    messages = [f.message for f in check_invariants(ev)]
    assert any("access log" in m and variable in m for m in messages), messages
