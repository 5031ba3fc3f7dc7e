"""The Microsoft registration group: where the registration stands and the verification code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from infra.config.reader import Reader, hostname
from infra.config.schema import NAMESPACE
from infra.errors import ConfigError

ISSUED_AT_YEARS = (2020, 2199)  # Face liveness registration exists since 2024; anything outside is a typo


@dataclass(frozen=True)
class RegistrationSettings:
    state: str
    verification_code_configured: bool
    verification_code_issued_at: Optional[datetime]
    registered_proxy_host: Optional[str]
    allow_proxy_host_change: bool

    @property
    def registered(self) -> bool:
        return self.state == "registered"


def parse_registration(r: Reader, proxy_host: str, code_is_secret: Optional[bool]) -> RegistrationSettings:
    """`code_is_secret`: whether the runtime holds `verificationCode` as a secret (None: unknown)."""
    state = r.choice("registrationState")
    code_present = r.value("verificationCode") is not None
    if code_present and code_is_secret is False:
        raise ConfigError(r.full("verificationCode"), "a plain-text value",
                          "a secret: pulumi config set --secret liveness:verificationCode <code>")
    issued_at = _parse_issued_at(r)
    if state == "verifying":
        if not code_present:
            raise ConfigError(r.full("verificationCode"), None,
                              "the verification string from Microsoft support (registrationState verifying)")
        if issued_at is None:
            raise ConfigError(r.full("verificationCodeIssuedAt"), None,
                              "when support issued the code (registrationState verifying), e.g. 2026-11-20T09:30:00Z")
    registered_host = r.string("registeredProxyHost")
    allow_change = r.boolean("allowProxyHostChange")
    if registered_host is not None:
        registered_host = hostname(r, "registeredProxyHost", registered_host, min_labels=3)
    if state == "registered":
        if registered_host is None:
            raise ConfigError(r.full("registeredProxyHost"), None, "the hostname Microsoft registered (registrationState registered)")
        if registered_host != proxy_host and not allow_change:
            raise ConfigError(
                r.full("proxyHost"), proxy_host,
                f"{registered_host}, the host registered with Microsoft; changing it needs a new support "
                f"ticket and verification; set {NAMESPACE}:allowProxyHostChange true to proceed",
            )
    return RegistrationSettings(
        state=state,
        verification_code_configured=code_present,
        verification_code_issued_at=issued_at,
        registered_proxy_host=registered_host,
        allow_proxy_host_change=allow_change,
    )


def _parse_issued_at(reader: Reader) -> Optional[datetime]:
    key = "verificationCodeIssuedAt"
    text = reader.string(key)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(reader.full(key), text, "an ISO-8601 time with zone, e.g. 2026-11-20T09:30:00Z") from None
    if moment.tzinfo is None:
        raise ConfigError(reader.full(key), text, "an ISO-8601 time with a zone (Z or +hh:mm)")
    try:
        utc: datetime | None = moment.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1 in UTC
        utc = None
    if utc is None or not ISSUED_AT_YEARS[0] <= utc.year <= ISSUED_AT_YEARS[1]:
        raise ConfigError(reader.full(key), text,
                          f"a time between the years {ISSUED_AT_YEARS[0]} and {ISSUED_AT_YEARS[1]}, e.g. 2026-11-20T09:30:00Z")
    return utc
