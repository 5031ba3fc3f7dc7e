"""The upstream invariants can fail: fixed endpoint IPs, the proxy's upstream and Host, trusted ranges, hub links."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable

import pytest

from components.proxy_app import REVISION_HASH_ENV
from infra.plan.invariants.checks import check_invariants
from infra.plan.invariants.inputs import T_ENDPOINT, T_PROVIDER, T_ZONE_LINK
from infra.plan.model import Evaluation
from tests.unit.conftest import evaluate
from tests.unit.test_invariants import broken
from tests.unit.test_private_endpoint_ips import AI_ZONES

AI = {"liveness:faceKind": "AIServices"}
HUB = {"liveness:faceKind": "AIServices", "liveness:privateDnsMode": "existing", "liveness:privateDnsZoneIds": AI_ZONES}


def _configs(ev):
    return ev.one(T_ENDPOINT).inputs["ipConfigurations"]


def _member(ev, member):
    return next(c for c in _configs(ev) if c["memberName"] == member)


def _env(ev):
    (container,) = ev.one("azure-native:app:ContainerApp").inputs["template"]["containers"]
    return next(e for e in container["env"] if e["name"] == REVISION_HASH_ENV)


def _settings(ev, **proxy):
    ev.settings = dataclasses.replace(ev.settings, proxy=dataclasses.replace(ev.settings.proxy, **proxy))


# name → (config, mutation of the evaluated plan, fragment the finding must contain)
MUTATIONS: dict[str, tuple[dict[str, Any], Callable[[Evaluation], object], str]] = {
    "ip outside subnet": (AI, lambda ev: _member(ev, "third").update(privateIPAddress="10.40.9.9"), "outside the endpoints subnet"),
    "reserved ip": (AI, lambda ev: _member(ev, "secondary").update(privateIPAddress="10.40.2.2"), "reserved"),
    "broadcast ip": ({}, lambda ev: _member(ev, "default").update(privateIPAddress="10.40.2.31"), "reserved"),
    "member missing": (AI, lambda ev: _configs(ev).pop(), "exactly the members"),
    "no static ips": ({}, lambda ev: ev.one(T_ENDPOINT).inputs.pop("ipConfigurations"), "exactly the members"),
    "wrong member": ({}, lambda ev: _member(ev, "default").update(memberName="primary"), "exactly the members"),
    "wrong group": ({}, lambda ev: _member(ev, "default").update(groupId="blob"), "groupId"),
    "duplicate ips": (AI, lambda ev: _member(ev, "third").update(privateIPAddress=_member(ev, "default")["privateIPAddress"]),
                      "distinct"),
    "endpoint moved, proxy not": ({}, lambda ev: _member(ev, "default").update(privateIPAddress="10.40.2.20"), "the proxy targets"),
    "app runs another file": ({}, lambda ev: _env(ev).update(value="0" * 64), REVISION_HASH_ENV),
    "trusted ranges too wide": ({}, lambda ev: _settings(ev, trusted_proxy_cidrs=("0.0.0.0/1", "128.0.0.0/1")), "more than a /8"),
    "trusted ranges add up": ({}, lambda ev: _settings(ev, trusted_proxy_cidrs=("10.0.0.0/8", "100.64.0.0/10")), "more than a /8"),
    "hub zone unlinked": (HUB, lambda ev: ev.resources.remove(ev.named("face-hub-zone-openai-link")), "must be linked"),
    "hub link in wrong subscription": (HUB, lambda ev: setattr(ev.named("face-hub-zone-services-link"), "provider", None),
                                       "zone's subscription"),
    "hub provider retargeted": (HUB, lambda ev: ev.by_type(T_PROVIDER)[0].inputs.update(subscriptionId="33333333"),
                                "zone's subscription"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_broken_upstream_invariant_is_reported(name):
    config, mutate, fragment = MUTATIONS[name]
    ev = evaluate(config)
    assert check_invariants(ev) == []
    findings = broken(ev, mutate)
    assert any(fragment in message for _, message in findings), findings


def test_a_slash_8_of_trusted_ranges_is_still_accepted():
    ev = evaluate({"liveness:proxyTrustedProxyCidrs": ["10.0.0.0/9", "10.128.0.0/9", "10.0.0.0/16"]})
    assert check_invariants(ev) == []


def test_links_declared_although_turned_off_are_reported():
    ev = copy.deepcopy(evaluate({**HUB, "liveness:privateDnsLinkVnet": False}))
    assert check_invariants(ev) == []
    ev.resources.append(copy.deepcopy(evaluate(HUB).by_type(T_ZONE_LINK)[0]))
    assert any("privateDnsLinkVnet is false" in f.message for f in check_invariants(ev))


def test_rendered_config_pointing_elsewhere_is_reported(monkeypatch):
    from components import proxy_config

    ev = evaluate()
    real = proxy_config.render_nginx_config
    monkeypatch.setattr(proxy_config, "render_nginx_config",
                        lambda s: real(s) + "\n# stray\n    proxy_pass https://10.9.9.9:443;\n")
    messages = [f.message for f in check_invariants(ev)]
    assert any("connects to 10.9.9.9" in m for m in messages), messages


def test_upstream_server_pointing_elsewhere_is_reported(monkeypatch):
    from components import proxy_config

    ev = evaluate()
    real = proxy_config.render_nginx_config
    fixed = ev.settings.proxy_settings().upstream_address
    assert f"server {fixed}:443" in real(ev.settings.proxy_settings())
    monkeypatch.setattr(proxy_config, "render_nginx_config",
                        lambda s: real(s).replace(f"server {s.upstream_address}:443", "server 10.9.9.9:443"))
    messages = [f.message for f in check_invariants(ev)]
    assert any("connects to 10.9.9.9" in m for m in messages), messages
    assert any("no server/proxy_pass line targets" in m for m in messages), messages


def test_shipped_renderer_targets_the_fixed_address():
    ev = evaluate()
    assert [f.message for f in check_invariants(ev) if f.invariant == "proxy-upstream"] == []


CLIENT_HOST_LINE = "proxy_set_header Host $liveness_upstream_host;"


def test_client_mode_host_header_passes_on_the_shipped_renderer():
    ev = evaluate()
    assert ev.settings.proxy.upstream_host == "client"
    assert [f.message for f in check_invariants(ev) if "Host" in f.message] == []


@pytest.mark.parametrize("old, new", [
    (CLIENT_HOST_LINE, "proxy_set_header Host $host;"),  # lower-cased, port lost
    (CLIENT_HOST_LINE, "proxy_set_header Host evil.example.com;"),
    ("default $http_host;", "default $host;"),  # the map no longer passes the raw Host
    ('"" fl-unit-face.cognitiveservices.azure.com;', '"" evil.example.com;'),  # HTTP/1.0 fallback
])
def test_client_mode_host_header_must_pass_unchanged(monkeypatch, old, new):
    from components import proxy_config

    ev = evaluate()
    real = proxy_config.render_nginx_config
    assert old in real(ev.settings.proxy_settings()), "the mutation must hit the shipped text"
    monkeypatch.setattr(proxy_config, "render_nginx_config", lambda s: real(s).replace(old, new))
    messages = [f.message for f in check_invariants(ev) if "Host" in f.message]
    assert messages, "a changed client Host must be reported"


def test_account_mode_host_header_must_be_the_account(monkeypatch):
    from components import proxy_config

    ev = evaluate({"liveness:proxyUpstreamHost": "account"})
    assert check_invariants(ev) == []
    real = proxy_config.render_nginx_config
    monkeypatch.setattr(proxy_config, "render_nginx_config",
                        lambda s: real(s).replace(f"proxy_set_header Host {s.face_host};", "proxy_set_header Host $http_host;"))
    assert real(ev.settings.proxy_settings()).count(f"proxy_set_header Host {ev.settings.face.endpoint_host};") == 1
    assert any("must be the account hostname" in f.message for f in check_invariants(ev))
