"""A stack file is read as YAML 1.2 within bounds, like the Pulumi CLI: bytes that are not UTF-8, deep
nesting, huge numbers and duplicate keys are one bounded line naming the problem; YAML 1.1 spellings
and unquoted dates stay strings; a long received value is shortened in the message.
"""

from __future__ import annotations

import pytest

from infra.config.loader import parse_settings
from infra.errors import ConfigError
from tests.unit.stack_documents import HEAD, check, refused


def test_stack_file_not_utf8():
    refused(HEAD + b"  liveness:tags: {team: caf\xe9}\n", "not UTF-8")


def test_lone_surrogate_in_a_tag_value():
    refused(HEAD + b'  liveness:tags: {team: "\\ud800"}\n', "UTF-8")


def test_1500_levels_of_nesting():
    refused(HEAD + b"  liveness:tags: " + b"[" * 1500 + b"]" * 1500 + b"\n", "nested more than")


def test_integer_of_5000_digits():
    refused(HEAD + b"  liveness:proxyMaxBodyBytes: 1" + b"0" * 5000 + b"\n", "too long")
    with pytest.raises(ConfigError, match="proxyMaxBodyBytes"):  # and as a native value (runtime strings)
        parse_settings("unit", {"location": "westeurope", "proxyHost": "a.b.c", "dnsMode": "external",
                                "proxyMaxBodyBytes": "1" + "0" * 5000})


def test_duplicate_key_is_refused():
    refused(HEAD + b"  liveness:proxyHost: other.dev.contoso.com\n", "duplicate key")


@pytest.mark.parametrize("line, expected", [
    (b"  liveness:proxyAllowBrowserPreflight: yes\n", "true or false"),  # YAML 1.1 would say True
    (b"  liveness:proxyMaxReplicas: 1:20\n", "whole number"),  # YAML 1.1 would say 80
])
def test_yaml_1_1_spellings_stay_strings(line, expected):
    refused(HEAD + line, expected)


@pytest.mark.parametrize("line", [
    b"  liveness:verificationCodeIssuedAt: 2026-11-20T09:30:00Z\n",  # the README's own example, unquoted
    b"  liveness:tags: {created: 2026-11-20}\n",
])
def test_unquoted_yaml_dates_stay_strings(line):
    settings = check(HEAD + line)
    if b"tags" in line:
        assert settings.tags["created"] == "2026-11-20"
    else:
        assert settings.registration.verification_code_issued_at.isoformat() == "2026-11-20T09:30:00+00:00"


def test_received_value_is_shortened():
    message = refused(HEAD + b"  liveness:proxyImage: " + b"x" * 200_000 + b"\n", "proxyImage")
    assert "chars)" in message
