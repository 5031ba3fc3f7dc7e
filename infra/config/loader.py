"""The one loader of a stack's configuration, used by `config check`, `plan` and the Pulumi program.

Whatever the source (a stack file read offline, or the Pulumi runtime under `pulumi up`), the
config arrives as `ns:key` → runtime string plus a way to tell which keys are secrets, and
:func:`load_settings` turns it into frozen Settings. Every error is a ConfigError naming the key,
what was received and what is expected. Nothing here talks to Azure or Pulumi.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from infra.config.dns import parse_dns
from infra.config.face import parse_face
from infra.config.monitoring import parse_monitoring
from infra.config.namespaces import check_namespaces
from infra.config.network import parse_network
from infra.config.operations import parse_operations
from infra.config.proxy import check_renderable, parse_proxy
from infra.config.reader import Reader, runtime_strings
from infra.config.registration import parse_registration
from infra.config.schema import NAMESPACE, check_known_keys
from infra.config.settings import Settings
from infra.config.stack import parse_stack
from infra.errors import ConfigError
from infra.stackfiles import files
from infra.stackfiles.files import namespaced, read_stack_config_and_secure_keys
from infra.stackfiles.names import config_template

VERIFICATION_CODE = f"{NAMESPACE}:verificationCode"
ALERT_WEBHOOK = f"{NAMESPACE}:alertWebhookUrl"


def load_settings(stack: str, config: Mapping[str, Any], is_secret: Callable[[str], bool]) -> Settings:
    """Settings of `stack` from its whole config (`ns:key` → value, as the runtime delivers it).

    `is_secret(key)` tells whether the source holds `key` encrypted (a stack file's `secure:`, or
    the runtime's secret keys); the verification code and the alert webhook must be secrets.
    """
    check_namespaces(config)
    return parse_settings(
        stack,
        namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        verification_code_is_secret=is_secret(VERIFICATION_CODE) if VERIFICATION_CODE in config else None,
        alert_webhook_is_secret=is_secret(ALERT_WEBHOOK) if ALERT_WEBHOOK in config else None,
    )


def load_stack_settings(stack: str, template: Optional[str] = None, stacks_dir: Optional[Path] = None) -> Settings:
    """Settings for a stack from stacks/Pulumi.<stack>.yaml (no Pulumi CLI, no credentials).

    `template` reads stacks/Pulumi.<template>.yaml instead while keeping `stack` as the stack
    name, which is how ephemeral `pr-<N>` stacks are derived from the `pr` template; a `pr-<N>`
    stack without a file of its own uses that template without being told.
    """
    stacks_dir = stacks_dir or files.STACKS_DIR
    source = config_template(stack, template, stacks_dir) or stack
    config, secure = read_stack_config_and_secure_keys(source, stacks_dir)
    return load_settings(stack, config, secure.__contains__)


def parse_settings(
    stack: str,
    raw: Mapping[str, Any],
    *,
    provider_location: Optional[str] = None,
    verification_code_is_secret: Optional[bool] = None,
    alert_webhook_is_secret: Optional[bool] = None,
) -> Settings:
    """Validate the `liveness:` config of `stack` (keys without namespace) into Settings.

    `raw` may hold runtime strings or native values (tests, tools): both read the same.
    `provider_location` is `azure-native:location`, used when `liveness:location` is unset.
    `*_is_secret` tell whether the source holds that key as a secret (None when unknown).
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(NAMESPACE, raw, "a mapping of config keys to values")
    strings = runtime_strings(raw)
    check_known_keys(strings)
    r = Reader(strings)
    if provider_location is not None and not isinstance(provider_location, str):
        provider_location = runtime_strings({"azure-native:location": provider_location}, "")["azure-native:location"]

    base = parse_stack(r, stack, provider_location)
    prod = base.lifecycle == "prod"
    network = parse_network(r)
    face = parse_face(r, base.name_prefix, base.instance_suffix, network)
    proxy = parse_proxy(r, prod, network, stack)
    settings = Settings(
        stack=stack,
        lifecycle=base.lifecycle,
        location=base.location,
        name_prefix=base.name_prefix,
        resource_group_name=base.resource_group_name,
        tags=base.tags,
        network=network,
        face=face,
        proxy=proxy,
        dns=parse_dns(r, proxy.host),
        registration=parse_registration(r, proxy.host, verification_code_is_secret),
        monitoring=parse_monitoring(r, prod, alert_webhook_is_secret),
        operations=parse_operations(r, base.lifecycle),
    )
    check_renderable(settings.proxy_settings())
    return settings
