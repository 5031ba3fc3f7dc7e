"""The proxy's way in: one managed environment inside the stack's VNet, hardened, and one app whose
ingress takes HTTPS for exactly the configured custom domain and exposes nothing else.
"""

from __future__ import annotations

from typing import Iterable

from infra.component_args import infrastructure_resource_group
from infra.plan.invariants.inputs import T_APP, T_ENV, finding, for_the_one, get, on_stack_vnet, one_of
from infra.plan.model import Evaluation, Finding, PlannedResource


@for_the_one(T_ENV, "proxy-environment", "managed environment")
def check_environment(ev: Evaluation, env: PlannedResource) -> Iterable[Finding]:
    inv = "proxy-environment"
    if not on_stack_vnet(ev, get(env.inputs, "vnetConfiguration", "infrastructureSubnetId")):
        yield finding(inv, "the managed environment must be injected into a subnet of the stack's VNet", env.name)
    proxy_app = one_of(ev, T_APP, inv, "proxy container app")
    if isinstance(proxy_app, Finding):
        yield proxy_app
        return
    app = proxy_app.name
    ingress = get(proxy_app.inputs, "configuration", "ingress") or {}
    if ingress.get("external") is not True:
        yield finding(inv, "the proxy ingress must be external", app)
    if ingress.get("transport") != "http":
        yield finding(inv, f"ingress transport is {ingress.get('transport')!r}, must be 'http'", app)
    if ingress.get("allowInsecure") is not False:
        yield finding(inv, "ingress allowInsecure must be false", app)
    if not isinstance(ingress.get("targetPort"), (int, float)):
        yield finding(inv, "ingress needs one target port", app)
    if ingress.get("additionalPortMappings"):
        yield finding(inv, "ingress must expose only the target port", app)
    domains = [d.get("name") for d in ingress.get("customDomains") or []]
    if domains != [ev.settings.proxy.host]:
        yield finding(inv, f"the custom domain must be exactly {ev.settings.proxy.host}, found {domains}", app)


def check_environment_hardening(ev: Evaluation) -> Iterable[Finding]:
    inv = "environment-hardening"
    expected_group = infrastructure_resource_group(ev.settings.name_prefix)
    for env in ev.by_type(T_ENV):
        if get(env.inputs, "peerTrafficConfiguration", "encryption", "enabled") is not True:
            yield finding(inv, "peer traffic encryption must be on (ingress to proxy encrypted inside the environment)",
                          env.name)
        external = get(env.inputs, "vnetConfiguration", "internal") is False
        if env.inputs.get("publicNetworkAccess") != ("Enabled" if external else "Disabled"):
            yield finding(inv, f"publicNetworkAccess must be stated ({'Enabled' if external else 'Disabled'} for this "
                               f"environment), found {env.inputs.get('publicNetworkAccess')!r}", env.name)
        if env.inputs.get("infrastructureResourceGroup") != expected_group:
            yield finding(inv, f"infrastructureResourceGroup must be {expected_group}", env.name)
