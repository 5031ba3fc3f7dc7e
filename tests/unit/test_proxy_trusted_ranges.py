"""`liveness:proxyTrustedProxyCidrs`: the default covers where the ingress connects from, and
ranges that would let clients choose their own rate-limit key are a config error."""

from __future__ import annotations

import pytest

from components.proxy_settings import CONTAINER_APPS_PLATFORM_CIDRS
from infra.errors import ConfigError
from tests.unit.stack_documents import parse


def test_default_is_the_apps_subnet_and_the_platform_ranges() -> None:
    settings = parse(appsSubnetPrefix="10.40.0.0/23")
    assert settings.proxy.trusted_proxy_cidrs == ("10.40.0.0/23", *CONTAINER_APPS_PLATFORM_CIDRS)
    assert settings.proxy_settings().trusted_proxy_cidrs == settings.proxy.trusted_proxy_cidrs


@pytest.mark.parametrize("cidrs", [
    ["0.0.0.0/1", "128.0.0.0/1"],
    ["0.0.0.0/0"],
    ["10.0.0.0/7"],
    ["10.0.0.0/8", "100.100.0.0/17"],
])
def test_ranges_wider_than_a_slash_8_are_refused(cidrs: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse(proxyTrustedProxyCidrs=cidrs)
    message = str(info.value)
    assert info.value.key == "liveness:proxyTrustedProxyCidrs"
    assert ("/8" in message or "/0" in message) and "received" in message
    assert len(message) <= 300 and "\n" not in message


def test_a_slash_8_is_accepted() -> None:
    assert parse(proxyTrustedProxyCidrs=["10.0.0.0/8"]).proxy.trusted_proxy_cidrs == ("10.0.0.0/8",)


def test_placeholder_upstream_address_is_inside_the_endpoints_subnet() -> None:
    """Until the fixed private endpoint IPs come from config, the renderer gets the first address
    Azure does not reserve in the endpoints subnet."""
    import ipaddress

    settings = parse(endpointsSubnetPrefix="10.40.2.0/27")
    address = ipaddress.ip_address(settings.proxy_settings().upstream_address)
    assert address in ipaddress.ip_network("10.40.2.0/27") and int(address) & 0x1F >= 4
