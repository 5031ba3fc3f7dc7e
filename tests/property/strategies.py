"""Hypothesis strategies that write stack files from the schema table (infra/config/schema.py).

Every declared key gets values from its declared type (`string`, `bool`, `int`, `number`, `list`,
`map`, `secret`): right and wrong types, edge values, and the YAML spellings of each (plain,
quoted, flow or block, the three nulls). `SEMANTIC` overrides what a *good* value looks like for
keys whose meaning is narrower than their type (CIDRs, hostnames, choices ...). A key added to the
schema later is covered by its type without touching this file; give it a row in `SEMANTIC` when
its good values are narrower than "any string".

Two mixes: `stack_documents()` (hostile: any key may be anything, plus raw YAML oddities) and
`plausible_documents()` (mostly good values, so that many validate and reach the offline plan).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hypothesis import strategies as st

from infra.config.schema import KEYS, KEYS_BY_NAME, NAMESPACE


def _within(name: str) -> st.SearchStrategy[int]:
    """Any whole number inside the schema's bounds of `name`."""
    bounds = KEYS_BY_NAME[name].spec.bounds
    assert bounds is not None
    return st.integers(int(bounds[0]), int(bounds[1]))


BASE = {  # a valid starting point (the dev stack's essentials)
    "lifecycle": "test",
    "location": "westeurope",
    "proxyHost": "liveness.dev.contoso.com",
    "dnsZoneName": "dev.contoso.com",
}

# ---------------------------------------------------------------------------------------------
# Values by declared type

_NASTY_TEXT = st.sampled_from([
    "", " ", "~", "null", "Null", "NULL", "yes", "no", "on", "off", "y", "1:20", "0x10", "017", "1_000",
    ".inf", "-.inf", ".nan", "2026-11-20", "2026-11-20T09:30:00Z", "true", "False", "[]", "{}",
    "[1", "{a", "a: b", "- x", "#x", "&a", "*a", "!!str", "%x", "@x", "`x", "'", '"', "\\", "\t", "é", "ü.example",
    "x" * 64, "a" * 300, "\u2028", "\ufeff", "1e999", "-0", "9" * 30, "\x07",
])
_TEXT = st.one_of(_NASTY_TEXT, st.text(st.characters(codec="utf-8"), max_size=40))
_INTS = st.one_of(st.integers(-10, 400), st.integers(-2**70, 2**70), st.sampled_from([0, 1, 2, 299, 300, 301, 2**31, 2**63, 2**64]))
_FLOATS = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0, 4.5, 1e21, 1e-7]))

BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "string": _TEXT,
    "bool": st.one_of(st.booleans(), st.sampled_from(["true", "false", "True", "FALSE", "yes", "on", "1", "0"])),
    "int": st.one_of(_INTS, _INTS.map(str), _FLOATS),
    "number": st.one_of(_FLOATS, _INTS, _FLOATS.map(repr)),
    "list": st.lists(_TEXT, max_size=4),
    "map": st.dictionaries(_TEXT.filter(bool), st.one_of(_TEXT, _INTS, st.booleans()), max_size=4),
    "secret": st.one_of(st.builds(lambda t: {"secure": t}, st.text(max_size=20)), _TEXT),
}
ALL_TYPES = st.sampled_from(sorted(BY_TYPE)).flatmap(lambda t: BY_TYPE[t])

# ---------------------------------------------------------------------------------------------
# Good values for keys narrower than their type

_cidr = st.builds(lambda a, b, n: str(ipaddress.ip_network(f"10.{a}.{b}.0/{n}", strict=False)),
                  st.integers(0, 255), st.integers(0, 255), st.integers(16, 28))
_host_label = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\Z")
_ZONE_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/"
            "Microsoft.Network/privateDnsZones/")

