"""What the proxy forwards, and where: only the liveness routes, over verified TLS to the private
endpoint's fixed account-host address, with the Host header `proxyUpstreamHost` asks for, no
credentials in the access log, and client addresses taken only from narrowly trusted peers.

Each check renders the nginx configuration from the stack settings (the app receives it as a secret).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable

from components import proxy_config
from components.proxy_app import REVISION_HASH_ENV, config_fingerprint
from components.proxy_routes import LIVENESS_ROUTES
from infra import endpoint_ips
from infra.plan.invariants.inputs import T_APP, T_ENDPOINT, finding, get
from infra.plan.model import Evaluation, Finding, PlannedResource

# The liveness routes without their `/face/{version}/` prefix, as they appear in the rendered locations.
ROUTE_TAILS = tuple(route.split("{version}/", 1)[1] for route in LIVENESS_ROUTES)
SESSION_CREATION_ROUTE = "detectLiveness-sessions"
# Variables that would put credentials or bodies in the access log (Face keys travel in
# Ocp-Apim-Subscription-Key, tokens in Authorization).
SECRET_LOG_VARIABLES = ("$http_authorization", "$http_cookie", "$cookie_", "$request_body",
                        "$http_ocp_apim_subscription_key", "$sent_http_set_cookie")


def check_proxy_config(ev: Evaluation) -> Iterable[Finding]:
    """The shipped nginx configuration forwards only the four routes, with Host/SNI = account host."""
    inv = "proxy-config"
    conf = proxy_config.render_nginx_config(ev.settings.proxy_settings())
    host = ev.settings.face.endpoint_host
    if f"proxy_ssl_name {host};" not in conf and f'proxy_ssl_name "{host}";' not in conf:
        yield finding(inv, f"TLS SNI must be the account hostname {host}")
    if "proxy_ssl_server_name on;" not in conf:
        yield finding(inv, "proxy_ssl_server_name must be on")
    if "proxy_ssl_verify on;" not in conf:
        yield finding(inv, "the upstream certificate must be verified")
    passes = len(re.findall(r"^\s*proxy_pass\s", conf, flags=re.MULTILINE))
    if passes < 1:
        yield finding(inv, "no proxy_pass in the rendered configuration")
    for route in ROUTE_TAILS:
        if route.lower() not in conf.lower():
            yield finding(inv, f"route {route} missing from the allowlist")
    if SESSION_CREATION_ROUTE.lower() in conf.lower():
        yield finding(inv, "session creation must never be forwarded by the proxy")
    for line in re.findall(r"^\s*log_format\s.*$", conf, flags=re.MULTILINE):
        leaked = [v for v in SECRET_LOG_VARIABLES if v in line.lower()]
        if leaked:
            yield finding(inv, f"the access log must not record credentials or bodies: {', '.join(leaked)}")


def _static_ips(pe: PlannedResource) -> dict[str, str]:
    return {str(c.get("memberName")): str(c.get("privateIPAddress"))
            for c in pe.inputs.get("ipConfigurations") or []}


_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_TARGET_LINE = re.compile(r"^\s*(?:server|proxy_pass)\s+(?:https?://)?(\[?[^\s;:/\]]+\]?)", re.MULTILINE)


def check_proxy_upstream(ev: Evaluation) -> Iterable[Finding]:
    """The proxy is rendered for the endpoint's fixed account-host IP and the app runs exactly that file.

    The nginx.conf reaches the app as a secret (recorded "[secret]"), so the check re-renders it from
    the stack settings and compares its fingerprint with the NGINX_CONFIG_SHA256 the app receives in
    plain text: equal fingerprints mean the app holds this very file (and these settings).
    """
    inv = "proxy-upstream"
    ps = ev.settings.proxy_settings()
    endpoints = ev.by_type(T_ENDPOINT)
    if len(endpoints) == 1:
        fixed = _static_ips(endpoints[0]).get(endpoint_ips.ACCOUNT_HOST_MEMBER)
        if fixed != ps.upstream_address:
            yield finding(inv, f"the proxy targets {ps.upstream_address!r} but the private endpoint's fixed IP "
                               f"for {ev.settings.face.endpoint_host} is {fixed!r}")
    conf = proxy_config.render_nginx_config(ps)
    apps = ev.by_type(T_APP)
    if len(apps) == 1:
        env = {e.get("name"): e.get("value")
               for c in get(apps[0].inputs, "template", "containers") or [] for e in c.get("env") or []}
        if env.get(REVISION_HASH_ENV) != config_fingerprint(conf, ps):
            yield finding(inv, f"{REVISION_HASH_ENV} of the app does not match the configuration rendered for "
                               f"upstream {ps.upstream_address}: the app would run another file", apps[0].name)
    targets = _TARGET_LINE.findall(conf)
    wrong = sorted({t for t in targets if re.fullmatch(_IPV4, t) and t != ps.upstream_address})
    if wrong:
        yield finding(inv, f"the proxy connects to {', '.join(wrong)}, not the private endpoint's fixed IP "
                           f"{ps.upstream_address}")
    if ps.upstream_address not in targets:
        yield finding(inv, f"no server/proxy_pass line targets the private endpoint's fixed IP {ps.upstream_address}")


_HOST_HEADER = re.compile(r"^\s*proxy_set_header\s+Host\s+\"?([^\s\";]+)", re.MULTILINE | re.IGNORECASE)
_CLIENT_HOST_MAP = re.compile(r"map \$http_host \$liveness_upstream_host \{(.*?)\}", re.DOTALL)


def check_proxy_host_header(ev: Evaluation) -> Iterable[Finding]:
    """Host as `proxyUpstreamHost` says: the client's unchanged, or the account hostname.

    In `client` mode the proxy sends `$liveness_upstream_host`, mapped from the client's raw
    `Host` (`$http_host`: `$host` would be lower-cased and lose the port); only a request without
    one (HTTP/1.0) gets the account hostname.
    """
    inv = "proxy-config"
    ps = ev.settings.proxy_settings()
    host = ev.settings.face.endpoint_host
    conf = proxy_config.render_nginx_config(ps)
    sent = _HOST_HEADER.findall(conf)
    if ps.upstream_host == "account":
        if sent != [host]:
            yield finding(inv, f"proxyUpstreamHost account: the Host header must be the account hostname {host}, "
                               f"found {sent}")
        return
    host_map = _CLIENT_HOST_MAP.search(conf)
    if sent != ["$liveness_upstream_host"] or host_map is None:
        yield finding(inv, "proxyUpstreamHost client: the Host header must pass unchanged "
                           f"(a map from $http_host), found {sent}")
        return
    entries = dict(re.findall(r'^\s*("?[^\s"]*"?)\s+([^\s;]+);', host_map.group(1), re.MULTILINE))
    if entries.get("default") != "$http_host" or entries.get('""') != host:
        yield finding(inv, "proxyUpstreamHost client: the Host map must send $http_host, and the "
                           f"account hostname only when the client sent none; found {entries}")


def check_trusted_proxy_ranges(ev: Evaluation) -> Iterable[Finding]:
    """Trusted X-Forwarded-For peers together cover at most a /8 (per address family)."""
    inv = "trusted-proxies"
    nets = [ipaddress.ip_network(c, strict=False) for c in ev.settings.proxy.trusted_proxy_cidrs]
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    covered = ((4, 32, sum(n.num_addresses for n in ipaddress.collapse_addresses(v4))),
               (6, 128, sum(n.num_addresses for n in ipaddress.collapse_addresses(v6))))
    for version, bits, total in covered:
        if total > 2 ** (bits - 8):
            yield finding(inv, f"trusted proxy ranges cover {total} IPv{version} addresses, more than a /8: "
                               f"any client there could choose its own rate-limit key")
