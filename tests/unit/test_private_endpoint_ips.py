"""Fixed private endpoint IPs, the proxy's upstream settings and hub zone links, under the mock runtime."""

from __future__ import annotations

import ipaddress

import pytest

from components.face import ips_by_fqdn
from components.proxy_app import REVISION_HASH_ENV
from infra import endpoint_ips
from infra.config.loader import parse_settings
from infra.errors import ConfigError
from infra.plan.invariants.inputs import T_ENDPOINT, T_PROVIDER, T_ZONE_LINK
from tests.unit.conftest import BASE_CONFIG, evaluate

KEY = "liveness:privateEndpointIps"
HUB_SUB = "11111111-1111-1111-1111-111111111111"
OTHER_SUB = "22222222-2222-2222-2222-222222222222"


def _zone_id(sub: str, rg: str, zone: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{zone}"


AI_ZONES = [
    _zone_id(HUB_SUB, "rg-hub-dns", "privatelink.cognitiveservices.azure.com"),
    _zone_id(HUB_SUB, "rg-hub-dns", "privatelink.openai.azure.com"),
    _zone_id(OTHER_SUB, "rg-ai-dns", "privatelink.services.ai.azure.com"),
]


def _ip_configs(ev) -> dict[str, dict]:
    return {c["memberName"]: c for c in ev.one(T_ENDPOINT).inputs["ipConfigurations"]}


def _revision_hash(ev) -> str:
    (container,) = ev.one("azure-native:app:ContainerApp").inputs["template"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}[REVISION_HASH_ENV]


# --- defaults per kind ----------------------------------------------------------------------


def test_face_gets_one_fixed_ip_at_the_top_of_the_endpoints_subnet():
    ev = evaluate()
    configs = _ip_configs(ev)
    assert list(configs) == ["default"]
    assert configs["default"]["groupId"] == "account"
    assert configs["default"]["privateIPAddress"] == "10.40.2.30"  # 10.40.2.0/27: .31 is broadcast
    assert ev.settings.proxy_settings().upstream_address == "10.40.2.30"
    assert ev.outputs["privateEndpointIp"] == "10.40.2.30"
    assert ev.outputs["privateEndpointIps"] == {"default": "10.40.2.30"}
    assert ev.outputs["privateEndpointIpsByFqdn"] == {"fl-unit-face.cognitiveservices.azure.com": "10.40.2.30"}
    assert ev.findings == []


def test_ai_services_gets_a_fixed_ip_per_member_and_every_fqdn_in_the_outputs():
    ev = evaluate({"liveness:faceKind": "AIServices"})
    configs = _ip_configs(ev)
    assert {m: c["privateIPAddress"] for m, c in configs.items()} == {
        "default": "10.40.2.30", "secondary": "10.40.2.29", "third": "10.40.2.28"}
    assert {c["groupId"] for c in configs.values()} == {"account"}
    assert ev.outputs["privateEndpointIpsByFqdn"] == {
        "fl-unit-face.cognitiveservices.azure.com": "10.40.2.30",
        "fl-unit-face.openai.azure.com": "10.40.2.29",
        "fl-unit-face.services.ai.azure.com": "10.40.2.28",
    }
    # What the provider reports back lists every member's address, not only the first.
    reported = ev.outputs["privateEndpointReportedIps"]
    assert sorted(a for addrs in reported.values() for a in addrs) == ["10.40.2.28", "10.40.2.29", "10.40.2.30"]
    assert ev.outputs["privateEndpointIp"] == "10.40.2.30"
    assert ev.findings == []


def test_defaults_follow_the_configured_subnet():
    ev = evaluate({"liveness:endpointsSubnetPrefix": "10.40.4.0/28", "liveness:faceKind": "AIServices"})
    subnet = ipaddress.ip_network("10.40.4.0/28")
    addresses = [c["privateIPAddress"] for c in _ip_configs(ev).values()]
    assert addresses == ["10.40.4.14", "10.40.4.13", "10.40.4.12"]
    assert all(ipaddress.ip_address(a) in subnet for a in addresses)


# --- configured addresses -------------------------------------------------------------------


def test_configured_face_address_is_declared_and_is_the_proxy_upstream():
    ev = evaluate({KEY: {"default": "10.40.2.10"}})
    assert _ip_configs(ev)["default"]["privateIPAddress"] == "10.40.2.10"
    assert ev.settings.proxy_settings().upstream_address == "10.40.2.10"
    assert ev.outputs["privateEndpointIp"] == "10.40.2.10"
    assert ev.findings == []


def test_partial_map_fills_the_other_members_around_the_configured_ones():
    ev = evaluate({"liveness:faceKind": "AIServices", KEY: '{"secondary": "10.40.2.30"}'})  # JSON, as `pulumi config set` stores it
    assert {m: c["privateIPAddress"] for m, c in _ip_configs(ev).items()} == {
        "default": "10.40.2.29", "secondary": "10.40.2.30", "third": "10.40.2.28"}
    assert ev.outputs["privateEndpointIp"] == "10.40.2.29"


def test_a_changed_address_changes_the_revision_hash():
    one = evaluate({KEY: {"default": "10.40.2.10"}})
    two = evaluate({KEY: {"default": "10.40.2.11"}})
    assert one.settings.proxy_settings() != two.settings.proxy_settings()
    assert _revision_hash(one) != _revision_hash(two)
    # Same config, same hash: a re-run does not roll a revision.
    assert _revision_hash(one) == _revision_hash(evaluate({KEY: {"default": "10.40.2.10"}}))


# --- validation -----------------------------------------------------------------------------


def _parse(overrides):
    raw = {k.split(":", 1)[1]: v for k, v in {**BASE_CONFIG, **overrides}.items()}
    return parse_settings("unit", raw)


@pytest.mark.parametrize("value, expected", [
    ({"default": "10.40.3.5"}, "inside liveness:endpointsSubnetPrefix 10.40.2.0/27"),
    ({"default": "10.40.2.0"}, "network or broadcast"),
    ({"default": "10.40.2.31"}, "network or broadcast"),
    ({"default": "10.40.2.1"}, "reserved"),
    ({"default": "10.40.2.3"}, "reserved"),
    ({"default": "10.40.2.300"}, "an IPv4 address"),
    ({"default": 7}, "an IPv4 address"),
    ({"secondary": "10.40.2.20"}, "member names of faceKind Face: default"),
    ({"primary": "10.40.2.20"}, "member names of faceKind Face"),
    (["10.40.2.20"], "a mapping"),
])
def test_bad_addresses_are_one_line_errors_naming_the_key(value, expected):
    with pytest.raises(ConfigError) as err:
        _parse({KEY: value})
    message = str(err.value)
    assert err.value.key == KEY
    assert expected in message
    assert "\n" not in message and len(message) <= 300


def test_duplicate_addresses_are_refused():
    with pytest.raises(ConfigError, match="a different address for each member") as err:
        _parse({"liveness:faceKind": "AIServices", KEY: {"default": "10.40.2.20", "third": "10.40.2.20"}})
    assert err.value.key == KEY


def test_ai_member_names_are_accepted_only_for_ai_services():
    ok = _parse({"liveness:faceKind": "AIServices", KEY: {"third": "10.40.2.20"}})
    assert dict(ok.face.private_endpoint_ips)["third"] == "10.40.2.20"
    with pytest.raises(ConfigError, match="default, secondary, third"):
        _parse({"liveness:faceKind": "AIServices", KEY: {"fourth": "10.40.2.20"}})


def test_default_ips_never_pick_reserved_or_taken_addresses():
    subnet = ipaddress.IPv4Network("10.0.0.0/28")
    picked = endpoint_ips.default_ips("AIServices", subnet, taken={"secondary": "10.0.0.14"})
    assert picked == {"default": "10.0.0.13", "secondary": "10.0.0.14", "third": "10.0.0.12"}
    assert not set(picked.values()) & {str(a) for a in endpoint_ips.reserved_addresses(subnet)}


# --- proxy settings from config -------------------------------------------------------------


def test_proxy_settings_carry_host_mode_cpu_and_concurrency():
    default = _parse({}).proxy_settings()
    assert default.upstream_host == "client"
    tuned = _parse({"liveness:proxyUpstreamHost": "account", "liveness:proxyCpu": "1.5",
                    "liveness:proxyMemory": "3Gi", "liveness:proxyConcurrentRequests": "120"}).proxy_settings()
    assert (tuned.upstream_host, tuned.cpu, tuned.concurrent_requests) == ("account", 1.5, 120)
    with pytest.raises(ConfigError, match="one of client, account") as err:
        _parse({"liveness:proxyUpstreamHost": "proxy"})
    assert err.value.key == "liveness:proxyUpstreamHost"


# --- hub zones in privateDnsMode existing ---------------------------------------------------


def test_existing_mode_links_each_hub_zone_in_its_own_subscription_and_group():
    ev = evaluate({"liveness:faceKind": "AIServices", "liveness:privateDnsMode": "existing",
                   "liveness:privateDnsZoneIds": AI_ZONES})
    providers = {p.name: p.inputs["subscriptionId"] for p in ev.by_type(T_PROVIDER)}
    assert sorted(providers.values()) == [HUB_SUB, OTHER_SUB]
    links = {link.inputs["privateZoneName"]: link for link in ev.by_type(T_ZONE_LINK)}
    assert sorted(links) == sorted(z.rsplit("/", 1)[-1] for z in AI_ZONES)
    services = links["privatelink.services.ai.azure.com"]
    assert services.inputs["resourceGroupName"] == "rg-ai-dns"
    openai = links["privatelink.openai.azure.com"]
    assert services.provider is not None and openai.provider is not None, "each link names its provider"
    assert providers[services.provider] == OTHER_SUB
    assert providers[openai.provider] == HUB_SUB
    for link in links.values():
        assert link.inputs["registrationEnabled"] is False
        assert link.inputs["virtualNetwork"]["id"].endswith("/virtualNetworks/fl-unit-vnet")
        assert link.inputs["virtualNetworkLinkName"] == "rg-fl-unit-fl-unit-vnet"  # unique among spokes
    assert ev.findings == []


def test_existing_mode_without_links_for_hubs_that_resolve_for_spokes():
    ev = evaluate({"liveness:privateDnsMode": "existing", "liveness:privateDnsZoneIds": AI_ZONES[:1],
                   "liveness:privateDnsLinkVnet": False})
    assert ev.by_type(T_ZONE_LINK) == []
    assert ev.by_type(T_PROVIDER) == []
    assert len(ev.one("azure-native:network:PrivateDnsZoneGroup").inputs["privateDnsZoneConfigs"]) == 1
    assert ev.findings == []


def test_link_switch_outside_existing_mode_is_refused():
    with pytest.raises(ConfigError, match="unset unless liveness:privateDnsMode is existing"):
        _parse({"liveness:privateDnsLinkVnet": "false"})


# --- pure helpers ---------------------------------------------------------------------------


def test_ips_by_fqdn_keeps_every_entry_and_address():
    configs = [
        {"fqdn": "a.cognitiveservices.azure.com", "ip_addresses": ["10.0.0.30"]},
        {"fqdn": "a.openai.azure.com", "ip_addresses": ["10.0.0.29", "10.0.0.27"]},
        {"fqdn": "a.openai.azure.com", "ip_addresses": ["10.0.0.29"]},
    ]
    assert ips_by_fqdn(configs) == {"a.cognitiveservices.azure.com": ["10.0.0.30"],
                                    "a.openai.azure.com": ["10.0.0.29", "10.0.0.27"]}
    assert ips_by_fqdn(None) == {}
