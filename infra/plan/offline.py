"""Evaluate the Pulumi program offline, under Pulumi's mock runtime (no CLI, no credentials).

The program runs for real (preview is off, so every `apply` runs) against a mock resource monitor
that records each registration: its type, logical name, parent and the inputs the provider would
receive. Provider-computed values (ids, default domains, verification ids, name servers) get
plausible stand-ins. Secret inputs are recorded as "[secret]".
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Mapping, Optional

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings as runtime_settings

from infra.stackfiles.files import read_stack_config_and_secure_keys
from infra.plan import arm_ids
from infra.config.loader import load_settings
from infra.config.reader import runtime_strings
from infra.plan.invariants.checks import check_invariants
from infra.plan.model import PROJECT, SECRET, Evaluation, PlannedResource


def redact(value: Any) -> Any:
    """Inputs with every secret replaced by "[secret]" (the unwrapped value never leaves here)."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _stand_ins(type_token: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Provider-computed outputs the program reads, with plausible offline values."""
    digest = hashlib.sha256(f"{type_token}/{name}".encode()).hexdigest()
    location = inputs.get("location", "westeurope")
    if type_token == "azure-native:app:ManagedEnvironment":
        return {
            "defaultDomain": f"{digest[:12]}.{location}.azurecontainerapps.io",
            "customDomainConfiguration": {"customDomainVerificationId": digest.upper()},
            "staticIp": "20.0.0.10",
        }
    if type_token == "azure-native:operationalinsights:Workspace":
        return {"customerId": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"}
    if type_token == "azure-native:dns:Zone":
        n = int(digest[:2], 16) % 9 + 1
        return {"nameServers": [f"ns{i}-0{n}.azure-dns.{tld}." for i, tld in ((1, "com"), (2, "net"), (3, "org"), (4, "info"))]}
    if type_token == "azure-native:network:PrivateEndpoint":
        static = inputs.get("ipConfigurations") or []
        if static:  # Azure gives each member its static address; the FQDNs here are placeholders
            return {"customDnsConfigs": [{"fqdn": f"{c.get('memberName')}.offline-stand-in", "ipAddresses": [c.get("privateIPAddress")]}
                                         for c in static]}
        return {"customDnsConfigs": [{"fqdn": "mock.cognitiveservices.azure.com", "ipAddresses": ["10.0.0.4"]}]}
    return {}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[PlannedResource] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        plain = {k: rpc.unwrap_rpc_secret(v) for k, v in inputs.items()}
        arm_id = arm_ids.arm_id(args.typ, args.name, plain)
        own_name = arm_ids.own_name(args.typ, args.name, plain)
        state = {**inputs, "name": own_name, **_stand_ins(args.typ, own_name, plain)}
        identity = plain.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Inputs list identity ids; the provider's output maps each id to its details.
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return arm_id, state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "azure-native:operationalinsights:getSharedKeys":
            return {"primarySharedKey": "offline-mock-shared-key", "secondarySharedKey": "offline-mock-shared-key"}
        return {}


# Called with each registration request and the monitor's response (the URN tests read URNs this way).
RegistrationObserver = Callable[[Any, Any], None]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Records registrations with their parent, including component resources."""

    def __init__(self, mocks: RecordingMocks, observe: Optional[RegistrationObserver] = None):
        super().__init__(mocks)
        self.recorded: list[PlannedResource] = []
        self._names_by_urn: dict[str, str] = {}
        self._observe = observe

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if self._observe is not None:
            self._observe(request, response)
        if request.type != "pulumi:pulumi:Stack":
            inputs = redact(rpc.deserialize_properties(request.object))
            self._names_by_urn[response.urn] = request.name
            self.recorded.append(PlannedResource(
                type=request.type,
                name=request.name,
                parent=self._names_by_urn.get(request.parent),
                inputs=inputs,
                custom=bool(request.custom),
                protect=bool(getattr(request, "protect", False)),
                after_delete_hooks=list(request.hooks.after_delete),
                dependencies=self._dependency_names(request),
                deleted_with=self._names_by_urn.get(request.deletedWith) if request.deletedWith else None,
                provider=_provider_name(request.provider),
            ))
        return response


    def _dependency_names(self, request) -> list[str]:
        urns = set(request.dependencies)
        for deps in request.propertyDependencies.values():
            urns.update(deps.urns)
        return sorted({self._names_by_urn[u] for u in urns if u in self._names_by_urn})


def _provider_name(reference: str) -> Optional[str]:
    """`urn:pulumi:stack::project::pulumi:providers:azure-native::NAME::id` → NAME (default providers → None)."""
    if not reference:
        return None
    urn = reference.split("::", 4)
    name = urn[3] if len(urn) >= 4 else ""
    return None if name.startswith("default") else name or None


def reset_runtime() -> None:
    runtime_settings.SETTINGS.outputs.clear() if hasattr(runtime_settings.SETTINGS, "outputs") else None
    runtime_settings._set_root_resource(None) if hasattr(runtime_settings, "_set_root_resource") else None


def evaluate_config(stack: str, config: Mapping[str, Any], secret_keys: tuple[str, ...] = (),
                    observe: Optional[RegistrationObserver] = None) -> Evaluation:
    """Run the program for `stack` with `config` (`ns:key` → value) under the mock runtime;
    `observe` sees every registration as the monitor answers it."""
    from infra import program

    # Exactly what `pulumi up` hands the program: strings (native values become their runtime text).
    string_config = runtime_strings(config, "")
    settings = load_settings(stack, string_config, secret_keys.__contains__)

    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks, observe)
    reset_runtime()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(string_config, list(secret_keys))

    evaluation = Evaluation(stack=stack, settings=settings)
    captured: dict[str, Any] = {}

    secret_outputs: set[str] = set()

    def run() -> Any:
        outputs = program.build(settings)

        async def resolve() -> None:
            for key, value in outputs.items():
                out = pulumi.Output.from_input(value)
                captured[key] = await out.future()
                if await out.is_secret():
                    secret_outputs.add(key)

        return pulumi.Output.from_input(resolve())

    try:
        pulumi.runtime.mocks.test(run)()
    finally:
        reset_runtime()

    evaluation.outputs = {k: (SECRET if k in secret_outputs else v) for k, v in captured.items()}
    evaluation.resources = monitor.recorded
    evaluation.findings = check_invariants(evaluation)
    return evaluation


def evaluate_stack(stack: str, template: Optional[str] = None,
                   observe: Optional[RegistrationObserver] = None) -> Evaluation:
    """Evaluate stacks/Pulumi.<stack>.yaml (or the `template` file under the name `stack`)."""
    config, secure = read_stack_config_and_secure_keys(template or stack)
    return evaluate_config(stack, config, tuple(sorted(secure)), observe)

