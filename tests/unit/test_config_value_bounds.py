"""Each value outside what Azure or the proxy accepts is refused naming its key; a spelling Azure
accepts (a trailing slash, an underscore in the stack name) is normalised instead.
"""

from __future__ import annotations

import pytest

from tests.unit.stack_documents import HEAD, check, refused


def test_provider_location_not_a_string():
    document = HEAD.replace(b"  liveness:location: westeurope\n", b"  azure-native:location: [1, 2]\n")
    refused(document, "location")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_issued_at_that_overflows(moment):
    refused(HEAD + f"  liveness:verificationCodeIssuedAt: {moment}\n".encode(), "verificationCodeIssuedAt")


def test_trusted_proxy_everything_ipv6():
    refused(HEAD + b"  liveness:proxyTrustedProxyCidrs: ['::/0']\n", "proxyTrustedProxyCidrs")


def test_64_character_subdomain():
    refused(HEAD + b"  liveness:faceCustomSubdomain: " + b"a" * 64 + b"\n", "2-63")


def test_private_dns_zone_id_with_trailing_slash():
    zone = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/"
            "Microsoft.Network/privateDnsZones/privatelink.cognitiveservices.azure.com/")
    settings = check(HEAD + f"  liveness:privateDnsMode: existing\n  liveness:privateDnsZoneIds: ['{zone}']\n".encode())
    assert settings.face.private_dns_zone_ids == (zone.rstrip("/"),)


def test_stack_named_with_underscore_gets_a_valid_prefix():
    assert check(HEAD, stack="my_stack").name_prefix == "fl-my-stack"
