"""Every bound, default and choice of the stack config agrees with the component that uses the value.

The config (infra/config/schema.py) may be stricter than a component, never looser: a value the
config accepts must never be refused by the component later, as a traceback in `pulumi up`. The
tables below are built from the schema, so a new bounded key fails until it names its component
bound (or says why it has none).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from components import arg_choices, proxy_settings
from components.monitoring_queries import ALERT_WINDOW_MINUTES, AlertThresholds
from components.proxy_settings import ProxySettings
from infra.config.proxy import PROXY_FIELD_KEYS
from infra.config.schema import KEYS, KEYS_BY_NAME, Key

_JUST_ABOVE_ZERO = math.nextafter(0.0, 1.0)

# Config key -> the inclusive range the component accepts for the value it becomes.
COMPONENT_BOUNDS: dict[str, tuple[float, float]] = {
    "proxyCpu": proxy_settings.CPU_RANGE,
    "proxyConcurrentRequests": proxy_settings.CONCURRENT_REQUESTS_RANGE,
    "proxyRateLimitPerSecond": proxy_settings.RATE_LIMIT_PER_SECOND_RANGE,
    "proxyRateLimitBurst": proxy_settings.RATE_LIMIT_BURST_RANGE,
    "proxyMaxBodyBytes": proxy_settings.MAX_BODY_BYTES_RANGE,
    "proxyClientTimeoutSeconds": proxy_settings.TIMEOUT_RANGE,
    "proxyUpstreamTimeoutSeconds": proxy_settings.TIMEOUT_RANGE,
    "proxyMinReplicas": arg_choices.REPLICAS_RANGE,
    "proxyMaxReplicas": (1, arg_choices.REPLICAS_RANGE[1]),
    "logRetentionDays": arg_choices.LOG_RETENTION_DAYS_RANGE,
    "dnsRecordTtl": arg_choices.RECORD_TTL_RANGE,
    "verificationTxtTtl": arg_choices.RECORD_TTL_RANGE,
    # ProxyMonitoring: the error rate in (0, 100], every count at least 1, a window Azure accepts.
    "alertErrorRatePercent": (_JUST_ABOVE_ZERO, 100),
    "alertMinRequests": (1, math.inf),
    "alertFace403Count": (1, math.inf),
    "alertThrottledCount": (1, math.inf),
    "alertRestartCount": (1, math.inf),
    "alertCertificateDays": (1, math.inf),
    "alertWindowMinutes": (min(ALERT_WINDOW_MINUTES), max(ALERT_WINDOW_MINUTES)),
}

# Config key -> the choices the component accepts.
COMPONENT_CHOICES: dict[str, tuple[str, ...]] = {
    "faceKind": arg_choices.ACCOUNT_KINDS,
    "privateDnsMode": arg_choices.PRIVATE_DNS_MODES,
    "proxyCertificateSource": arg_choices.CERTIFICATE_SOURCES,
    "proxyDomainBinding": arg_choices.DOMAIN_BINDINGS,
    "proxyUpstreamHost": proxy_settings.UPSTREAM_HOST_MODES,
    "dnsMode": arg_choices.DNS_MODES,
}
# Choices no component takes: they steer the program itself.
PROGRAM_CHOICES = {"lifecycle", "registrationState"}

# Config key -> the AlertThresholds field its value becomes.
THRESHOLD_FIELDS = {
    "alertErrorRatePercent": "error_rate_percent", "alertMinRequests": "min_requests",
    "alertFace403Count": "face_403_count", "alertThrottledCount": "throttled_count",
    "alertRestartCount": "restart_count", "alertCertificateDays": "certificate_days",
    "alertWindowMinutes": "window_minutes",
}

BOUNDED = [k for k in KEYS if k.spec.bounds is not None]
CHOSEN = [k for k in KEYS if k.spec.choices]


def _inside(config: tuple[float, float], component: tuple[float, float]) -> bool:
    return component[0] <= config[0] <= config[1] <= component[1]


def _problems(key: Key) -> list[str]:
    bounds = key.spec.bounds
    assert bounds is not None
    problems = []
    if key.name not in COMPONENT_BOUNDS:
        problems.append(f"{key.name}: bounded in the config but not listed in COMPONENT_BOUNDS")
    elif not _inside(bounds, COMPONENT_BOUNDS[key.name]):
        problems.append(f"{key.name}: config bounds {bounds} lie outside the component's {COMPONENT_BOUNDS[key.name]}")
    for default in {key.spec.value, key.spec.for_lifecycle(True)}:
        if not bounds[0] <= default <= bounds[1]:
            problems.append(f"{key.name}: default {default} lies outside the config bounds {bounds}")
    return problems


def test_every_int_and_number_key_is_bounded():
    unbounded = [k.name for k in KEYS if k.type in ("int", "number") and k.spec.bounds is None]
    assert not unbounded, unbounded


@pytest.mark.parametrize("key", BOUNDED, ids=lambda k: k.name)
def test_config_bounds_lie_inside_the_component_bounds(key):
    assert not _problems(key)


def test_the_bound_check_fails_for_a_config_looser_than_its_component():
    """Control: the check above can fail. The old proxyRateLimitBurst upper bound, one too many."""
    key = KEYS_BY_NAME["proxyRateLimitBurst"]
    looser = dataclasses.replace(key, spec=dataclasses.replace(key.spec, bounds=(0, proxy_settings.RATE_LIMIT_BURST_RANGE[1] + 1)))
    assert _problems(looser) == ["proxyRateLimitBurst: config bounds (0, 100001) lie outside the component's (0, 100000)"]
    unlisted = dataclasses.replace(key, name="proxyNewLimit")
    assert any("not listed" in p for p in _problems(unlisted))


@pytest.mark.parametrize("key", CHOSEN, ids=lambda k: k.name)
def test_config_choices_are_the_component_choices(key):
    if key.name in PROGRAM_CHOICES:
        assert key.spec.value in key.spec.choices
        return
    assert key.name in COMPONENT_CHOICES, f"{key.name}: choices not listed in COMPONENT_CHOICES"
    assert set(key.spec.choices) <= set(COMPONENT_CHOICES[key.name])
    assert key.spec.value in key.spec.choices


# Proxy settings whose config key has a literal default (the others are computed from other keys).
LITERAL_PROXY_FIELDS = sorted(f for f, key in PROXY_FIELD_KEYS.items() if not KEYS_BY_NAME[key].spec.derived)


def test_most_proxy_settings_have_a_literal_default():
    assert len(LITERAL_PROXY_FIELDS) >= 10, LITERAL_PROXY_FIELDS


@pytest.mark.parametrize("field", LITERAL_PROXY_FIELDS, ids=str)
def test_config_defaults_are_the_renderer_defaults(field):
    """Where a proxy setting has a literal default in the config, it is the renderer's default."""
    spec = KEYS_BY_NAME[PROXY_FIELD_KEYS[field]].spec
    default = next(f.default for f in dataclasses.fields(ProxySettings) if f.name == field)
    assert spec.value == default


@pytest.mark.parametrize("name", sorted(THRESHOLD_FIELDS))
def test_config_defaults_are_the_monitoring_defaults(name):
    assert KEYS_BY_NAME[name].spec.value == getattr(AlertThresholds(), THRESHOLD_FIELDS[name])


def test_the_nginx_image_is_the_components():
    assert KEYS_BY_NAME["proxyImage"].spec.value == arg_choices.DEFAULT_IMAGE
