"""Address ranges: the VNet lies in private or shared address space and off Container Apps' reserved
ranges; the client ranges admitted to the private endpoint are narrow and within the NSG's rule limit.
"""

from __future__ import annotations

import pytest

from tests.unit.stack_documents import HEAD, check, refused


@pytest.mark.parametrize("cidrs, fragment", [
    ("['0.0.0.0/1', '128.0.0.0/1']", "faceAllowedClientCidrs"),  # every IPv4 address
    ("['32.0.0.0/3', '64.0.0.0/3']", "at most 16,777,216 addresses"),
    ("['10.0.0.0/8', '11.0.0.0/8']", "at most 16,777,216 addresses"),
    ("['127.0.0.0/16']", "127.0.0.0/8"),
    ("['169.254.0.0/16']", "169.254.0.0/16"),
])
def test_client_cidrs_covering_too_much(cidrs, fragment):
    refused(HEAD + f"  liveness:faceAllowedClientCidrs: {cidrs}\n".encode(), fragment)


def test_client_cidrs_count_capped_at_the_nsg_limit():
    many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(4000)]
    refused(HEAD + f"  liveness:faceAllowedClientCidrs: {many}\n".encode(), "at most 3999 ranges")
    assert check(HEAD + f"  liveness:faceAllowedClientCidrs: {many[:3]}\n".encode()).network.endpoint_client_cidrs


@pytest.mark.parametrize("space", ["127.0.0.0/16", "0.0.0.0/16", "169.254.0.0/16", "224.0.0.0/16", "8.8.0.0/16"])
def test_vnet_outside_private_ranges(space):
    message = refused(HEAD + f"  liveness:vnetAddressSpace: {space}\n".encode(), "100.64.0.0/10 (RFC 6598)")
    assert "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918)" in message


def test_vnet_in_shared_address_space_is_accepted():
    settings = check(HEAD + b"  liveness:vnetAddressSpace: 100.64.0.0/16\n  liveness:appsSubnetPrefix: 100.64.0.0/23\n"
                            b"  liveness:endpointsSubnetPrefix: 100.64.2.0/27\n")
    assert settings.network.vnet_address_space == "100.64.0.0/16"


def test_apps_subnet_on_container_apps_reserved_range():
    refused(HEAD + b"  liveness:vnetAddressSpace: 172.30.0.0/16\n  liveness:appsSubnetPrefix: 172.30.0.0/23\n"
                   b"  liveness:endpointsSubnetPrefix: 172.30.2.0/27\n", "reserved by Container Apps")
