"""The validated settings of a stack: one frozen dataclass composing every group's settings.

Each group's dataclass and parser live in their own module (stack, network, face, proxy, dns,
registration, monitoring, operations); infra/config/loader.py builds this from raw config.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.proxy_settings import ProxySettings
from infra.config.dns import DnsSettings
from infra.config.face import FaceSettings
from infra.config.monitoring import MonitoringSettings
from infra.config.network import NetworkSettings
from infra.config.operations import OperationsSettings
from infra.config.proxy import ProxyAppSettings
from infra.config.registration import RegistrationSettings


@dataclass(frozen=True)
class Settings:
    stack: str
    lifecycle: str
    location: str
    name_prefix: str
    resource_group_name: str
    tags: dict[str, str]
    network: NetworkSettings
    face: FaceSettings
    proxy: ProxyAppSettings
    dns: DnsSettings
    registration: RegistrationSettings
    monitoring: MonitoringSettings
    operations: OperationsSettings = OperationsSettings()

    @property
    def prod_like(self) -> bool:
        return self.lifecycle == "prod"

    @property
    def protect(self) -> bool:
        """Protect the account, the public zone and the verification record."""
        return self.prod_like

    @property
    def may_tear_down(self) -> bool:
        return self.lifecycle in ("test", "ephemeral")

    def resource_name(self, suffix: str) -> str:
        return f"{self.name_prefix}-{suffix}"

    def proxy_settings(self) -> ProxySettings:
        """What the nginx configuration of this stack is rendered from."""
        p = self.proxy
        return ProxySettings(
            face_host=self.face.endpoint_host,
            allow_options=p.allow_browser_preflight,
            rate_limit_per_second=p.rate_limit_per_second,
            rate_limit_burst=p.rate_limit_burst,
            max_body_bytes=p.max_body_bytes,
            trusted_proxy_cidrs=p.trusted_proxy_cidrs,
            client_timeout_seconds=p.client_timeout_seconds,
            upstream_timeout_seconds=p.upstream_timeout_seconds,
            upstream_address=self.face.account_host_ip,
            upstream_host=p.upstream_host,
            cpu=p.cpu,
            concurrent_requests=p.concurrent_requests,
            memory=p.memory,
        )

