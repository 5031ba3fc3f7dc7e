"""The stack configuration keys: names, types, defaults and documentation.

This table is the single source of truth for what a stack may configure. infra/config.py reads
and validates values against it, and the README's config reference is generated from it
(`liveness-infra config docs`); a test fails when the README drifts from this table.
All keys live in the `liveness:` namespace, e.g. `pulumi config set liveness:proxyHost ...`.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "liveness"
# The project `name:` in Pulumi.yaml: the namespace `pulumi config set KEY` uses without a prefix
# (refused by infra/config_namespaces.py; tests/unit/test_config_namespaces.py keeps the two equal).
PROJECT_NAME = "face-liveness-isolation"


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # "string" | "bool" | "int" | "number" | "list" | "map" | "secret"
    default: str  # human description of the default, as shown in the README
    doc: str
    group: str


def _k(group: str, name: str, type_: str, default: str, doc: str) -> Key:
    return Key(name=name, type=type_, default=default, doc=doc, group=group)


KEYS: tuple[Key, ...] = (
    # --- stack -------------------------------------------------------------------------------
    _k("stack", "lifecycle", "string", "`prod`",
       "`prod` (protected resources, teardown refused), `test` (long-lived test stack, may be torn "
       "down) or `ephemeral` (per-PR stack: unique names, may be torn down)."),
    _k("stack", "location", "string", "`azure-native:location`",
       "Azure region for every regional resource, e.g. `westeurope`."),
    _k("stack", "namePrefix", "string", "`fl-<stack>`",
       "Prefix of every Azure resource name: 2–16 lower-case letters, digits, hyphens. The default "
       "lower-cases the stack name, turns other characters into hyphens and keeps 16 characters."),
    _k("stack", "instanceSuffix", "string", "hash of the stack name (ephemeral only)",
       "Extra suffix that makes ephemeral names unique (1–20 lower-case letters, digits, inner hyphens); "
       "the preview-env workflow sets it to the run id so a soft-deleted account never blocks a "
       "re-created environment."),
    _k("stack", "resourceGroupName", "string", "`rg-<namePrefix>`",
       "Resource group the stack creates and deploys into."),
    _k("stack", "tags", "map", "`{}`",
       "Extra tags on every taggable resource (the stack adds `environment`, `stack`, `managed-by`): at "
       "most 47, names up to 512 characters without `< > % & \\ ? /`, values up to 256."),
    # --- network -----------------------------------------------------------------------------
    _k("network", "vnetAddressSpace", "string", "`10.40.0.0/16`",
       "Address space of the VNet: an IPv4 CIDR inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 "
       "(RFC 1918) or 100.64.0.0/10 (RFC 6598). The subnets below must lie inside it."),
    _k("network", "appsSubnetPrefix", "string", "`10.40.0.0/23`",
       "Subnet for the Container Apps environment (delegated to `Microsoft.App/environments`); at "
       "least /27, inside the VNet, no overlap, and off the ranges Container Apps reserves "
       "(169.254.0.0/16, 172.30.0.0/16, 172.31.0.0/16, 192.0.2.0/24, 100.100.0.0/17 and the "
       "three /19s after it)."),
    _k("network", "endpointsSubnetPrefix", "string", "`10.40.2.0/27`",
       "Subnet for private endpoints; at least /28, inside the VNet, no overlap."),
    # --- face account ------------------------------------------------------------------------
    _k("face", "faceKind", "string", "`Face`", "`Face` or `AIServices`."),
    _k("face", "faceSku", "string", "`S0`", "Account SKU. Liveness needs a paid tier: `S0`."),
    _k("face", "faceCustomSubdomain", "string", "`<namePrefix>-face[-<suffix>]`",
       "Custom subdomain (globally unique; required for private endpoints): one DNS label, 2–63 "
       "characters. Also the account name."),
    _k("face", "faceDisableLocalAuth", "bool", "`true`",
       "Disable key authentication; callers use Microsoft Entra ID. Set `false` only if your app server "
       "must use keys."),
    _k("face", "faceRestrictOutboundNetworkAccess", "bool", "`true`",
       "Restrict the account's outbound access to `faceAllowedFqdns`."),
    _k("face", "faceAllowedFqdns", "list", "`[]`",
       "FQDNs the account may reach when outbound access is restricted."),
    _k("face", "faceIpRules", "list", "`[]`",
       "Refused unless empty: public network access is always Disabled, and Azure applies IP rules "
       "only to the public endpoint, so a rule would deploy and do nothing. Callers outside the apps "
       "subnet reach the private endpoint through `faceAllowedClientCidrs`."),
    _k("face", "faceAllowedClientCidrs", "list", "`[]`",
       "Extra sources allowed to reach the private endpoint on 443, e.g. your app server's subnet in a "
       "peered VNet (it creates the liveness sessions). By default only the proxy's subnet may. IPv4 "
       "CIDRs; together at most a /8 (16,777,216 addresses), at most 3,999 of them (Azure's 4,000 "
       "source prefixes per NSG, less the apps subnet); never 0.0.0.0/8, loopback, link-local or "
       "multicast."),
    _k("face", "privateDnsMode", "string", "`create`",
       "`create`: the stack creates `privatelink.cognitiveservices.azure.com` (plus the AI Services "
       "zones for `AIServices`), links it to the VNet and adds a zone group; `existing`: zone group "
       "pointing at `privateDnsZoneIds` (hub-owned zones); `policy`: no zone group, Azure Policy adds it."),
    _k("face", "privateDnsZoneIds", "list", "`[]`",
       "Resource ids of existing private DNS zones (mode `existing`); must include "
       "`privatelink.cognitiveservices.azure.com`."),
    _k("face", "privateEndpointIps", "map", "top of `endpointsSubnetPrefix`, one per member",
       "Fixed private IPs of the private endpoint, by member of the `account` group: `default` "
       "(`<sub>.cognitiveservices.azure.com`, the proxy's upstream) for `Face`; plus `secondary` "
       "(`openai.azure.com`) and `third` (`services.ai.azure.com`) for `AIServices`. Members left out "
       "get the highest free usable addresses of the subnet (e.g. `10.40.2.30`, `.29`, `.28`). Each "
       "inside the subnet, distinct, none of Azure's five reserved addresses. Set one with "
       "`pulumi config set --path liveness:privateEndpointIps.default 10.40.2.20`. A change rolls the "
       "proxy to a new revision (see the first-deploy checks for the endpoint itself)."),
    _k("face", "privateDnsLinkVnet", "bool", "`true`",
       "Mode `existing` only: also link each zone in `privateDnsZoneIds` to this stack's VNet (a "
       "`virtualNetworkLinks` child of the hub's zone, in the zone's own subscription and resource "
       "group), so the app server resolves the account privately. Set `false` when the hub's DNS "
       "already resolves for this VNet (custom DNS servers forwarding to a linked resolver)."),
    # --- proxy -------------------------------------------------------------------------------
    _k("proxy", "proxyHost", "string", "required",
       "Public hostname of the liveness proxy, e.g. `liveness.contoso.com`. This is what you register "
       "with Microsoft. `{stack}` is replaced by the stack name (for the ephemeral template)."),
    _k("proxy", "proxyImage", "string", "`docker.io/library/nginx:1.28.0-alpine`",
       "Stock nginx image, pinned by tag or digest (`latest` or no tag is refused)."),
    _k("proxy", "proxyCpu", "number", "`0.5`", "vCPU per replica (0.25–4)."),
    _k("proxy", "proxyMemory", "string", "`1Gi`", "Memory per replica, e.g. `1Gi` (2 GiB per vCPU at most)."),
    _k("proxy", "proxyMinReplicas", "int", "`2` (prod), `1` otherwise", "Minimum replicas."),
    _k("proxy", "proxyMaxReplicas", "int", "`10`", "Maximum replicas."),
    _k("proxy", "proxyConcurrentRequests", "int", "`50`",
       "Concurrent HTTP requests per replica before the scale rule adds a replica."),
    _k("proxy", "proxyZoneRedundant", "bool", "`true` (prod), `false` otherwise",
       "Zone-redundant Container Apps environment (region must support availability zones)."),
    _k("proxy", "proxyAllowBrowserPreflight", "bool", "`false`",
       "Also forward OPTIONS on the four routes (browser clients of the web SDK)."),
    _k("proxy", "proxyRateLimitPerSecond", "int", "`10`", "Requests per second per client IP."),
    _k("proxy", "proxyRateLimitBurst", "int", "`20`", "Burst allowance per client IP above the rate."),
    _k("proxy", "proxyMaxBodyBytes", "int", "`8388608` (8 MiB)",
       "Largest request body accepted (a 6 MB image in multipart fits)."),
    _k("proxy", "proxyTrustedProxyCidrs", "list",
       "`[appsSubnetPrefix, 100.100.0.0/17, 100.100.128.0/19, 100.100.160.0/19, 100.100.192.0/19]`",
       "Peers (the Container Apps ingress) whose right-most X-Forwarded-For entry is the client IP "
       "for the rate limit and the log. Together at most a /8."),
    _k("proxy", "proxyClientTimeoutSeconds", "int", "`60`",
       "Client body/header timeout (below the ingress's 240 s)."),
    _k("proxy", "proxyUpstreamTimeoutSeconds", "int", "`120`",
       "Timeout talking to the Face endpoint (below the ingress's 240 s)."),
    _k("proxy", "proxyUpstreamHost", "string", "`client`",
       "Host header sent to Face: `client` (the Host the client sent, i.e. the proxy hostname, "
       "unchanged, as Microsoft's how-to asks) or `account` (the account hostname). TLS SNI and the "
       "verified certificate name are the account hostname in both. See the runbook for how to tell "
       "which one your registration expects."),
    _k("proxy", "proxyCertificateSource", "string", "`managed`",
       "`managed` (free managed certificate, validated through the CNAME) or `keyvault` (bring your own)."),
    _k("proxy", "proxyDomainBinding", "string", "`auto`",
       "Managed certificates only. `auto`: one `pulumi up` adds the hostname and the platform binds the "
       "managed certificate once issued (bindingType Auto). Fallback two-phase flow if Auto is not "
       "available in your region: `bootstrap` (hostname added unbound, certificate issued), then "
       "`bound` (hostname bound to that certificate with SNI)."),
    _k("proxy", "proxyKeyVaultCertificateUrl", "string", "none",
       "Key Vault secret URL of the certificate (`keyvault` source), "
       "e.g. `https://kv.vault.azure.net/secrets/liveness`."),
    _k("proxy", "proxyKeyVaultIdentity", "string", "none",
       "Resource id of the user-assigned identity the environment uses to read that secret "
       "(needs `Key Vault Secrets User`)."),
    # --- operations: diagnostics, locks, access ----------------------------------------------
    _k("operations", "logRetentionDays", "int", "`90` (prod), `30` otherwise",
       "Retention of the Log Analytics workspace (30–730 days): the proxy's access log and the Face "
       "account's Audit and RequestResponse logs and metrics."),
    _k("operations", "managementLocks", "bool", "`true` (prod), `false` otherwise",
       "Prod only: a `CanNotDelete` management lock on the Face account, the private endpoint, the "
       "created public zone (on its SOA record set) and the verification record, each depending on what it blocks and "
       "Pulumi-protected. To lift them: `pulumi state unprotect` each lock, set `false`, `pulumi up` (docs/operations.md); "
       "`true` is refused for test and ephemeral stacks, which teardown removes."),
    _k("operations", "faceAppServerPrincipalIds", "list", "`[]`",
       "Object ids of the service principals (managed identities, app registrations) of your app server: "
       "each gets *Cognitive Services Face Recognizer* on this account only, enough to create liveness "
       "sessions with a Microsoft Entra token (local auth is disabled)."),
    # --- public dns --------------------------------------------------------------------------
    _k("dns", "dnsMode", "string", "`create`",
       "`create`: a public Azure DNS zone `dnsZoneName` (delegate it from the parent using the "
       "`nameServers` output); `existing`: records in an existing Azure DNS zone; `external`: create "
       "nothing, the `dnsRecords` output lists the records for your DNS provider."),
    _k("dns", "dnsZoneName", "string", "required for `create`/`existing`",
       "Public zone that holds the proxy host, e.g. `contoso.com`; `proxyHost` must be below it."),
    _k("dns", "dnsZoneResourceGroup", "string", "the stack's resource group",
       "Resource group of the existing zone (mode `existing`)."),
    _k("dns", "dnsRecordTtl", "int", "`300`", "TTL of the CNAME and asuid TXT records (seconds)."),
    _k("dns", "verificationTxtTtl", "int", "`60`",
       "TTL of the `azaiverify` TXT record; short, so a corrected value is seen within the 48-hour window."),
    # --- microsoft registration --------------------------------------------------------------
    _k("registration", "registrationState", "string", "`none`",
       "Where the Microsoft registration stands: `none`, `requested` (support ticket open), `verifying` "
       "(verification code received: `verificationCode` and `verificationCodeIssuedAt` required) or "
       "`registered` (Microsoft enabled the proxy: `registeredProxyHost` pins `proxyHost`)."),
    _k("registration", "verificationCode", "secret", "none",
       "The verification string from Microsoft support, set with `pulumi config set --secret`. Published "
       "as TXT at `azaiverify.<proxyHost>`."),
    _k("registration", "verificationCodeIssuedAt", "string", "none",
       "When support issued the code (ISO-8601 UTC, e.g. `2026-11-20T09:30:00Z`); starts the 48-hour window."),
    _k("registration", "registeredProxyHost", "string", "none",
       "The hostname Microsoft registered (state `registered`); must equal `proxyHost`."),
    _k("registration", "allowProxyHostChange", "bool", "`false`",
       "Override: allow `proxyHost` to differ from `registeredProxyHost` (you must re-register with "
       "Microsoft, which takes a support ticket and a new 48-hour verification)."),
    # --- monitoring ---------------------------------------------------------------------------
    _k("monitoring", "monitoringEnabled", "bool", "`true` (prod), `false` otherwise",
       "Deploy the proxy's monitoring: saved searches, a workbook, alert rules and the certificate check "
       "(see Monitoring)."),
    _k("monitoring", "alertEmails", "list", "`[]`",
       "E-mail addresses the alerts go to (an action group; each address gets a confirmation e-mail). "
       "Without these or `alertWebhookUrl` alerts only show in Azure Monitor."),
    _k("monitoring", "alertWebhookUrl", "secret", "none",
       "HTTPS webhook the alerts are posted to (common alert schema), set with `pulumi config set --secret` "
       "because such URLs usually carry a token."),
    _k("monitoring", "alertErrorRatePercent", "number", "`5`",
       "Alert when more than this share of requests answers 5xx over the window."),
    _k("monitoring", "alertMinRequests", "int", "`20`",
       "Requests a window needs before its 5xx rate is judged (one failed request of two is not an outage)."),
    _k("monitoring", "alertFace403Count", "int", "`10`",
       "Alert when Face answers 403 this many times in the window (registration broken or not routed)."),
    _k("monitoring", "alertThrottledCount", "int", "`100`",
       "Alert on this many 429s in the window (the proxy's rate limit and Face throttling)."),
    _k("monitoring", "alertRestartCount", "int", "`3`", "Alert on this many replica restarts in the window."),
    _k("monitoring", "alertCertificateDays", "int", "`14`",
       "The certificate check fails when the served certificate has fewer days left."),
    _k("monitoring", "alertWindowMinutes", "int", "`15`",
       "Window every alert looks at, evaluated every 5 minutes: 5, 15, 30 or 60 (the windows metric and log alerts both accept)."),
    _k("monitoring", "monitoringCertificateCheck", "bool", "`true`",
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
    """The Markdown config reference embedded in the README."""
    lines: list[str] = []
    for group, title in GROUP_TITLES.items():
        lines.append(f"**{title}**")
        lines.append("")
        lines.append("| key | type | default | meaning |")
        lines.append("| --- | --- | --- | --- |")
        for key in KEYS:
            if key.group == group:
                lines.append(f"| `{NAMESPACE}:{key.name}` | {key.type} | {key.default} | {key.doc} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
