"""One typed, validated view of a stack's configuration.

`parse_settings` turns the raw `liveness:` config of a stack (strings from the Pulumi runtime, or
native YAML values from a stack file) into frozen dataclasses. Every error is a ConfigError naming
the key, what was received and what is expected. Nothing here talks to Azure or Pulumi.

The pieces: infra/config_settings.py (the dataclasses), infra/config_reader.py (typed reading of
raw values), infra/config_checks.py (shared validation helpers), infra/config_parsers.py (one
parser per group). This module composes them and keeps the entry points and the names others import.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable, Mapping, Optional

from infra.config_operations import parse_operations
from infra.config_schema import NAMESPACE
from infra import stack_names, stackfile
from infra.errors import ConfigError
from infra.config_checks import MAX_INSTANCE_SUFFIX, _LOCATION, _PREFIX, _SUBDOMAIN, _check_unknown_keys, _stack_hash, default_name_prefix
from infra.config_parsers import (
    _check_renderable, _parse_dns, _parse_face, _parse_monitoring, _parse_network, _parse_proxy,
    _parse_registration, _user_tags, _with_endpoint_addressing,
)
from infra.config_reader import _Reader, runtime_strings
from infra.config_namespaces import check_namespaces
from infra.config_settings import LIFECYCLES, Settings, UPSTREAM_HOST_MODES
from infra.config_settings import AI_SERVICES_EXTRA_ZONES, CERTIFICATE_SOURCES, COGNITIVE_ZONE, DEFAULT_PROXY_IMAGE, DNS_MODES, DOMAIN_BINDINGS, DnsSettings, FACE_KINDS, FaceSettings, NetworkSettings, PRIVATE_DNS_MODES, ProxyAppSettings, REGISTRATION_STATES, RegistrationSettings  # noqa: F401 (re-exported: infra.config's interface)


def parse_settings(
    stack: str,
    raw: Mapping[str, Any],
    *,
    provider_location: Optional[str] = None,
    verification_code_is_secret: Optional[bool] = None,
    alert_webhook_is_secret: Optional[bool] = None,
) -> Settings:
    """Validate the `liveness:` config of `stack` (keys without namespace) into Settings.

    `provider_location` is `azure-native:location`, used when `liveness:location` is unset.
    `verification_code_is_secret` tells whether the runtime holds the code as a secret (None when
    unknown, e.g. a stack file where only `secure:` values are possible anyway).
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(NAMESPACE, raw, "a mapping of config keys to values")
    raw = runtime_strings(raw)
    _check_unknown_keys(raw)
    r = _Reader(raw)
    if provider_location is not None and not isinstance(provider_location, str):
        provider_location = runtime_strings({"azure-native:location": provider_location}, "")["azure-native:location"]

    lifecycle = r.choice("lifecycle", LIFECYCLES, "prod")
    prod = lifecycle == "prod"
    ephemeral = lifecycle == "ephemeral"

    location = r.string("location") or (provider_location.strip() if provider_location else None)
    if location == "null":
        location = None
    if not location:
        raise ConfigError(r.full("location"), None, "an Azure region such as westeurope (or set azure-native:location)")
    if not _LOCATION.match(location):
        raise ConfigError(r.full("location") if r.string("location") else "azure-native:location", location, "an Azure region name in lower case, e.g. westeurope")

    name_prefix = r.string("namePrefix", default_name_prefix(stack))
    if not _PREFIX.match(name_prefix) or name_prefix.endswith("-") or "--" in name_prefix:
        raise ConfigError(r.full("namePrefix"), name_prefix,
                          "2-16 characters: a lower-case letter, then lower-case letters, digits or single inner hyphens")
    suffix = r.string("instanceSuffix")
    if suffix is not None and (len(suffix) > MAX_INSTANCE_SUFFIX or not _SUBDOMAIN.match(suffix.lower())):
        raise ConfigError(r.full("instanceSuffix"), suffix,
                          f"1-{MAX_INSTANCE_SUFFIX} lower-case letters, digits and inner hyphens")
    suffix = suffix.lower() if suffix is not None else None
    if ephemeral and suffix is None:
        suffix = _stack_hash(stack)
    resource_group_name = r.string("resourceGroupName", f"rg-{name_prefix}")
    if not re.match(r"^[-\w.()]{1,89}[-\w()]$", resource_group_name):
        raise ConfigError(r.full("resourceGroupName"), resource_group_name,
                          "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'")
    tags = {**_user_tags(r), "environment": lifecycle, "stack": stack, "managed-by": "pulumi"}

    network = _parse_network(r)
    face = _with_endpoint_addressing(r, _parse_face(r, name_prefix, suffix, stack), network)
    proxy = replace(_parse_proxy(r, prod, network, stack),
                    upstream_host=r.choice("proxyUpstreamHost", UPSTREAM_HOST_MODES, "client"))
    dns = _parse_dns(r, proxy.host)
    registration = _parse_registration(r, proxy.host, verification_code_is_secret)
    monitoring = _parse_monitoring(r, prod, alert_webhook_is_secret)

    settings = Settings(
        stack=stack,
        lifecycle=lifecycle,
        location=location,
        name_prefix=name_prefix,
        resource_group_name=resource_group_name,
        tags=tags,
        network=network,
        face=face,
        proxy=proxy,
        dns=dns,
        registration=registration,
        monitoring=monitoring,
        operations=parse_operations(r, lifecycle),
    )
    _check_renderable(settings)
    return settings


def load_stack_settings(stack: str, template: Optional[str] = None) -> Settings:
    """Settings for a stack from stacks/Pulumi.<stack>.yaml (no Pulumi CLI, no credentials).

    `template` reads stacks/Pulumi.<template>.yaml instead while keeping `stack` as the stack
    name, which is how ephemeral `pr-<N>` stacks are derived from the `pr` template; a `pr-<N>`
    stack without a file of its own uses that template without being told.
    """
    source = stack_names.config_template(stack, template, stackfile.STACKS_DIR) or stack
    config, secure = stackfile.read_stack_config_and_secure_keys(source)
    return settings_from_stack_config(stack, config, secure)


def settings_from_stack_config(stack: str, config: Mapping[str, str], secure: set[str] | frozenset[str]) -> Settings:
    """Settings from a stack file's `config:` as infra/stack_yaml.py reads it (runtime strings)."""
    key = f"{NAMESPACE}:verificationCode"
    webhook = f"{NAMESPACE}:alertWebhookUrl"
    check_namespaces(config)
    return parse_settings(
        stack,
        stackfile.namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        # A stack file can hold the code only encrypted (`pulumi config set --secret`).
        verification_code_is_secret=(key in secure) if key in config else None,
        alert_webhook_is_secret=(webhook in secure) if webhook in config else None,
    )


def load_runtime_settings(
    get_all: Callable[[], Mapping[str, Any]], is_secret: Callable[[str], bool], stack: str
) -> Settings:
    """Settings inside a Pulumi program: `get_all` returns every `ns:key` config entry."""
    config = dict(get_all())
    check_namespaces(config)
    key = f"{NAMESPACE}:verificationCode"
    webhook = f"{NAMESPACE}:alertWebhookUrl"
    return parse_settings(
        stack,
        stackfile.namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        verification_code_is_secret=is_secret(key) if key in config else None,
        alert_webhook_is_secret=is_secret(webhook) if webhook in config else None,
    )