SEMANTIC: dict[str, st.SearchStrategy[Any]] = {
    "lifecycle": st.sampled_from(["prod", "test", "ephemeral"]),
    "location": st.sampled_from(["westeurope", "northeurope", "eastus2"]),
    "namePrefix": st.from_regex(r"\A[a-z][a-z0-9]{1,8}\Z"),
    "instanceSuffix": st.from_regex(r"\A[a-z0-9]{1,10}\Z"),
    "resourceGroupName": st.from_regex(r"\Arg-[a-z0-9]{1,20}\Z"),
    "tags": st.dictionaries(st.from_regex(r"\A[a-z]{1,10}\Z"), st.one_of(st.text(max_size=20), st.integers(0, 99)), max_size=3),
    # Coherent with each other whatever combination is drawn: apps and endpoints never overlap.
    "vnetAddressSpace": st.sampled_from(["10.40.0.0/16", "10.40.0.0/15", "10.0.0.0/8"]),
    "appsSubnetPrefix": st.sampled_from(["10.40.0.0/23", "10.40.0.0/27", "10.40.4.0/22"]),
    "endpointsSubnetPrefix": st.sampled_from(["10.40.2.0/27", "10.40.2.0/28", "10.40.3.0/24"]),
    "faceKind": st.sampled_from(["Face", "AIServices"]),
    "faceSku": st.just("S0"),
    "faceCustomSubdomain": st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]\Z"),
    "faceDisableLocalAuth": st.booleans(),
    "faceRestrictOutboundNetworkAccess": st.booleans(),
    "faceAllowedFqdns": st.lists(st.builds(lambda a, b: f"{a}.{b}.com", _host_label, _host_label), max_size=3),
    "faceIpRules": st.just([]),  # any rule is refused: public access is Disabled
    "faceAllowedClientCidrs": st.lists(_cidr, max_size=3),
    "privateDnsMode": st.sampled_from(["create", "policy"]),
    "privateDnsZoneIds": st.just([]),
    "proxyHost": st.builds(lambda a: f"{a}.dev.contoso.com", _host_label),
    "proxyImage": st.sampled_from(["docker.io/library/nginx:1.28.0-alpine", "nginx:1.27",
                                   "nginx@sha256:" + "a" * 64]),
    "proxyCpu": st.sampled_from([0.5, 1.0, 2.0, 4.0]),
    "proxyMemory": st.sampled_from(["0.5Gi", "1Gi"]),
    "proxyMinReplicas": st.integers(2, 3),
    "proxyMaxReplicas": st.integers(3, 300),
    "proxyConcurrentRequests": _within("proxyConcurrentRequests"),
    "proxyZoneRedundant": st.booleans(),
    "proxyAllowBrowserPreflight": st.booleans(),
    "proxyRateLimitPerSecond": _within("proxyRateLimitPerSecond"),
    "proxyRateLimitBurst": _within("proxyRateLimitBurst"),
    "proxyMaxBodyBytes": _within("proxyMaxBodyBytes"),
    "proxyTrustedProxyCidrs": st.lists(st.sampled_from(["10.40.0.0/23", "10.40.0.0/24"]), min_size=1, max_size=2),
    "proxyClientTimeoutSeconds": _within("proxyClientTimeoutSeconds"),
    "proxyUpstreamTimeoutSeconds": _within("proxyUpstreamTimeoutSeconds"),
    "proxyCertificateSource": st.just("managed"),
    "proxyDomainBinding": st.sampled_from(["auto", "bootstrap", "bound"]),
    "proxyKeyVaultCertificateUrl": st.none(),
    "proxyKeyVaultIdentity": st.none(),
    "dnsMode": st.sampled_from(["create", "external"]),
    "dnsZoneName": st.just("dev.contoso.com"),
    "dnsZoneResourceGroup": st.none(),
    "dnsRecordTtl": _within("dnsRecordTtl"),
    "verificationTxtTtl": _within("verificationTxtTtl"),
    "registrationState": st.sampled_from(["none", "requested"]),
    "verificationCode": st.builds(lambda t: {"secure": t}, st.from_regex(r"\Av1:[A-Za-z0-9+/]{8,20}\Z")),
    "verificationCodeIssuedAt": st.sampled_from(["2026-11-20T09:30:00Z", "2026-11-20T10:30:00+01:00"]),
    "registeredProxyHost": st.none(),
    "allowProxyHostChange": st.booleans(),
}


def good(name: str, type_: str) -> st.SearchStrategy[Any]:
    return SEMANTIC.get(name, BY_TYPE[type_])


def bad(type_: str) -> st.SearchStrategy[Any]:
    """A value of any type (usually another one than declared), or an edge value of the type."""
    return st.one_of(ALL_TYPES, BY_TYPE[type_])


# ---------------------------------------------------------------------------------------------
# Configs and their YAML spelling

_ABSENT = object()


def _weighted(p_good: float, p_bad: float) -> st.SearchStrategy[str]:
    """"absent" / "good" / "bad" in these proportions (sampled_from draws uniformly)."""
    n_bad, n_good = round(p_bad * 1000), round(p_good * 1000)
    return st.sampled_from(["absent"] * (1000 - n_bad - n_good) + ["good"] * n_good + ["bad"] * n_bad)


