"""Each component's Args are its contract: validated in the constructor, with one ComponentArgsError
naming the field, what was received and what was expected; and components/ stands alone."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, cast

import pulumi
import pytest

from components import dns, face, monitoring_args, network, proxy, proxy_app
from components.args_errors import ComponentArgsError

ROOT = Path(__file__).resolve().parents[2]

NETWORK = network.IsolatedNetworkArgs(
    resource_group_name="rg", location="westeurope", vnet_name="v", apps_nsg_name="a", endpoints_nsg_name="e",
    vnet_address_space="10.40.0.0/16", apps_subnet_prefix="10.40.0.0/23", endpoints_subnet_prefix="10.40.2.0/27")
FACE = face.FaceAccountArgs(
    resource_group_name="rg", location="westeurope", account_name="fl-face", custom_subdomain="fl-face",
    vnet_id="/v", endpoints_subnet_id="/s", private_endpoint_name="pe", private_endpoint_nic_name="nic",
    private_link_connection_name="plsc")
PROXY = proxy.LivenessProxyArgs(
    resource_group_name="rg", location="westeurope", apps_subnet_id="/s", workspace_name="logs",
    environment_name="cae", app_name="proxy", infrastructure_resource_group="rg-infra")
DNS = dns.ProxyDnsArgs(resource_group_name="rg", proxy_host="liveness.contoso.com", zone_name="contoso.com",
                       ingress_fqdn="proxy.x.azurecontainerapps.io", verification_id="ABC")
APP = proxy_app.LivenessProxyAppArgs(
    resource_group_name="rg", location="westeurope", environment=cast(Any, object()), app_name="proxy",  # never read by validate
    host="liveness.contoso.com",
    routing=proxy_app.ProxyRoutingArgs(face_host="fl-face.cognitiveservices.azure.com", upstream_address="10.40.2.4"))
MONITORING = monitoring_args.ProxyMonitoringArgs(
    resource_group_name="rg", location="westeurope", name_prefix="fl", workspace_name="w", workspace_id="/w",
    container_app_name="proxy", container_app_id="/a", proxy_host="liveness.contoso.com")

# Each validator takes its own Args TypedDict; the tests pass it that dict with fields changed.
VALIDATORS: dict[str, tuple[Callable[[Any], object], Mapping[str, Any]]] = {
              "IsolatedNetworkArgs": (network.validate_args, NETWORK), "FaceAccountArgs": (face.validate_args, FACE),
              "LivenessProxyArgs": (proxy.validate_args, PROXY), "ProxyDnsArgs": (dns.validate_args, DNS),
              "LivenessProxyAppArgs": (proxy_app.validate_args, APP),
              "ProxyMonitoringArgs": (monitoring_args.validate_args, MONITORING)}


@pytest.mark.parametrize("kind", VALIDATORS)
def test_minimal_args_validate(kind):
    validate, args = VALIDATORS[kind]
    validate(args)


@pytest.mark.parametrize("kind, change, field, received, expected", [
    ("IsolatedNetworkArgs", {"vnet_address_space": "10.40.0.0/33"}, "vnet_address_space", "'10.40.0.0/33'", "an IPv4 CIDR"),
    ("IsolatedNetworkArgs", {"apps_subnet_prefix": "10.99.0.0/23"}, "apps_subnet_prefix", "'10.99.0.0/23'", "inside vnet_address_space"),
    ("IsolatedNetworkArgs", {"endpoints_subnet_prefix": "10.40.1.0/27"}, "endpoints_subnet_prefix", "'10.40.1.0/27'", "does not overlap"),
    ("IsolatedNetworkArgs", {"vnet_name": None}, "vnet_name", "None", "a value (required)"),
    ("FaceAccountArgs", {"kind": "OpenAI"}, "kind", "'OpenAI'", "one of Face, AIServices"),
    ("FaceAccountArgs", {"private_dns_mode": "existing"}, "private_dns_zone_ids", "[]", "at least one privateDnsZones id"),
    ("FaceAccountArgs", {"private_dns_mode": "existing", "private_dns_zone_ids": ["/nope"]},
     "private_dns_zone_ids[0]", "'/nope'", "/subscriptions/"),
    ("FaceAccountArgs", {"private_endpoint_ips": [{"member": "default", "address": "10.40.2.4"}] * 2},
     "private_endpoint_ips[1].member", "'default'", "each member once"),
    ("FaceAccountArgs", {"account_hooks": "purge"}, "account_hooks", "'purge'", "pulumi.ResourceHookBinding"),
    ("FaceAccountArgs", {"ip_rules": ["203.0.113.7"]}, "ip_rules", "['203.0.113.7']", "Azure ignores IP rules"),
    ("FaceAccountArgs", {"lock": {"kind": "ReadOnly"}}, "lock.kind", "'ReadOnly'", "one of CanNotDelete, None"),
    ("FaceAccountArgs", {"role_assignments": [{"principal_id": "x"}]}, "role_assignments[0]", "{'principal_id': 'x'}",
     "{principal_id, role_definition_id}"),
    ("ProxyDnsArgs", {"lock": {"kind": "ReadOnly"}}, "lock.kind", "'ReadOnly'", "one of CanNotDelete, None"),
    ("LivenessProxyArgs", {"log_retention_days": 7}, "log_retention_days", "7", "an integer from 30 to 730"),
    ("LivenessProxyArgs", {"certificate_source": "keyvault"}, "key_vault_certificate_url", "None", "when certificate_source is keyvault"),
    ("ProxyDnsArgs", {"mode": "manual"}, "mode", "'manual'", "one of create, existing, external"),
    ("ProxyDnsArgs", {"zone_name": "fabrikam.com"}, "zone_name", "'fabrikam.com'", "a zone containing proxy_host"),
    ("ProxyDnsArgs", {"record_ttl": 0}, "record_ttl", "0", "an integer from 1"),
    ("LivenessProxyAppArgs", {"host": "Not A Host"}, "host", "'Not A Host'", "a lowercase DNS hostname"),
    ("LivenessProxyAppArgs", {"min_replicas": 5, "max_replicas": 2}, "max_replicas", "2", "an integer from 5 to 1000"),
    ("LivenessProxyAppArgs", {"domain_binding": "later"}, "domain_binding", "'later'", "one of auto, bootstrap, bound"),
    ("LivenessProxyAppArgs", {"certificate_source": "keyvault"}, "keyvault_certificate_id", "None", "when certificate_source is keyvault"),
    ("LivenessProxyAppArgs", {"routing": {"face_host": "fl-face.cognitiveservices.azure.com", "upstream_address": "face.internal"}},
     "routing (upstream_address)", "'face.internal'", "IPv4"),
    ("ProxyMonitoringArgs", {"thresholds": {"error_rate": 5}}, "thresholds", "['error_rate']", "only certificate_days"),
    ("ProxyMonitoringArgs", {"container_app_id": None}, "container_app_id", "None", "a value (required)"),
])
def test_bad_args_say_field_received_expected(kind, change, field, received, expected):
    validate, base = VALIDATORS[kind]
    with pytest.raises(ComponentArgsError) as caught:
        validate({**base, **change})
    message = str(caught.value)
    assert message.startswith(f"{kind}.{field}: received {received}; expected "), message
    assert expected in message and "\n" not in message and len(message) <= 300


class _Recording(pulumi.runtime.Mocks):
    def __init__(self):
        self.declared = []

    def new_resource(self, args):
        self.declared.append(args.typ)
        return f"/mock/{args.name}", dict(args.inputs)

    def call(self, args):
        return {}


def test_the_constructor_validates_before_declaring_anything():
    """The component itself raises, and declares no Azure resource, when its Args are wrong."""
    mocks = _Recording()

    def declare():
        with pytest.raises(ComponentArgsError, match="IsolatedNetworkArgs.apps_subnet_prefix: received '10.40.0.0/28'"):
            network.IsolatedNetwork("n", {**NETWORK, "apps_subnet_prefix": "10.40.0.0/28"})
        network.IsolatedNetwork("ok", NETWORK)

    pulumi.runtime.set_mocks(mocks, preview=False)
    pulumi.runtime.test(declare)()
    assert mocks.declared.count("liveness:network:IsolatedNetwork") == 2
    assert "azure-native:network:VirtualNetwork" in mocks.declared  # the valid one declares its children


def test_components_import_nothing_from_infra():
    """Import every module of components/ in a fresh interpreter where `infra` cannot be imported."""
    modules = sorted(p.stem for p in (ROOT / "components").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'infra' or name.startswith('infra.'):\n"
        "            raise ImportError('components must not import ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('components.' + m)\n"
        "assert not [m for m in sys.modules if m == 'infra' or m.startswith('infra.')]\n"
        "print(len(" + repr(modules) + "))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(len(modules)) and len(modules) >= 10


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "pr"])
def test_the_program_maps_settings_to_args_that_validate(stack):
    """infra/component_args.py: every stack's Settings give Args the components accept, and the
    proxy app renders from exactly the settings the stack's `proxy render` shows."""
    from infra import component_args
    from infra.stackfiles.files import read_stack_config
    from infra.config.loader import load_settings

    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in read_stack_config(stack).items()}
    settings = load_settings(stack, config, lambda k: False)
    network.validate_args(component_args.network_args(settings, "rg"))
    face.validate_args(component_args.face_args(settings, "rg", "/v", "/s"))
    proxy.validate_args(component_args.proxy_args(settings, "rg", "/s"))
    dns.validate_args(component_args.dns_args(settings, "rg", "fqdn", "id", None))
    app_args = component_args.proxy_app_args(settings, "rg", object(), None, [])
    assert proxy_app.validate_args(app_args) == settings.proxy_settings()
