"""The stack configuration keys: names, types, real defaults, bounds, choices and documentation.

This table is the single source of truth for what a stack may configure: the typed reader
(infra/config/reader.py) takes each key's default, bounds and choices from here, and the config
reference of docs/configuration.md is generated from it (`liveness-infra config docs`; a test fails
when that page drifts). Where a component owns a value (the nginx image, the rate limits, the account kinds...),
this table imports it from components/ rather than writing it again.
All keys live in the `liveness:` namespace, e.g. `pulumi config set liveness:proxyHost ...`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from components.arg_choices import ACCOUNT_KINDS as FACE_KINDS
from components.arg_choices import (
    CERTIFICATE_SOURCES, DEFAULT_IMAGE, DNS_MODES, DOMAIN_BINDINGS, LOG_RETENTION_DAYS_RANGE, PRIVATE_DNS_MODES,
)
from components.monitoring_queries import ALERT_WINDOW_MINUTES, AlertThresholds
from components.proxy_settings import (
    CONCURRENT_REQUESTS_RANGE, CONTAINER_APPS_PLATFORM_CIDRS, DEFAULT_CLIENT_TIMEOUT_SECONDS,
    DEFAULT_CONCURRENT_REQUESTS, DEFAULT_CPU, DEFAULT_MAX_BODY_BYTES, DEFAULT_MEMORY, DEFAULT_RATE_LIMIT_BURST,
    DEFAULT_RATE_LIMIT_PER_SECOND, DEFAULT_UPSTREAM_TIMEOUT_SECONDS, INGRESS_TIMEOUT_SECONDS, MAX_BODY_BYTES_RANGE, MIB,
    RATE_LIMIT_BURST_RANGE, RATE_LIMIT_PER_SECOND_RANGE, UPSTREAM_HOST_MODES,
)
from infra.errors import ConfigError

NAMESPACE = "liveness"
# The project `name:` in Pulumi.yaml: the namespace `pulumi config set KEY` uses without a prefix
# (refused by infra/config/namespaces.py; tests/unit/test_config_namespaces.py keeps the two equal).
PROJECT_NAME = "face-liveness-isolation"

_ALERTS = AlertThresholds()  # the component's default thresholds
LIFECYCLES = ("prod", "test", "ephemeral")
REGISTRATION_STATES = ("none", "requested", "verifying", "registered")


@dataclass(frozen=True)
class Default:
    """What an unset key means: a real value (`prod` where the prod lifecycle differs), or, for a
    value computed from other keys, the text the reference shows."""

    value: Any = None
    prod: Any = None
    bounds: Optional[tuple[Any, Any]] = None  # inclusive, for int and number keys
    choices: tuple[str, ...] = ()
    derived: str = ""
    note: str = ""

    def for_lifecycle(self, prod: bool) -> Any:
        return self.prod if prod and self.prod is not None else self.value

    @property
    def text(self) -> str:
        """The default as the reference table shows it."""
        if self.derived:
            return self.derived
        if self.value is None:
            return "none"
        shown = f"`{_show(self.value)}`"
        if self.prod is not None:
            shown = f"`{_show(self.prod)}` (prod), {shown} otherwise"
        return f"{shown} {self.note}" if self.note else shown


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def literal(value: Any, *, prod: Any = None, bounds: Optional[tuple[Any, Any]] = None,
            choices: tuple[str, ...] = (), note: str = "") -> Default:
    """A default that is a value (None: the key has no default)."""
    return Default(value=value, prod=prod, bounds=bounds, choices=choices, note=note)


def derived(text: str) -> Default:
    """A default computed from other keys or the stack, shown as `text`."""
    return Default(derived=text)


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # "string" | "bool" | "int" | "number" | "list" | "map" | "secret"
    spec: Default
    doc: str
    group: str

    @property
    def default(self) -> str:
        """The default as shown in the README."""
        return self.spec.text

    @property
    def type_text(self) -> str:
        """The type as the reference shows it, with the inclusive range `config check` enforces."""
        if self.spec.bounds is None:
            return self.type
        low, high = self.spec.bounds
        return f"{self.type}, {_show(low)}–{_show(high)}"


def _k(group: str, name: str, type_: str, spec: Default, doc: str) -> Key:
    return Key(name=name, type=type_, spec=spec, doc=doc, group=group)


KEYS: tuple[Key, ...] = (
    # --- stack -------------------------------------------------------------------------------
    _k("stack", "lifecycle", "string", literal("prod", choices=LIFECYCLES),
       "`prod` (protected resources, teardown refused), `test` (long-lived test stack, may be torn "
       "down) or `ephemeral` (per-PR stack: unique names, may be torn down)."),
    _k("stack", "location", "string", derived("`azure-native:location`"),
       "Azure region for every regional resource, e.g. `westeurope`."),
    _k("stack", "namePrefix", "string", derived("`fl-<stack>`"),
       "Prefix of every Azure resource name: 2–16 lower-case letters, digits, hyphens. The default "
       "lower-cases the stack name, turns other characters into hyphens and keeps 16 characters."),
    _k("stack", "instanceSuffix", "string", derived("hash of the stack name (ephemeral only)"),
       "Extra suffix that makes ephemeral names unique (1–20 lower-case letters, digits, inner hyphens); "
       "the preview-env workflow sets it to the run id so a soft-deleted account never blocks a "
       "re-created environment."),
    _k("stack", "resourceGroupName", "string", derived("`rg-<namePrefix>`"),
       "Resource group the stack creates and deploys into."),
    _k("stack", "tags", "map", literal({}),
       "Extra tags on every taggable resource (the stack adds `environment`, `stack`, `managed-by`): at "
       "most 47, names up to 512 characters without `< > % & \\ ? /`, values up to 256."),
    # --- network -----------------------------------------------------------------------------
    _k("network", "vnetAddressSpace", "string", literal("10.40.0.0/16"),
       "Address space of the VNet: an IPv4 CIDR inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 "
       "(RFC 1918) or 100.64.0.0/10 (RFC 6598). The subnets below must lie inside it."),
    _k("network", "appsSubnetPrefix", "string", literal("10.40.0.0/23"),
       "Subnet for the Container Apps environment (delegated to `Microsoft.App/environments`); at "
       "least /27, inside the VNet, no overlap, and off the ranges Container Apps reserves "
       "(169.254.0.0/16, 172.30.0.0/16, 172.31.0.0/16, 192.0.2.0/24, 100.100.0.0/17 and the "
       "three /19s after it)."),
    _k("network", "endpointsSubnetPrefix", "string", literal("10.40.2.0/27"),
       "Subnet for private endpoints; at least /28, inside the VNet, no overlap."),
    # --- face account ------------------------------------------------------------------------
    _k("face", "faceKind", "string", literal("Face", choices=FACE_KINDS), "`Face` or `AIServices`."),
    _k("face", "faceSku", "string", literal("S0"), "Account SKU. Liveness needs a paid tier: `S0`."),
    _k("face", "faceCustomSubdomain", "string", derived("`<namePrefix>-face[-<suffix>]`"),
       "Custom subdomain (globally unique; required for private endpoints): one DNS label, 2–63 "
       "characters. Also the account name."),
    _k("face", "faceDisableLocalAuth", "bool", literal(True),
       "Disable key authentication; callers use Microsoft Entra ID. Set `false` only if your app server "
       "must use keys."),
    _k("face", "faceRestrictOutboundNetworkAccess", "bool", literal(True),
       "Restrict the account's outbound access to `faceAllowedFqdns`."),
    _k("face", "faceAllowedFqdns", "list", literal(()),
       "FQDNs the account may reach when outbound access is restricted."),
    _k("face", "faceIpRules", "list", literal(()),
       "Refused unless empty: public network access is always Disabled, and Azure applies IP rules "
       "only to the public endpoint, so a rule would deploy and do nothing. Callers outside the apps "
       "subnet reach the private endpoint through `faceAllowedClientCidrs`."),
    _k("face", "faceAllowedClientCidrs", "list", literal(()),
       "Extra sources allowed to reach the private endpoint on 443, e.g. your app server's subnet in a "
       "peered VNet (it creates the liveness sessions). By default only the proxy's subnet may. IPv4 "
       "CIDRs; together at most a /8 (16,777,216 addresses), at most 3,999 of them (Azure's 4,000 "
       "source prefixes per NSG, less the apps subnet); never 0.0.0.0/8, loopback, link-local or "
       "multicast."),
    _k("face", "privateDnsMode", "string", literal("create", choices=PRIVATE_DNS_MODES),
       "`create`: the stack creates `privatelink.cognitiveservices.azure.com` (plus the AI Services "
       "zones for `AIServices`), links it to the VNet and adds a zone group; `existing`: zone group "
       "pointing at `privateDnsZoneIds` (hub-owned zones); `policy`: no zone group, Azure Policy adds it."),
    _k("face", "privateDnsZoneIds", "list", literal(()),
       "Resource ids of existing private DNS zones (mode `existing`); must include "
       "`privatelink.cognitiveservices.azure.com`."),
    _k("face", "privateEndpointIps", "map", derived("top of `endpointsSubnetPrefix`, one per member"),
       "Fixed private IPs of the private endpoint, by member of the `account` group: `default` "
       "(`<sub>.cognitiveservices.azure.com`, the proxy's upstream) for `Face`; plus `secondary` "
       "(`openai.azure.com`) and `third` (`services.ai.azure.com`) for `AIServices`. Members left out "
       "get the highest free usable addresses of the subnet (e.g. `10.40.2.30`, `.29`, `.28`). Each "
       "inside the subnet, distinct, none of Azure's five reserved addresses. Set one with "
       "`pulumi config set --path liveness:privateEndpointIps.default 10.40.2.20`. A change rolls the "
       "proxy to a new revision (see the first-deploy checks for the endpoint itself)."),
    _k("face", "privateDnsLinkVnet", "bool", literal(True),
       "Mode `existing` only: also link each zone in `privateDnsZoneIds` to this stack's VNet (a "
       "`virtualNetworkLinks` child of the hub's zone, in the zone's own subscription and resource "
       "group), so the app server resolves the account privately. Set `false` when the hub's DNS "
       "already resolves for this VNet (custom DNS servers forwarding to a linked resolver)."),
    # --- proxy -------------------------------------------------------------------------------
    _k("proxy", "proxyHost", "string", derived("required"),
       "Public hostname of the liveness proxy, e.g. `liveness.contoso.com`. This is what you register "
       "with Microsoft. `{stack}` is replaced by the stack name (for the ephemeral template)."),
    _k("proxy", "proxyImage", "string", literal(DEFAULT_IMAGE),
       "Stock nginx image, pinned by tag or digest (`latest` or no tag is refused)."),
    _k("proxy", "proxyCpu", "number", literal(DEFAULT_CPU, bounds=(0.25, 4.0)), "vCPU per replica."),
    _k("proxy", "proxyMemory", "string", literal(DEFAULT_MEMORY), "Memory per replica, e.g. `1Gi` (2 GiB per vCPU at most)."),
    _k("proxy", "proxyMinReplicas", "int", literal(1, prod=2, bounds=(0, 300)), "Minimum replicas."),
    _k("proxy", "proxyMaxReplicas", "int", literal(10, bounds=(1, 300)), "Maximum replicas."),
    _k("proxy", "proxyConcurrentRequests", "int", literal(DEFAULT_CONCURRENT_REQUESTS, bounds=CONCURRENT_REQUESTS_RANGE),
       "Concurrent HTTP requests per replica before the scale rule adds a replica."),
    _k("proxy", "proxyZoneRedundant", "bool", literal(False, prod=True),
       "Zone-redundant Container Apps environment (region must support availability zones)."),
    _k("proxy", "proxyAllowBrowserPreflight", "bool", literal(False),
       "Also forward OPTIONS on the four routes (browser clients of the web SDK)."),
    _k("proxy", "proxyRateLimitPerSecond", "int",
       literal(DEFAULT_RATE_LIMIT_PER_SECOND, bounds=RATE_LIMIT_PER_SECOND_RANGE), "Requests per second per client IP."),
    _k("proxy", "proxyRateLimitBurst", "int",
       literal(DEFAULT_RATE_LIMIT_BURST, bounds=RATE_LIMIT_BURST_RANGE), "Burst allowance per client IP above the rate."),
    _k("proxy", "proxyMaxBodyBytes", "int", literal(DEFAULT_MAX_BODY_BYTES, bounds=(MAX_BODY_BYTES_RANGE[0], 64 * MIB), note="(8 MiB)"),
       "Largest request body accepted (a 6 MB image in multipart fits)."),
    _k("proxy", "proxyTrustedProxyCidrs", "list", derived(f"`[appsSubnetPrefix, {', '.join(CONTAINER_APPS_PLATFORM_CIDRS)}]`"),
       "Peers (the Container Apps ingress) whose right-most X-Forwarded-For entry is the client IP "
       "for the rate limit and the log. Together at most a /8."),
    _k("proxy", "proxyClientTimeoutSeconds", "int", literal(DEFAULT_CLIENT_TIMEOUT_SECONDS, bounds=(5, INGRESS_TIMEOUT_SECONDS - 1)),
       "Client body/header timeout (below the ingress's 240 s)."),
    _k("proxy", "proxyUpstreamTimeoutSeconds", "int", literal(DEFAULT_UPSTREAM_TIMEOUT_SECONDS, bounds=(5, INGRESS_TIMEOUT_SECONDS - 1)),
       "Timeout talking to the Face endpoint (below the ingress's 240 s)."),
    _k("proxy", "proxyUpstreamHost", "string", literal(UPSTREAM_HOST_MODES[0], choices=UPSTREAM_HOST_MODES),
       "Host header sent to Face: `client` (the Host the client sent, i.e. the proxy hostname, "
       "unchanged, as Microsoft's how-to asks) or `account` (the account hostname). TLS SNI and the "
       "verified certificate name are the account hostname in both. See the runbook for how to tell "
       "which one your registration expects."),
    _k("proxy", "proxyCertificateSource", "string", literal("managed", choices=CERTIFICATE_SOURCES),
       "`managed` (free managed certificate, validated through the CNAME) or `keyvault` (bring your own)."),
    _k("proxy", "proxyDomainBinding", "string", literal("auto", choices=DOMAIN_BINDINGS),
       "Managed certificates only. `auto`: one `pulumi up` adds the hostname and the platform binds the "
       "managed certificate once issued (bindingType Auto). Fallback two-phase flow if Auto is not "
       "available in your region: `bootstrap` (hostname added unbound, certificate issued), then "
       "`bound` (hostname bound to that certificate with SNI)."),
    _k("proxy", "proxyKeyVaultCertificateUrl", "string", literal(None),
       "Key Vault secret URL of the certificate (`keyvault` source), "
       "e.g. `https://kv.vault.azure.net/secrets/liveness`."),
    _k("proxy", "proxyKeyVaultIdentity", "string", literal(None),
       "Resource id of the user-assigned identity the environment uses to read that secret "
       "(needs `Key Vault Secrets User`)."),
    # --- operations: diagnostics, locks, access ---------------------------------------------
    _k("operations", "logRetentionDays", "int", literal(LOG_RETENTION_DAYS_RANGE[0], prod=90, bounds=LOG_RETENTION_DAYS_RANGE),
       "Retention of the Log Analytics workspace (30–730 days): the proxy's access log and the Face "
       "account's Audit and RequestResponse logs and metrics."),
    _k("operations", "managementLocks", "bool", literal(False, prod=True),
       "Prod only: a `CanNotDelete` management lock on the Face account, the private endpoint, the "
       "created public zone (on its SOA record set) and the verification record, each depending on what it blocks and "
       "Pulumi-protected. To lift them: `pulumi state unprotect` each lock, set `false`, `pulumi up` (docs/operations.md); "
       "`true` is refused for test and ephemeral stacks, which teardown removes."),
    _k("operations", "faceAppServerPrincipalIds", "list", literal(()),
       "Object ids of the service principals (managed identities, app registrations) of your app server: "
       "each gets *Cognitive Services Face Recognizer* on this account only, enough to create liveness "
       "sessions with a Microsoft Entra token (local auth is disabled)."),
    # --- public dns --------------------------------------------------------------------------
    _k("dns", "dnsMode", "string", literal("create", choices=DNS_MODES),
       "`create`: a public Azure DNS zone `dnsZoneName` (delegate it from the parent using the "
       "`nameServers` output); `existing`: records in an existing Azure DNS zone; `external`: create "
       "nothing, the `dnsRecords` output lists the records for your DNS provider."),
    _k("dns", "dnsZoneName", "string", derived("required for `create`/`existing`"),
       "Public zone that holds the proxy host, e.g. `contoso.com`; `proxyHost` must be below it."),
    _k("dns", "dnsZoneResourceGroup", "string", derived("the stack's resource group"),
       "Resource group of the existing zone (mode `existing`)."),
    _k("dns", "dnsRecordTtl", "int", literal(300, bounds=(30, 86400)), "TTL of the CNAME and asuid TXT records (seconds)."),
    _k("dns", "verificationTxtTtl", "int", literal(60, bounds=(30, 3600)),
       "TTL of the `azaiverify` TXT record; short, so a corrected value is seen within the 48-hour window."),
    # --- microsoft registration --------------------------------------------------------------
    _k("registration", "registrationState", "string", literal("none", choices=REGISTRATION_STATES),
       "Where the Microsoft registration stands: `none`, `requested` (support ticket open), `verifying` "
       "(verification code received: `verificationCode` and `verificationCodeIssuedAt` required) or "
       "`registered` (Microsoft enabled the proxy: `registeredProxyHost` pins `proxyHost`)."),
    _k("registration", "verificationCode", "secret", literal(None),
       "The verification string from Microsoft support, set with `pulumi config set --secret`. Published "
       "as TXT at `azaiverify.<proxyHost>`."),
    _k("registration", "verificationCodeIssuedAt", "string", literal(None),
       "When support issued the code (ISO-8601 UTC, e.g. `2026-11-20T09:30:00Z`); starts the 48-hour window."),
    _k("registration", "registeredProxyHost", "string", literal(None),
       "The hostname Microsoft registered (state `registered`); must equal `proxyHost`."),
    _k("registration", "allowProxyHostChange", "bool", literal(False),
       "Override: allow `proxyHost` to differ from `registeredProxyHost` (you must re-register with "
       "Microsoft, which takes a support ticket and a new 48-hour verification)."),
    # --- monitoring ---------------------------------------------------------------------------
    _k("monitoring", "monitoringEnabled", "bool", literal(False, prod=True),
       "Deploy the proxy's monitoring: saved searches, a workbook, alert rules and the certificate check "
       "(see Monitoring)."),
    _k("monitoring", "alertEmails", "list", literal(()),
       "E-mail addresses the alerts go to (an action group; each address gets a confirmation e-mail). "
       "Without these or `alertWebhookUrl` alerts only show in Azure Monitor."),
    _k("monitoring", "alertWebhookUrl", "secret", literal(None),
       "HTTPS webhook the alerts are posted to (common alert schema), set with `pulumi config set --secret` "
       "because such URLs usually carry a token."),
    _k("monitoring", "alertErrorRatePercent", "number", literal(_ALERTS.error_rate_percent, bounds=(0.1, 100.0)),
       "Alert when more than this share of requests answers 5xx over the window."),
    _k("monitoring", "alertMinRequests", "int", literal(_ALERTS.min_requests, bounds=(1, 1_000_000)),
       "Requests a window needs before its 5xx rate is judged (one failed request of two is not an outage)."),
    _k("monitoring", "alertFace403Count", "int", literal(_ALERTS.face_403_count, bounds=(1, 1_000_000)),
       "Alert when Face answers 403 this many times in the window (registration broken or not routed)."),
    _k("monitoring", "alertThrottledCount", "int", literal(_ALERTS.throttled_count, bounds=(1, 1_000_000)),
       "Alert on this many 429s in the window (the proxy's rate limit and Face throttling)."),
    _k("monitoring", "alertRestartCount", "int", literal(_ALERTS.restart_count, bounds=(1, 1000)),
       "Alert when a replica has restarted this many times since it started (a counter, not a rate per window)."),
    _k("monitoring", "alertCertificateDays", "int", literal(_ALERTS.certificate_days, bounds=(1, 365)),
       "The certificate check fails when the served certificate has fewer days left."),
    _k("monitoring", "alertWindowMinutes", "int",
       literal(_ALERTS.window_minutes, bounds=(min(ALERT_WINDOW_MINUTES), max(ALERT_WINDOW_MINUTES))),
       "Window every alert looks at, evaluated every 5 minutes: 5, 15, 30 or 60 (the windows metric and log alerts both accept)."),
    _k("monitoring", "monitoringCertificateCheck", "bool", literal(True),
       "Application Insights availability test on `https://<proxyHost>/` from three Azure locations every "
       "5 minutes: expects the proxy's own 404 over a valid certificate."),
)

KEYS_BY_NAME: dict[str, Key] = {k.name: k for k in KEYS}

GROUP_TITLES: dict[str, str] = {
    "stack": "Stack",
    "network": "Network",
    "face": "Face account",
    "proxy": "Proxy",
    "dns": "Public DNS",
    "operations": "Operations: diagnostics, locks, access",
    "registration": "Microsoft registration",
    "monitoring": "Monitoring",
}


def render_reference_table() -> str:
    """The Markdown config reference embedded in docs/configuration.md."""
    lines: list[str] = []
    for group, title in GROUP_TITLES.items():
        lines.append(f"**{title}**")
        lines.append("")
        lines.append("| key | type | default | meaning |")
        lines.append("| --- | --- | --- | --- |")
        for key in KEYS:
            if key.group == group:
                lines.append(f"| `{NAMESPACE}:{key.name}` | {key.type_text} | {key.default} | {key.doc} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def check_known_keys(raw: Mapping[str, Any]) -> None:
    """Refuse a `liveness:` key this table does not declare, naming the closest one."""
    for name in raw:
        if name not in KEYS_BY_NAME:
            close = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1)
            hint = f" (did you mean {NAMESPACE}:{close[0]}?)" if close else ""
            raise ConfigError(f"{NAMESPACE}:{name}", raw[name], f"no such key: use a key from the config reference{hint}")