@st.composite
def configs(draw, p_good: float, p_bad: float) -> dict[str, Any]:
    """`liveness:` config (native values; None means written as a null) from the schema table."""
    out: dict[str, Any] = {}
    pick = _weighted(p_good, p_bad)
    for key in KEYS:
        choice = draw(pick)
        if choice == "bad":
            out[key.name] = draw(bad(key.type))
        elif choice == "good":
            out[key.name] = draw(good(key.name, key.type))
        elif key.name in BASE:
            out[key.name] = BASE[key.name]
        elif draw(_weighted(0.02, 0)) == "good":
            out[key.name] = None  # spelled as ~, null or nothing: unset
    if draw(pick) == "bad":  # an undeclared key
        out[draw(st.sampled_from(["proxyHots", "Lifecycle", "extra"]))] = draw(_TEXT)
    return out


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar: astral characters as \\U escapes, never as surrogate pairs."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c.isprintable() and c not in "\u2028\u2029\ufeff":
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def _scalar(draw, value: Any) -> str:
    if value is None:
        return draw(st.sampled_from(["~", "null", "", "Null"]))
    if isinstance(value, bool):
        return draw(st.sampled_from(["true", "True", "TRUE"] if value else ["false", "False", "FALSE"]))
    if isinstance(value, (int, float)):
        return json.dumps(value) if not isinstance(value, float) else repr(value)
    text = str(value)
    style = draw(st.sampled_from(["plain", "double", "single"]))
    if style == "double" or not text.isprintable():
        return _double_quoted(text)
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    plain = text and text.strip() == text and all(c.isalnum() or c in "-./:_{}@" for c in text) and text[0] not in "-{}@"
    return text if plain else _double_quoted(text)


def _yaml_value(draw, value: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        if value and set(value) == {"secure"}:
            return " {secure: " + json.dumps(str(value["secure"])) + "}"
        if not value or draw(st.booleans()):
            return " {" + ", ".join(f"{_double_quoted(str(k))}: {_scalar(draw, v)}" for k, v in value.items()) + "}"
        return "".join(f"\n{pad}  {_double_quoted(str(k))}: {_scalar(draw, v)}" for k, v in value.items())
    if isinstance(value, list):
        if not value or draw(st.booleans()):
            items = (_scalar(draw, v) if not isinstance(v, (list, dict)) else json.dumps(v, ensure_ascii=False) for v in value)
            return " [" + ", ".join(items) + "]"
        return "".join(f"\n{pad}  - {_scalar(draw, v)}" for v in value)
    text = _scalar(draw, value)
    return f" {text}" if text else ""


ODDITIES = [
    b"config:\n  liveness:proxyHost: a.b.c\n  liveness:proxyHost: d.e.f\n",  # duplicate key
    b"config:\n  liveness:tags: " + b"[" * 1500 + b"]" * 1500 + b"\n",  # deep nesting
    b"config:\n  liveness:proxyMaxBodyBytes: 1" + b"0" * 5000 + b"\n",  # 5,000-digit integer
    b"config:\n  liveness:location: caf\xe9\n",  # Latin-1, not UTF-8
    b"config:\n  liveness:tags: {a: \"\\ud800\"}\n",  # lone surrogate
    b"config:\n\tliveness:location: x\n",  # tab indentation
    b"config: [1, 2]\n",
    b"- just a list\n",
    b"config:\n  liveness:tags: &a {x: y}\n  liveness:faceIpRules: *a\n",
    b"config:\n  <<: {liveness:location: westeurope}\n",
    b"%YAML 1.1\n---\nconfig: {liveness:proxyAllowBrowserPreflight: yes}\n",
    b"config: {}\n---\nconfig: {}\n",
    b"config:\n  liveness:proxyMaxReplicas: !!binary YWJj\n",
    b"config:\n  liveness:verificationCodeIssuedAt: 0001-01-01T00:00:00+01:00\n",
    b"config:\n  liveness:verificationCodeIssuedAt: 9999-12-31T23:59:59-01:00\n",
]


@st.composite
def stack_documents(draw, p_good: float = 0.3, p_bad: float = 0.05) -> bytes:
    """A stack file: generated config spelled in varied YAML, or (sometimes) a raw oddity."""
    if draw(_weighted(0.05, 0)) == "good":
        return draw(st.sampled_from(ODDITIES))
    config = draw(configs(p_good, p_bad))
    lines = ["# generated", "config:"]
    if draw(st.booleans()):
        lines.insert(1, "encryptionsalt: v1:abc")
    for name, value in config.items():
        lines.append(f"  {NAMESPACE}:{name}:{_yaml_value(draw, value, 2)}")
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def plausible_documents() -> st.SearchStrategy[bytes]:
    """Mostly good values: many validate, so the offline plan and invariants get exercised."""
    return stack_documents(p_good=0.35, p_bad=0.005)
