"""The Pulumi program under the mock runtime: what the provider would receive, per config mode."""

from __future__ import annotations

import ipaddress
import json

import pytest

from infra.plan.invariants.inputs import (T_ACCOUNT, T_APP, T_ENDPOINT, T_ENV, T_PRIVATE_ZONE, T_RECORD, T_SUBNET,
                                         T_ZONE, T_ZONE_GROUP, T_ZONE_LINK)
from tests.shipped_stacks import SHIPPED_STACKS
from tests.unit.conftest import SECRET_CODE, evaluate, stack_evaluation, verifying

STACKS = list(SHIPPED_STACKS)


def test_every_stack_file_is_covered():
    assert {"dev", "staging", "prod", "pr"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_evaluates_offline_with_no_findings(stack):
    """No finding, except the warning that a prod-like stack gives the app server no path (the
    shipped prod and staging files leave both keys for the operator to fill in)."""
    ev = stack_evaluation(stack)
    assert ev.resources, "the program declared nothing"
    s = ev.settings
    pathless = s.prod_like and not (s.network.endpoint_client_cidrs or s.operations.app_server_principal_ids)
    assert [(f.severity, f.invariant) for f in ev.findings] == ([("warning", "app-server-path")] if pathless else [])


@pytest.mark.parametrize("stack", STACKS)
def test_stack_security_invariants_on_provider_inputs(stack):
    ev = stack_evaluation(stack)
    account = ev.one(T_ACCOUNT)
    props = account.inputs["properties"]
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"]["defaultAction"] == "Deny"
    assert props.get("networkAcls", {}).get("ipRules", []) == []
    assert props["customSubDomainName"] == ev.settings.face.custom_subdomain

    vnet_prefix = ipaddress.IPv4Network(ev.settings.network.vnet_address_space)
    subnets = {s.inputs["subnetName"]: s for s in ev.by_type(T_SUBNET)}
    for subnet in subnets.values():
        assert ipaddress.IPv4Network(subnet.inputs["addressPrefix"]).subnet_of(vnet_prefix)

    pe = ev.one(T_ENDPOINT)
    assert pe.inputs["subnet"]["id"].endswith("/subnets/private-endpoints")
    (connection,) = pe.inputs["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["account"]
    assert connection["privateLinkServiceId"].endswith(f"/accounts/{ev.settings.face.account_name}")

    env = ev.one(T_ENV)
    assert env.inputs["vnetConfiguration"]["infrastructureSubnetId"].endswith("/subnets/apps")
    assert subnets["apps"].inputs["delegations"][0]["serviceName"] == "Microsoft.App/environments"

    ingress = ev.one(T_APP).inputs["configuration"]["ingress"]
    assert ingress["external"] is True
    assert ingress["transport"] == "http"
    assert ingress["allowInsecure"] is False
    assert ingress["targetPort"] == 8080
    assert "additionalPortMappings" not in ingress
    assert [d["name"] for d in ingress["customDomains"]] == [ev.settings.proxy.host]

    protected = ev.settings.lifecycle == "prod"
    assert account.protect is protected


def test_prod_protects_account_zone_and_verification_record():
    ev = verifying({"liveness:lifecycle": "prod", "liveness:dnsMode": "create"})
    assert ev.one(T_ACCOUNT).protect
    assert ev.one(T_ZONE).protect
    assert ev.named("dns-azaiverify").protect
    # Everything else stays unprotected, so prod can still be changed normally.
    assert not ev.named("proxy-app").protect
    assert not ev.named("dns-cname").protect


def test_test_lifecycle_protects_nothing():
    ev = verifying({"liveness:dnsMode": "create"})
    assert [r.name for r in ev.resources if r.protect] == []


def test_prod_stack_file_is_protected_and_redundant():
    ev = stack_evaluation("prod")
    assert ev.one(T_ACCOUNT).protect
    assert ev.one(T_ENV).inputs["zoneRedundant"] is True
    assert ev.one(T_APP).inputs["template"]["scale"]["minReplicas"] >= 2


# --- private DNS modes ----------------------------------------------------------------------


def test_private_dns_create_mode_creates_linked_global_zone_and_zone_group():
    ev = evaluate({"liveness:privateDnsMode": "create"})
    (zone,) = ev.by_type(T_PRIVATE_ZONE)
    assert zone.inputs["privateZoneName"] == "privatelink.cognitiveservices.azure.com"
    assert zone.inputs["location"] == "global"
    (link,) = ev.by_type(T_ZONE_LINK)
    assert link.inputs["location"] == "global"
    assert link.inputs["registrationEnabled"] is False
    assert link.inputs["virtualNetwork"]["id"].endswith(f"/virtualNetworks/{ev.settings.resource_name('vnet')}")
    (group,) = ev.by_type(T_ZONE_GROUP)
    assert group.parent == "face-pe"
    assert [c["privateDnsZoneId"].rsplit("/", 1)[-1] for c in group.inputs["privateDnsZoneConfigs"]] == [
        "privatelink.cognitiveservices.azure.com"]


def test_ai_services_kind_gets_all_three_private_zones():
    ev = evaluate({"liveness:faceKind": "AIServices"})
    assert ev.one(T_ACCOUNT).inputs["kind"] == "AIServices"
    names = sorted(z.inputs["privateZoneName"] for z in ev.by_type(T_PRIVATE_ZONE))
    assert names == ["privatelink.cognitiveservices.azure.com", "privatelink.openai.azure.com",
                     "privatelink.services.ai.azure.com"]
    assert len(ev.by_type(T_ZONE_LINK)) == 3
    assert len(ev.one(T_ZONE_GROUP).inputs["privateDnsZoneConfigs"]) == 3


def test_private_dns_existing_mode_uses_hub_zone_and_creates_none():
    hub = ("/subscriptions/1/resourceGroups/hub/providers/Microsoft.Network/privateDnsZones/"
           "privatelink.cognitiveservices.azure.com")
    ev = evaluate({"liveness:privateDnsMode": "existing", "liveness:privateDnsZoneIds": [hub]})
    assert ev.by_type(T_PRIVATE_ZONE) == []
    # The hub's zone is linked to this VNet (privateDnsLinkVnet defaults to true), in the hub's group.
    assert [link.inputs["resourceGroupName"] for link in ev.by_type(T_ZONE_LINK)] == ["hub"]
    configs = ev.one(T_ZONE_GROUP).inputs["privateDnsZoneConfigs"]
    assert [c["privateDnsZoneId"] for c in configs] == [hub]


def test_private_dns_policy_mode_declares_no_zone_group():
    ev = evaluate({"liveness:privateDnsMode": "policy"})
    assert ev.by_type(T_ZONE_GROUP) == []
    assert ev.by_type(T_PRIVATE_ZONE) == []
    assert ev.findings == []


# --- public DNS modes -----------------------------------------------------------------------


def _records(ev):
    return {(r.inputs["relativeRecordSetName"], r.inputs["recordType"]): r for r in ev.by_type(T_RECORD)}


def test_dns_create_mode_zone_records_and_name_servers():
    ev = verifying({"liveness:dnsMode": "create"})
    zone = ev.one(T_ZONE)
    assert zone.inputs["zoneName"] == "dev.contoso.com"
    assert zone.inputs["zoneType"] == "Public"
    records = _records(ev)
    assert set(records) == {("liveness", "CNAME"), ("asuid.liveness", "TXT"), ("azaiverify.liveness", "TXT")}
    assert records[("liveness", "CNAME")].inputs["cnameRecord"]["cname"] == ev.outputs["ingressFqdn"]
    assert records[("asuid.liveness", "TXT")].inputs["txtRecords"] == [{"value": [ev.outputs["customDomainVerificationId"]]}]
    assert records[("azaiverify.liveness", "TXT")].inputs["ttl"] == 60
    assert len(ev.outputs["nameServers"]) == 4


def test_dns_records_exist_before_the_app_that_validates_against_them():
    ev = evaluate({"liveness:dnsMode": "create"})
    order = [r.name for r in ev.resources]
    assert order.index("dns-cname") < order.index("proxy-app")
    assert order.index("dns-asuid") < order.index("proxy-app")
    assert order.index("proxy-app") < order.index("proxy-managed-cert")


@pytest.mark.parametrize("stack", STACKS)
def test_the_app_is_updated_after_the_private_endpoint_it_forwards_to(stack):
    """The upstream address is config, not an endpoint output: the explicit dependency is what
    keeps a revision aimed at a changed address from going live before (or without) the endpoint."""
    ev = stack_evaluation(stack)
    endpoint = ev.one(T_ENDPOINT).name
    assert endpoint in ev.named("proxy-app").dependencies, ev.named("proxy-app").dependencies


def test_dns_existing_mode_writes_into_the_named_zone_only():
    ev = verifying({"liveness:dnsMode": "existing", "liveness:dnsZoneName": "contoso.com",
                    "liveness:proxyHost": "liveness.dev.contoso.com", "liveness:dnsZoneResourceGroup": "rg-dns"})
    assert ev.by_type(T_ZONE) == []
    records = _records(ev)
    assert set(records) == {("liveness.dev", "CNAME"), ("asuid.liveness.dev", "TXT"), ("azaiverify.liveness.dev", "TXT")}
    assert {r.inputs["resourceGroupName"] for r in records.values()} == {"rg-dns"}
    assert {r.inputs["zoneName"] for r in records.values()} == {"contoso.com"}
    assert "nameServers" not in ev.outputs


def test_dns_external_mode_creates_nothing_and_lists_records():
    ev = verifying({"liveness:dnsMode": "external", "liveness:dnsZoneName": None})
    assert ev.by_type(T_ZONE) == [] and ev.by_type(T_RECORD) == []
    listed = {r["name"]: r for r in ev.outputs["dnsRecords"]}
    assert listed["liveness.dev.contoso.com"]["type"] == "CNAME"
    assert listed["liveness.dev.contoso.com"]["value"] == ev.outputs["ingressFqdn"]
    assert listed["asuid.liveness.dev.contoso.com"]["value"] == ev.outputs["customDomainVerificationId"]
    assert SECRET_CODE not in listed["azaiverify.liveness.dev.contoso.com"]["value"]


def test_no_verification_record_without_a_code():
    ev = evaluate({"liveness:dnsMode": "create"})
    assert ("azaiverify.liveness", "TXT") not in _records(ev)
    assert "verificationCode" not in ev.outputs


# --- secrets ---------------------------------------------------------------------------------


def test_verification_code_is_secret_everywhere():
    ev = verifying({"liveness:dnsMode": "create"})
    assert ev.named("dns-azaiverify").inputs["txtRecords"] == "[secret]"
    assert ev.outputs["verificationCode"] == "[secret]"
    everything = json.dumps([r.as_json() for r in ev.resources]) + json.dumps(ev.outputs)
    assert SECRET_CODE not in everything


def test_long_verification_code_is_split_into_txt_strings():
    from components.dns_records import split_txt

    code = "x" * 300
    assert split_txt(code) == ["x" * 255, "x" * 45]
    assert "".join(split_txt(code)) == code


# --- proxy app and certificate flows ---------------------------------------------------------


def test_proxy_container_runs_stock_nginx_with_mounted_config():
    ev = evaluate()
    app = ev.one(T_APP).inputs
    (container,) = app["template"]["containers"]
    assert container["image"] == "docker.io/library/nginx:1.28.0-alpine"
    from components.proxy_app import DRAIN_SCRIPT
    from components.proxy_settings import TERMINATION_GRACE_PERIOD_SECONDS

    assert container["command"] == ["/bin/sh", "-c"]
    assert container["args"] == [DRAIN_SCRIPT]
    assert "nginx -c /etc/nginx-liveness/nginx.conf -g 'daemon off;'" in DRAIN_SCRIPT
    assert app["template"]["terminationGracePeriodSeconds"] == TERMINATION_GRACE_PERIOD_SECONDS
    (volume,) = app["template"]["volumes"]
    assert volume["storageType"] == "Secret"
    (secret,) = app["configuration"]["secrets"]
    assert volume["secrets"] == [{"secretRef": secret["name"], "path": "nginx.conf"}]
    from components.proxy_config import render_nginx_config

    assert secret["value"] == render_nginx_config(ev.settings.proxy_settings())
    probes = {p["type"]: p for p in container["probes"]}
    assert set(probes) == {"Readiness", "Liveness"}
    assert all(p["httpGet"]["port"] == 8081 for p in probes.values())
    assert app["configuration"]["ingress"]["targetPort"] != 8081  # health port is not exposed


def test_config_change_rolls_a_new_revision():
    a = evaluate().one(T_APP).inputs["template"]["containers"][0]["env"]
    b = evaluate({"liveness:proxyRateLimitPerSecond": 5}).one(T_APP).inputs["template"]["containers"][0]["env"]
    assert a != b


def test_scale_settings_come_from_config():
    scale = evaluate({"liveness:proxyMinReplicas": 3, "liveness:proxyMaxReplicas": 7,
                      "liveness:proxyConcurrentRequests": 25}).one(T_APP).inputs["template"]["scale"]
    assert scale["minReplicas"] == 3 and scale["maxReplicas"] == 7
    assert scale["rules"][0]["http"]["metadata"] == {"concurrentRequests": "25"}


def test_managed_certificate_auto_binding_one_up():
    ev = evaluate()
    (domain,) = ev.one(T_APP).inputs["configuration"]["ingress"]["customDomains"]
    assert domain == {"name": "liveness.dev.contoso.com", "bindingType": "Auto"}
    cert = ev.named("proxy-managed-cert")
    assert cert.inputs["properties"] == {"subjectName": "liveness.dev.contoso.com", "domainControlValidation": "CNAME"}


def test_two_phase_fallback_bootstrap_then_bound():
    boot = evaluate({"liveness:proxyDomainBinding": "bootstrap"})
    (domain,) = boot.one(T_APP).inputs["configuration"]["ingress"]["customDomains"]
    assert domain == {"name": "liveness.dev.contoso.com", "bindingType": "Disabled"}
    assert boot.named("proxy-managed-cert").inputs["managedCertificateName"] == "fl-unit-proxy-cert"

    bound = evaluate({"liveness:proxyDomainBinding": "bound"})
    (domain,) = bound.one(T_APP).inputs["configuration"]["ingress"]["customDomains"]
    assert domain["bindingType"] == "SniEnabled"
    assert domain["certificateId"].endswith("/managedEnvironments/fl-unit-cae/managedCertificates/fl-unit-proxy-cert")
    # Same certificate in both phases: switching does not replace it.
    assert bound.named("proxy-managed-cert").inputs == boot.named("proxy-managed-cert").inputs


def test_key_vault_certificate_binding():
    identity = "/subscriptions/1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/proxy-kv"
    ev = evaluate({"liveness:proxyCertificateSource": "keyvault",
                   "liveness:proxyKeyVaultCertificateUrl": "https://kv-liveness.vault.azure.net/secrets/proxy",
                   "liveness:proxyKeyVaultIdentity": identity})
    cert = ev.named("proxy-kv-cert")
    assert cert.inputs["properties"]["certificateKeyVaultProperties"] == {
        "identity": identity, "keyVaultUrl": "https://kv-liveness.vault.azure.net/secrets/proxy"}
    assert ev.one(T_ENV).inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
    (domain,) = ev.one(T_APP).inputs["configuration"]["ingress"]["customDomains"]
    assert domain["bindingType"] == "SniEnabled"
    assert domain["certificateId"].endswith("/certificates/fl-unit-proxy-kv-cert")
    with pytest.raises(KeyError):
        ev.named("proxy-managed-cert")


# --- names -----------------------------------------------------------------------------------


def test_ephemeral_stacks_get_unique_names_per_pr():
    a = evaluate({"liveness:lifecycle": "ephemeral", "liveness:proxyHost": "{stack}.preview.contoso.com",
                  "liveness:dnsZoneName": "preview.contoso.com"}, stack="pr-101")
    b = evaluate({"liveness:lifecycle": "ephemeral", "liveness:proxyHost": "{stack}.preview.contoso.com",
                  "liveness:dnsZoneName": "preview.contoso.com"}, stack="pr-102")
    assert a.settings.proxy.host == "pr-101.preview.contoso.com"
    name_a = a.one(T_ACCOUNT).inputs["accountName"]
    name_b = b.one(T_ACCOUNT).inputs["accountName"]
    assert name_a != name_b
    assert a.one(T_ACCOUNT).inputs["properties"]["customSubDomainName"] == name_a


def test_ephemeral_instance_suffix_changes_account_name():
    base = {"liveness:lifecycle": "ephemeral"}
    one = evaluate({**base, "liveness:instanceSuffix": "run1"}, stack="pr-7").settings.face.account_name
    two = evaluate({**base, "liveness:instanceSuffix": "run2"}, stack="pr-7").settings.face.account_name
    assert one != two and one.endswith("-run1")


def _endpoint_rules(ev):
    nsg = ev.named("network-endpoints-nsg")
    return {r["name"]: r for r in nsg.inputs["securityRules"]}


def test_private_endpoint_admits_only_the_proxy_by_default():
    rules = _endpoint_rules(evaluate())
    allows = [r for r in rules.values() if r["access"] == "Allow"]
    assert [(r["sourceAddressPrefix"], r["destinationPortRange"]) for r in allows] == [("10.40.0.0/23", "443")]
    deny = rules["deny-all-in"]
    assert (deny["access"], deny["sourceAddressPrefix"], deny["destinationPortRange"], deny["protocol"]) == ("Deny", "*", "*", "*")


def test_app_server_ranges_join_the_one_allow_rule_in_a_prefix_list():
    cidrs = [f"10.{60 + i}.1.0/24" for i in range(40)]
    rules = _endpoint_rules(evaluate({"liveness:faceAllowedClientCidrs": cidrs}))
    allow = rules["allow-https-from-clients"]
    assert allow["sourceAddressPrefixes"] == ["10.40.0.0/23", *cidrs]
    assert "sourceAddressPrefix" not in allow
    assert allow["priority"] < rules["deny-all-in"]["priority"]
    assert all(100 <= r["priority"] <= 4096 for r in rules.values())


def test_test_and_ephemeral_accounts_purge_after_delete_prod_never():
    from components.face import PURGE_HOOK_NAME

    assert evaluate().one(T_ACCOUNT).after_delete_hooks == [PURGE_HOOK_NAME]
    assert evaluate({"liveness:lifecycle": "ephemeral"}, stack="pr-9").one(T_ACCOUNT).after_delete_hooks == [PURGE_HOOK_NAME]
    assert stack_evaluation("prod").one(T_ACCOUNT).after_delete_hooks == []
    assert stack_evaluation("staging").one(T_ACCOUNT).after_delete_hooks == []
