"""The `liveness` component package: the schema Pulumi's component hosting infers from components/
(computed in-process, as the provider does at start-up: no CLI), and the YAML example against it."""

import json
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider

from components import package
from components.catalog import COMPONENTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema() -> dict:
    text = ComponentProvider(list(COMPONENTS), package.PACKAGE, None, "0.0.0").schema
    assert text is not None, "the provider generated no schema"
    return json.loads(text)


def _type(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1].replace("%2F", "/")
    if prop.get("type") == "array":
        return f"array<{_type(prop['items'])}>"
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return f"map<{_type(prop['additionalProperties'])}>"
    return prop["type"]


def test_schema_lists_every_component(schema):
    assert schema["name"] == "liveness"
    assert sorted(schema["resources"]) == sorted(f"liveness:index:{c.__name__}" for c in COMPONENTS)
    assert all(r["isComponent"] for r in schema["resources"].values())


@pytest.mark.parametrize("component, name, expected, required", [
    ("IsolatedNetwork", "vnetAddressSpace", "string", True),
    ("IsolatedNetwork", "endpointClientCidrs", "array<string>", False),
    ("IsolatedNetwork", "resourceGroupName", "string", True),
    ("FaceAccount", "privateEndpointIps", "array<liveness:index:PrivateEndpointIpArgs>", False),
    ("FaceAccount", "disableLocalAuth", "boolean", False),
    ("FaceAccount", "vnetId", "string", True),
    # The AVM interfaces: lock, diagnostic settings and role assignments are the component's inputs.
    ("FaceAccount", "lock", "liveness:index:LockArgs", False),
    ("FaceAccount", "diagnosticSettings", "array<liveness:index:DiagnosticSettingArgs>", False),
    ("FaceAccount", "roleAssignments", "array<liveness:index:RoleAssignmentArgs>", False),
    ("ProxyDns", "lock", "liveness:index:LockArgs", False),
    ("LivenessProxy", "logRetentionDays", "integer", False),
    ("LivenessProxy", "appsSubnetId", "string", True),
    ("LivenessProxyApp", "environment", "azure-native:app:ManagedEnvironment", True),
    ("LivenessProxyApp", "routing", "liveness:index:ProxyRoutingArgs", True),
    ("LivenessProxyApp", "dnsRecordIds", "array<string>", False),
    ("LivenessProxyApp", "cpu", "number", False),
    ("ProxyDns", "verificationCode", "string", False),
    ("ProxyDns", "tags", "map<string>", False),
    ("ProxyMonitoring", "thresholds", "liveness:index:AlertThresholdsArgs", False),
])
def test_typed_inputs(schema, component, name, expected, required):
    resource = schema["resources"][f"liveness:index:{component}"]
    assert _type(resource["inputProperties"][name]) == expected
    assert (name in resource.get("requiredInputs", [])) is required


@pytest.mark.parametrize("component, name, expected", [
    ("IsolatedNetwork", "vnetId", "string"),
    ("IsolatedNetwork", "endpointsSubnetId", "string"),
    ("FaceAccount", "endpointHost", "string"),
    ("FaceAccount", "reportedIpsByFqdn", "map<array<string>>"),
    ("LivenessProxy", "environment", "azure-native:app:ManagedEnvironment"),
    ("LivenessProxy", "ingressFqdn", "string"),
    ("LivenessProxy", "verificationId", "string"),
    ("ProxyDns", "recordIds", "array<string>"),
    ("LivenessProxyApp", "appId", "string"),
    ("ProxyMonitoring", "workbookId", "string"),
])
def test_typed_outputs(schema, component, name, expected):
    assert _type(schema["resources"][f"liveness:index:{component}"]["properties"][name]) == expected


def test_every_input_is_documented_in_one_line(schema):
    """Each Args field carries its one-line docstring (with its default) into the schema."""
    missing = [f"{token}.{name}" for token, r in schema["resources"].items()
               for name, prop in r["inputProperties"].items()
               if not prop.get("description") or "\n" in prop["description"]]
    assert missing == []


