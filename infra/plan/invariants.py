"""The security invariants (documented in docs/invariants.md), checked on an offline evaluation.

Pure: works on the recorded resource inputs (what the provider would receive). Each failed
invariant is a Finding; an empty list means every invariant holds. `liveness-infra plan` prints
these, and the unit tests assert there are none for every stack. The checks of issue 8 are in
infra/plan/invariants_upstream.py, those of issue 10 in infra/plan/invariants_platform.py.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from components import proxy_config, proxy_settings
from components.dns_records import ASUID_LABEL, VERIFICATION_LABEL
from components.face import COGNITIVE_ZONE
from infra.plan.invariants_platform import PLATFORM_CHECKS
from infra.plan.model import Evaluation, Finding
from infra.plan.invariant_helpers import (
    T_ACCOUNT, T_APP, T_ENDPOINT, T_ENV, T_PRIVATE_ZONE, T_RECORD, T_ZONE, T_ZONE_GROUP,
    T_ZONE_LINK, _all_secret, _finding, _get, _in_vnet, _subnet_for_id,
)
from infra.plan.invariants_upstream import (
    check_hub_zone_links, check_private_endpoint_ips, check_proxy_host_header, check_proxy_upstream,
    check_trusted_proxy_ranges,
)
from infra.plan.invariant_helpers import T_PROVIDER, T_SUBNET, T_VNET  # noqa: F401 (re-exported: this module's interface)


def check_invariants(ev: "Evaluation") -> list["Finding"]:
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(ev))
        except proxy_settings.ProxyConfigError as exc:
            # Settings the renderer refuses (e.g. a mutated plan) are a broken invariant, not a crash.
            findings.append(_finding("proxy-config", f"the proxy configuration cannot be rendered: {exc}"))
    return findings


def check_account(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "face-account"
    accounts = ev.by_type(T_ACCOUNT)
    if len(accounts) != 1:
        yield _finding(inv, f"expected one Face account, found {len(accounts)}")
        return
    account = accounts[0]
    props = account.inputs.get("properties") or {}
    if props.get("publicNetworkAccess") != "Disabled":
        yield _finding(inv, f"publicNetworkAccess is {props.get('publicNetworkAccess')!r}, must be 'Disabled'", account.name)
    if _get(props, "networkAcls", "defaultAction") != "Deny":
        yield _finding(inv, "networkAcls.defaultAction must be 'Deny'", account.name)
    if not props.get("customSubDomainName"):
        yield _finding(inv, "a custom subdomain is required for private endpoints", account.name)
    rules = _get(props, "networkAcls", "ipRules") or []
    if rules and not ev.settings.face.ip_rules:
        yield _finding(inv, "IP rules present although faceIpRules is not configured", account.name)
    if ev.settings.prod_like and not account.protect:
        yield _finding("prod-protection", "the Face account must be protected in a prod lifecycle stack", account.name)


def check_private_endpoint(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "private-endpoint"
    endpoints = ev.by_type(T_ENDPOINT)
    if len(endpoints) != 1:
        yield _finding(inv, f"expected one private endpoint, found {len(endpoints)}")
        return
    pe = endpoints[0]
    subnet = _subnet_for_id(ev, _get(pe.inputs, "subnet", "id"))
    if subnet is None or not _in_vnet(ev, subnet):
        yield _finding(inv, "the private endpoint must sit on a subnet of the stack's VNet", pe.name)
    connections = pe.inputs.get("privateLinkServiceConnections") or []
    account_ids = {f"/{ev.settings.face.account_name}"}
    if len(connections) != 1 or connections[0].get("groupIds") != ["account"]:
        yield _finding(inv, "the private endpoint needs exactly one connection with groupIds ['account']", pe.name)
    elif not str(connections[0].get("privateLinkServiceId", "")).endswith(tuple(account_ids)):
        yield _finding(inv, "the private endpoint must point at the Face account", pe.name)

    mode = ev.settings.face.private_dns_mode
    groups = ev.by_type(T_ZONE_GROUP)
    if mode == "policy":
        if groups:
            yield _finding(inv, "privateDnsMode policy: the stack must not declare a zone group (Azure Policy owns it)")
        return
    if len(groups) != 1:
        yield _finding(inv, f"expected one private DNS zone group, found {len(groups)}")
        return
    zone_ids = [c.get("privateDnsZoneId", "") for c in groups[0].inputs.get("privateDnsZoneConfigs") or []]
    if not any(str(z).lower().endswith("/" + COGNITIVE_ZONE) for z in zone_ids):
        yield _finding(inv, f"the zone group must include {COGNITIVE_ZONE}", groups[0].name)
    if mode == "create":
        zones = {z.inputs.get("privateZoneName"): z for z in ev.by_type(T_PRIVATE_ZONE)}
        if COGNITIVE_ZONE not in zones:
            yield _finding(inv, f"{COGNITIVE_ZONE} must be created (privateDnsMode create)")
        for zone in zones.values():
            if zone.inputs.get("location") != "global":
                yield _finding(inv, "private DNS zones must have location 'global'", zone.name)
        linked = {link.inputs.get("privateZoneName") for link in ev.by_type(T_ZONE_LINK)
                  if str(_get(link.inputs, "virtualNetwork", "id") or "").endswith("/" + ev.settings.resource_name("vnet"))}
        for zone_name in zones:
            if zone_name not in linked:
                yield _finding(inv, f"{zone_name} must be linked to the stack's VNet")


def check_environment(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "proxy-environment"
    envs = ev.by_type(T_ENV)
    if len(envs) != 1:
        yield _finding(inv, f"expected one managed environment, found {len(envs)}")
        return
    env = envs[0]
    subnet = _subnet_for_id(ev, _get(env.inputs, "vnetConfiguration", "infrastructureSubnetId"))
    if subnet is None or not _in_vnet(ev, subnet):
        yield _finding(inv, "the managed environment must be injected into a subnet of the stack's VNet", env.name)
    apps = ev.by_type(T_APP)
    if len(apps) != 1:
        yield _finding(inv, f"expected one proxy container app, found {len(apps)}")
        return
    ingress = _get(apps[0].inputs, "configuration", "ingress") or {}
    if ingress.get("external") is not True:
        yield _finding(inv, "the proxy ingress must be external", apps[0].name)
    if ingress.get("transport") != "http":
        yield _finding(inv, f"ingress transport is {ingress.get('transport')!r}, must be 'http'", apps[0].name)
    if ingress.get("allowInsecure") is not False:
        yield _finding(inv, "ingress allowInsecure must be false", apps[0].name)
    if not isinstance(ingress.get("targetPort"), (int, float)):
        yield _finding(inv, "ingress needs one target port", apps[0].name)
    if ingress.get("additionalPortMappings"):
        yield _finding(inv, "ingress must expose only the target port", apps[0].name)
    domains = [d.get("name") for d in ingress.get("customDomains") or []]
    if domains != [ev.settings.proxy.host]:
        yield _finding(inv, f"the custom domain must be exactly {ev.settings.proxy.host}, found {domains}", apps[0].name)


_LOCATION_RE = re.compile(r"location\s+(?:~\*|~|=)?\s*(\S+)\s*\{")


def check_proxy_config(ev: "Evaluation") -> Iterable["Finding"]:
    """The shipped nginx configuration forwards only the four routes, with Host/SNI = account host."""
    inv = "proxy-config"
    conf = proxy_config.render_nginx_config(ev.settings.proxy_settings())
    host = ev.settings.face.endpoint_host
    if f"proxy_ssl_name {host};" not in conf and f'proxy_ssl_name "{host}";' not in conf:
        yield _finding(inv, f"TLS SNI must be the account hostname {host}")
    if "proxy_ssl_server_name on;" not in conf:
        yield _finding(inv, "proxy_ssl_server_name must be on")
    if "proxy_ssl_verify on;" not in conf:
        yield _finding(inv, "the upstream certificate must be verified")
    passes = len(re.findall(r"^\s*proxy_pass\s", conf, flags=re.MULTILINE))
    if passes < 1:
        yield _finding(inv, "no proxy_pass in the rendered configuration")
    for route in ("session/start", "session/attempt/end", "detectLiveness/singleModal", "detectLivenessWithVerify/singleModal"):
        if route.lower() not in conf.lower():
            yield _finding(inv, f"route {route} missing from the allowlist")
    if "detectLiveness-sessions".lower() in conf.lower():
        yield _finding(inv, "session creation must never be forwarded by the proxy")
    for line in re.findall(r"^\s*log_format\s.*$", conf, flags=re.MULTILINE):
        leaked = [v for v in SECRET_LOG_VARIABLES if v in line.lower()]
        if leaked:
            yield _finding(inv, f"the access log must not record credentials or bodies: {', '.join(leaked)}")


# Variables that would put credentials or bodies in the access log (Face keys travel in
# Ocp-Apim-Subscription-Key, tokens in Authorization).
SECRET_LOG_VARIABLES = ("$http_authorization", "$http_cookie", "$cookie_", "$request_body",
                        "$http_ocp_apim_subscription_key", "$sent_http_set_cookie")


def check_public_dns(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "public-dns"
    s = ev.settings
    if s.dns.mode == "external":
        names = {r["name"]: r for r in ev.outputs.get("dnsRecords") or []}
        expected = [s.proxy.host, f"{ASUID_LABEL}.{s.proxy.host}"]
        if s.registration.verification_code_configured:
            expected.append(f"{VERIFICATION_LABEL}.{s.proxy.host}")
        for name in expected:
            if name not in names:
                yield _finding(inv, f"external mode must list the record {name}")
        return
    records = {(r.inputs.get("relativeRecordSetName"), r.inputs.get("recordType")): r for r in ev.by_type(T_RECORD)}
    rel = s.proxy.host[: -(len(s.dns.zone_name) + 1)]
    if (rel, "CNAME") not in records and (rel, "A") not in records:
        yield _finding(inv, f"a CNAME (or A) record for {s.proxy.host} is required")
    if (f"{ASUID_LABEL}.{rel}", "TXT") not in records:
        yield _finding(inv, f"the {ASUID_LABEL}.{s.proxy.host} TXT record is required")
    verification = records.get((f"{VERIFICATION_LABEL}.{rel}", "TXT"))
    if s.registration.verification_code_configured:
        if verification is None:
            yield _finding(inv, f"the {VERIFICATION_LABEL}.{s.proxy.host} TXT record is required when a code is configured")
        elif not _all_secret(verification.inputs.get("txtRecords")):
            yield _finding(inv, "the verification code must be a secret in the TXT record's inputs", verification.name)
        elif s.prod_like and not verification.protect:
            yield _finding("prod-protection", "the verification TXT record must be protected in a prod lifecycle stack", verification.name)
    if s.prod_like and s.dns.mode == "create":
        for zone in ev.by_type(T_ZONE):
            if not zone.protect:
                yield _finding("prod-protection", "the public zone must be protected in a prod lifecycle stack", zone.name)


def check_outputs(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "secrets"
    code = ev.outputs.get("verificationCode")
    if code is not None and code != "[secret]":
        yield _finding(inv, "the verification code must only be exported as a secret")


CHECKS: tuple[Callable[["Evaluation"], Iterable["Finding"]], ...] = (
    check_account,
    check_private_endpoint,
    check_environment,
    check_proxy_config,
    check_public_dns,
    check_outputs,
    *PLATFORM_CHECKS,
    check_private_endpoint_ips,
    check_proxy_upstream,
    check_proxy_host_header,
    check_trusted_proxy_ranges,
    check_hub_zone_links,
)

