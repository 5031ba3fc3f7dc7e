"""The examples issue 9 found (tracebacks, things that slipped through), one named test each."""

from __future__ import annotations

import pytest

from infra.config.loader import load_settings, parse_settings
from infra.errors import MAX_MESSAGE, ConfigError, UserError
from infra.stackfiles.document import parse_stack_document

HEAD = (b"config:\n  liveness:lifecycle: test\n  liveness:location: westeurope\n"
        b"  liveness:proxyHost: liveness.dev.contoso.com\n  liveness:dnsZoneName: dev.contoso.com\n")


def check(document: bytes, stack: str = "unit"):
    config, secure = parse_stack_document(document, "stacks/Pulumi.unit.yaml")
    return load_settings(stack, config, secure.__contains__)


def refused(document: bytes, fragment: str, stack: str = "unit") -> str:
    with pytest.raises(UserError) as info:
        check(document, stack)
    message = str(info.value)
    assert fragment in message and "\n" not in message and len(message) <= MAX_MESSAGE, message
    return message


def test_stack_file_not_utf8():
    refused(HEAD + b"  liveness:tags: {team: caf\xe9}\n", "not UTF-8")


def test_1500_levels_of_nesting():
    refused(HEAD + b"  liveness:tags: " + b"[" * 1500 + b"]" * 1500 + b"\n", "nested more than")


def test_integer_of_5000_digits():
    refused(HEAD + b"  liveness:proxyMaxBodyBytes: 1" + b"0" * 5000 + b"\n", "too long")
    with pytest.raises(ConfigError, match="proxyMaxBodyBytes"):  # and as a native value (runtime strings)
        parse_settings("unit", {"location": "westeurope", "proxyHost": "a.b.c", "dnsMode": "external",
                                "proxyMaxBodyBytes": "1" + "0" * 5000})


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


@pytest.mark.parametrize("line", [
    b"  liveness:verificationCodeIssuedAt: 2026-11-20T09:30:00Z\n",  # the runbook's own example, unquoted
    b"  liveness:tags: {created: 2026-11-20}\n",
])
def test_unquoted_yaml_dates_stay_strings(line):
    settings = check(HEAD + line)
    if b"tags" in line:
        assert settings.tags["created"] == "2026-11-20"
    else:
        assert settings.registration.verification_code_issued_at.isoformat() == "2026-11-20T09:30:00+00:00"


def test_lone_surrogate_in_a_tag_value():
    refused(HEAD + b'  liveness:tags: {team: "\\ud800"}\n', "UTF-8")


@pytest.mark.parametrize("spelling", [b"~", b"null", b"", b"Null", b"''"])
def test_null_means_unset_for_check_and_runtime(spelling):
    document = HEAD + b"  liveness:namePrefix: " + spelling + b"\n  liveness:resourceGroupName: " + spelling + b"\n"
    config, secure = parse_stack_document(document)
    checked = load_settings("unit", config, secure.__contains__)
    assert checked.name_prefix == "fl-unit" and checked.resource_group_name == "rg-fl-unit"


def test_private_dns_zone_id_with_trailing_slash():
    zone = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/"
            "Microsoft.Network/privateDnsZones/privatelink.cognitiveservices.azure.com/")
    settings = check(HEAD + f"  liveness:privateDnsMode: existing\n  liveness:privateDnsZoneIds: ['{zone}']\n".encode())
    assert settings.face.private_dns_zone_ids == (zone.rstrip("/"),)


@pytest.mark.parametrize("line, expected", [
    (b"  liveness:proxyAllowBrowserPreflight: yes\n", "true or false"),  # YAML 1.1 would say True
    (b"  liveness:proxyMaxReplicas: 1:20\n", "whole number"),  # YAML 1.1 would say 80
])
def test_yaml_1_1_spellings_stay_strings(line, expected):
    refused(HEAD + line, expected)


def test_duplicate_key_is_refused():
    refused(HEAD + b"  liveness:proxyHost: other.dev.contoso.com\n", "duplicate key")


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


def test_stack_named_with_underscore_gets_a_valid_prefix():
    assert check(HEAD, stack="my_stack").name_prefix == "fl-my-stack"


def test_received_value_is_shortened():
    message = refused(HEAD + b"  liveness:proxyImage: " + b"x" * 200_000 + b"\n", "proxyImage")
    assert "chars)" in message


def _run_entrypoint(config: dict[str, str]):
    """infra/__main__.py as `pulumi up` runs it: config only through PULUMI_CONFIG (strings)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import runpy, pulumi, infra.plan.offline as o; m=o._RecordingMocks(); "
            "pulumi.runtime.set_mocks(m, preview=False, monitor=o._RecordingMonitor(m)); "
            f"runpy.run_path({str(root / 'infra')!r}, run_name='__main__')")
    env = {"PULUMI_CONFIG": json.dumps(config), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, timeout=120)


@pytest.mark.parametrize("extra", [
    b"  liveness:namePrefix: ~\n  liveness:tags: {created: 2026-11-20}\n  liveness:proxyAllowBrowserPreflight:\n",
    b"  liveness:proxyAllowBrowserPreflight: yes\n",
])
def test_the_program_under_pulumi_up_reads_the_file_as_config_check_does(extra):
    document = HEAD + extra
    config, secure = parse_stack_document(document)
    assert not secure
    try:
        check(document)
        expected = None
    except UserError as exc:
        expected = str(exc)
    result = _run_entrypoint(config)
    assert "Traceback" not in result.stderr
    if expected is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0 and expected in result.stderr