def test_the_yaml_example_uses_the_schema(schema):
    program = yaml.safe_load((ROOT / "examples" / "yaml-consumer" / "Pulumi.yaml").read_text())
    assert program["packages"]["liveness"] == "../../provider"
    used = {r["type"] for r in program["resources"].values() if r["type"].startswith("liveness:")}
    assert used == set(schema["resources"]) - {"liveness:index:ProxyMonitoring"}
    for name, resource in program["resources"].items():
        if not resource["type"].startswith("liveness:"):
            continue
        spec = schema["resources"][resource["type"]]
        given = set(resource["properties"])
        assert given <= set(spec["inputProperties"]), f"{name}: unknown {sorted(given - set(spec['inputProperties']))}"
        assert set(spec.get("requiredInputs", [])) <= given, f"{name}: missing {sorted(set(spec['requiredInputs']) - given)}"


def test_the_plugin_manifest_points_at_the_entry_point():
    manifest = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"] == "python"
    entry = (ROOT / "provider" / "__main__.py").read_text()
    assert "component_provider_host" in entry and "components.catalog" in entry


class _Recording(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.declared: list[tuple[str, str]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.declared.append((args.typ, args.name))
        return f"/mock/{args.name}", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        # No failures as an empty list: the mock monitor iterates the second item (None would raise).
        return {}, []


def test_the_provider_constructs_from_schema_inputs(monkeypatch):
    """What the provider does on a consumer's request: camelCase inputs → Args → the component,
    registered under the schema's token, with its outputs as the returned state."""
    monkeypatch.setattr(package, "hosted", True)
    provider = ComponentProvider(list(COMPONENTS), package.PACKAGE, None, "0.0.0")
    mocks = _Recording()
    result = {}

    def construct():
        result["r"] = provider.construct("net", "liveness:index:IsolatedNetwork", {
            "resourceGroupName": "rg", "location": "westeurope", "vnetName": "v", "appsNsgName": "a",
            "endpointsNsgName": "e", "vnetAddressSpace": "10.40.0.0/16", "appsSubnetPrefix": "10.40.0.0/23",
            "endpointsSubnetPrefix": "10.40.2.0/27", "endpointClientCidrs": ["10.60.0.0/24"]})

    pulumi.runtime.set_mocks(mocks, preview=False)
    pulumi.runtime.test(construct)()
    assert ("liveness:index:IsolatedNetwork", "net") in mocks.declared
    assert ("azure-native:network:Subnet", "net-endpoints-subnet") in mocks.declared
    assert {"vnetId", "appsSubnetId", "endpointsSubnetId"} <= set(result["r"].state)


def test_the_provider_wires_environment_to_app(monkeypatch):
    """A consumer passes LivenessProxy's `environment` output (a resource reference) to
    LivenessProxyApp: the app runs in it and the managed certificate is created in it."""
    monkeypatch.setattr(package, "hosted", True)
    provider = ComponentProvider(list(COMPONENTS), package.PACKAGE, None, "0.0.0")
    mocks = _Recording()
    states = {}

    def construct():
        env = provider.construct("proxy", "liveness:index:LivenessProxy", {
            "resourceGroupName": "rg", "location": "westeurope", "appsSubnetId": "/s", "workspaceName": "w",
            "environmentName": "cae", "appName": "proxy", "infrastructureResourceGroup": "rg-i"})
        states["proxy"] = env.state
        app = provider.construct("proxy", "liveness:index:LivenessProxyApp", {
            "resourceGroupName": "rg", "location": "westeurope", "environment": env.state["environment"],
            "appName": "proxy", "host": "liveness.contoso.com",
            "routing": {"faceHost": "f.cognitiveservices.azure.com", "upstreamAddress": "10.0.2.4"}})
        states["app"] = app.state

    pulumi.runtime.set_mocks(mocks, preview=False)
    pulumi.runtime.test(construct)()
    assert {"environment", "ingressFqdn", "verificationId"} <= set(states["proxy"])
    assert {"appId", "configSha256"} <= set(states["app"])
    assert ("azure-native:app:ContainerApp", "proxy-app") in mocks.declared
    assert ("azure-native:app:ManagedCertificate", "proxy-managed-cert") in mocks.declared
