"""Config validation: every mistake names the key, what was received and what is expected."""

from __future__ import annotations

import pytest

from infra.config.loader import load_settings, load_stack_settings, parse_settings
from infra.errors import ConfigError, UserError
from tests.unit.stack_documents import BASE, parse


@pytest.mark.parametrize("overrides, key, fragment", [
    ({"vnetAddressSpace": "10.40.0.0/33"}, "vnetAddressSpace", "IPv4 CIDR"),
    ({"vnetAddressSpace": "10.40.0.1/16"}, "vnetAddressSpace", "no host bits"),
    ({"vnetAddressSpace": "8.8.0.0/16"}, "vnetAddressSpace", "private"),
    ({"appsSubnetPrefix": "10.99.0.0/23"}, "appsSubnetPrefix", "inside"),
    ({"appsSubnetPrefix": "10.40.0.0/28"}, "appsSubnetPrefix", "/27 or larger"),
    ({"endpointsSubnetPrefix": "10.40.2.0/29"}, "endpointsSubnetPrefix", "/28 or larger"),
    ({"endpointsSubnetPrefix": "10.40.1.0/27"}, "endpointsSubnetPrefix", "does not overlap"),
    ({"proxyHost": "contoso.com"}, "proxyHost", "at least 3 labels"),
    ({"proxyHost": "live_ness.contoso.com"}, "proxyHost", "DNS hostname"),
    ({"proxyHost": None}, "proxyHost", "a value"),
    ({"dnsZoneName": "other.com"}, "proxyHost", "strictly below liveness:dnsZoneName other.com"),
    ({"dnsZoneName": "liveness.dev.contoso.com"}, "proxyHost", "strictly below"),
    ({"proxyHost": "liveness.other.example"}, "proxyHost", "strictly below liveness:dnsZoneName"),
    ({"faceKind": "Vision"}, "faceKind", "one of Face, AIServices"),
    ({"faceKind": "face"}, "faceKind", "did you mean 'Face'"),
    ({"faceSku": "F0"}, "faceSku", "S0"),
    ({"lifecycle": "production"}, "lifecycle", "one of prod, test, ephemeral"),
    ({"location": None}, "location", "Azure region"),
    ({"location": "West Europe"}, "location", "lower case"),
    ({"proxyImage": "nginx"}, "proxyImage", "pinned"),
    ({"proxyImage": "docker.io/library/nginx:latest"}, "proxyImage", "pinned"),
    ({"proxyMemory": "4Gi"}, "proxyMemory", "at most 2Gi per vCPU"),
    ({"proxyMemory": "0.5Gi", "proxyCpu": 0.25, "proxyMaxBodyBytes": 64 * 1024 * 1024}, "proxyMaxBodyBytes",
     "liveness:proxyMemory 0.5Gi"),
    ({"proxyMemory": "0.5Gi", "proxyCpu": 0.25, "proxyConcurrentRequests": 5000}, "proxyConcurrentRequests",
     "liveness:proxyMemory 0.5Gi"),
    ({"proxyMaxReplicas": 0}, "proxyMaxReplicas", "from 1 to 300"),
    ({"proxyMinReplicas": "two"}, "proxyMinReplicas", "whole number"),
    ({"proxyUpstreamTimeoutSeconds": 240}, "proxyUpstreamTimeoutSeconds", "from 5 to 239"),
    ({"proxyAllowBrowserPreflight": "yes"}, "proxyAllowBrowserPreflight", "true or false"),
    ({"faceIpRules": ["203.0.113.0/24"]}, "faceIpRules", "public network access is Disabled, so Azure ignores IP rules"),
    ({"faceIpRules": "1.2.3.4"}, "faceIpRules", "JSON list"),
    ({"privateDnsMode": "existing"}, "privateDnsZoneIds", "privatelink.cognitiveservices.azure.com"),
    ({"privateDnsZoneIds": ["/subscriptions/1/resourceGroups/r/providers/Microsoft.Network/privateDnsZones/privatelink.cognitiveservices.azure.com"]},  # noqa: E501 -- one resource id kept whole so it greps
     "privateDnsZoneIds", "unless liveness:privateDnsMode is existing"),
    ({"proxyCertificateSource": "keyvault"}, "proxyKeyVaultCertificateUrl", "Key Vault secret URL"),
    ({"proxyKeyVaultIdentity": "/subscriptions/1/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"},
     "proxyKeyVaultIdentity", "unless proxyCertificateSource is keyvault"),
    ({"proxyDomainBinding": "later"}, "proxyDomainBinding", "one of auto, bootstrap, bound"),
    ({"registrationState": "verifying"}, "verificationCode", "verification string"),
    ({"registrationState": "verifying", "verificationCode": "abc"}, "verificationCodeIssuedAt", "issued"),
    ({"verificationCodeIssuedAt": "yesterday"}, "verificationCodeIssuedAt", "ISO-8601"),
    ({"verificationCodeIssuedAt": "2026-11-20T09:30:00"}, "verificationCodeIssuedAt", "zone"),
    ({"registrationState": "registered"}, "registeredProxyHost", "Microsoft registered"),
    ({"registrationState": "registered", "registeredProxyHost": "old.dev.contoso.com"}, "proxyHost", "allowProxyHostChange"),
    ({"proxyHots": "x.dev.contoso.com"}, "proxyHots", "did you mean liveness:proxyHost"),
    ({"tags": ["a"]}, "tags", "mapping"),
    ({"namePrefix": "Bad Prefix"}, "namePrefix", "lower-case"),
])
def test_invalid_config_names_key_value_and_expectation(overrides, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse(**overrides)
    err = info.value
    assert err.key == f"liveness:{key}"
    assert fragment in str(err)
    assert f"'liveness:{key}'" in str(err) and "received" in str(err) and "expected" in str(err)


def test_prod_requires_two_replicas():
    with pytest.raises(ConfigError, match="at least 2"):
        parse(lifecycle="prod", proxyMinReplicas=1)


def test_registered_host_change_with_explicit_override_is_allowed():
    s = parse(registrationState="registered", registeredProxyHost="old.dev.contoso.com", allowProxyHostChange=True)
    assert s.proxy.host == "liveness.dev.contoso.com"
    assert s.registration.registered


def test_defaults_are_the_safe_choices():
    s = parse_settings("x", {k: v for k, v in BASE.items() if k != "lifecycle"})
    assert s.lifecycle == "prod" and s.protect and not s.may_tear_down
    assert s.proxy.min_replicas == 2 and s.proxy.zone_redundant
    assert s.face.disable_local_auth and s.face.restrict_outbound_network_access
    assert s.face.ip_rules == () and s.face.private_dns_mode == "create"
    assert s.proxy.allow_browser_preflight is False
    assert s.proxy.trusted_proxy_cidrs[0] == s.network.apps_subnet_prefix  # + platform ranges
    assert s.proxy.upstream_timeout_seconds < 240 and s.proxy.client_timeout_seconds < 240
    assert s.proxy.max_body_bytes >= 6 * 1024 * 1024


def test_strings_from_the_pulumi_runtime_are_typed():
    s = parse(proxyMinReplicas="3", proxyAllowBrowserPreflight="true", faceAllowedFqdns='["api.contoso.com"]',
              tags='{"team": "identity"}', proxyCpu="1", proxyMemory="2Gi")
    assert s.proxy.min_replicas == 3 and s.proxy.allow_browser_preflight is True
    assert s.face.allowed_fqdns == ("api.contoso.com",)
    assert s.tags["team"] == "identity" and s.tags["managed-by"] == "pulumi"


def test_plain_text_verification_code_is_refused_in_the_runtime():
    config = {f"liveness:{k}": v for k, v in BASE.items()}
    config["liveness:verificationCode"] = "abc"
    with pytest.raises(ConfigError, match="--secret"):
        load_settings("unit", config, lambda key: False)
    s = load_settings("unit", config, lambda key: True)
    assert s.registration.verification_code_configured


def test_location_falls_back_to_provider_location():
    config = {f"liveness:{k}": v for k, v in BASE.items() if k != "location"}
    config["azure-native:location"] = "northeurope"
    assert load_settings("unit", config, lambda key: False).location == "northeurope"


def test_issued_at_is_parsed_to_utc():
    s = parse(verificationCodeIssuedAt="2026-11-20T10:30:00+01:00")
    assert s.registration.verification_code_issued_at.isoformat() == "2026-11-20T09:30:00+00:00"


def test_pr_template_under_a_pr_stack_name():
    s = load_stack_settings("pr-42", template="pr")
    assert s.stack == "pr-42" and s.lifecycle == "ephemeral"
    assert s.proxy.host == "pr-42.liveness-preview.contoso.com"
    assert "pr-42" in s.face.account_name


def test_unknown_stack_is_a_user_error():
    with pytest.raises(UserError, match="stacks known: .*dev"):
        load_stack_settings("nope")


@pytest.mark.parametrize("value, fragment", [(["0.0.0.0/0"], "specific range"), (["10.60.1.1/24"], "no host bits")])
def test_endpoint_client_ranges_are_validated(value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse(faceAllowedClientCidrs=value)


def test_stack_file_with_plain_text_code_is_refused(tmp_path, monkeypatch):
    from infra.stackfiles import files as stackfile

    body = ("config:\n  liveness:lifecycle: test\n  liveness:location: westeurope\n"
            "  liveness:proxyHost: liveness.dev.contoso.com\n  liveness:dnsZoneName: dev.contoso.com\n")
    (tmp_path / "Pulumi.plain.yaml").write_text(body + "  liveness:verificationCode: azv-PLAIN-123\n")
    (tmp_path / "Pulumi.enc.yaml").write_text(body + "  liveness:verificationCode:\n    secure: v1:abc==\n")
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    with pytest.raises(ConfigError, match="--secret") as info:
        load_stack_settings("plain")
    assert "azv-PLAIN-123" not in str(info.value)
    assert load_stack_settings("enc").registration.verification_code_configured


def test_pr_stack_without_its_own_file_uses_the_template():
    s = load_stack_settings("pr-77")
    assert s.lifecycle == "ephemeral" and s.proxy.host == "pr-77.liveness-preview.contoso.com"


def test_every_proxy_setting_from_config_names_its_key_in_renderer_errors():
    """A renderer refusal must name the config key; a new ProxySettings field needs its row."""
    import dataclasses

    from components.proxy_settings import ProxySettings
    from infra.config.proxy import PROXY_FIELD_KEYS, PROXY_FIELDS_NOT_FROM_CONFIG
    from infra.config.schema import KEYS_BY_NAME

    fields = {f.name for f in dataclasses.fields(ProxySettings)}
    assert fields - PROXY_FIELDS_NOT_FROM_CONFIG == set(PROXY_FIELD_KEYS)
    assert set(PROXY_FIELD_KEYS.values()) <= set(KEYS_BY_NAME)
