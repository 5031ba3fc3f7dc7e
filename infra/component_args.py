"""Pure: the validated stack Settings → each component's Args (the program's side of the contract).

Components know nothing of stack config (components/ imports nothing from infra/); this module is
where the stack's names, defaults and lifecycle become component inputs. Resource names keep the
`<name_prefix>-<what>` scheme existing stacks were deployed with.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import pulumi

from components.dns import ProxyDnsArgs
from components.face import FaceAccountArgs, PrivateEndpointIpArgs
from components.monitoring_args import AlertThresholdsArgs, ProxyMonitoringArgs
from components.monitoring_queries import AlertThresholds
from components.network import IsolatedNetworkArgs
from components.proxy import LivenessProxyArgs
from components.proxy_app import LivenessProxyAppArgs, ProxyRoutingArgs
from components.shared_interfaces import FACE_RECOGNIZER_ROLE_ID, LOCK_LEVEL, DiagnosticSettingArgs, LockArgs, RoleAssignmentArgs
from infra.config.settings import Settings


def network_args(settings: Settings, resource_group_name: pulumi.Input[str]) -> IsolatedNetworkArgs:
    net = settings.network
    return IsolatedNetworkArgs(
        resource_group_name=resource_group_name,
        location=settings.location,
        vnet_name=settings.resource_name("vnet"),
        apps_nsg_name=settings.resource_name("apps-nsg"),
        endpoints_nsg_name=settings.resource_name("pe-nsg"),
        vnet_address_space=net.vnet_address_space,
        apps_subnet_prefix=net.apps_subnet_prefix,
        endpoints_subnet_prefix=net.endpoints_subnet_prefix,
        endpoint_client_cidrs=list(net.endpoint_client_cidrs),
        tags=settings.tags,
    )


def hub_link_name(settings: Settings) -> str:
    """The link's name in a zone many spokes link to: names this stack's resource group and VNet.

    A name already taken in the zone stops `up` (azure-native checks before it creates,
    pulumi/pulumi-azure-native#303) instead of re-pointing another spoke's link.
    """
    raw = f"{settings.resource_group_name}-{settings.resource_name('vnet')}"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)[:80].rstrip(".")


def lock_args(settings: Settings) -> Optional[LockArgs]:
    """Prod stacks (unless `managementLocks: false`) lock what they must keep, and protect the locks;
    test and ephemeral stacks get none, so teardown never meets one."""
    if not settings.operations.management_locks:
        return None
    return LockArgs(kind=LOCK_LEVEL, protect=True, notes=(
        f"liveness stack {settings.stack}: lift with `pulumi state unprotect` on the lock, "
        "`liveness:managementLocks false` and pulumi up (docs/operations.md)"))


def face_args(settings: Settings, resource_group_name: pulumi.Input[str], vnet_id: pulumi.Input[str],
              endpoints_subnet_id: pulumi.Input[str], *, account_hooks: Any = None,
              hub_provider_args: Optional[dict[str, Any]] = None,
              workspace_id: Optional[pulumi.Input[str]] = None) -> FaceAccountArgs:
    face = settings.face
    args = FaceAccountArgs(
        resource_group_name=resource_group_name,
        location=settings.location,
        account_name=face.account_name,
        custom_subdomain=face.custom_subdomain,
        vnet_id=vnet_id,
        endpoints_subnet_id=endpoints_subnet_id,
        private_endpoint_name=settings.resource_name("face-pe"),
        private_endpoint_nic_name=settings.resource_name("face-pe-nic"),
        private_link_connection_name=settings.resource_name("face-plsc"),
        kind=face.kind,
        sku=face.sku,
        private_endpoint_ips=[PrivateEndpointIpArgs(member=m, address=a) for m, a in face.private_endpoint_ips],
        ip_rules=list(face.ip_rules),
        disable_local_auth=face.disable_local_auth,
        restrict_outbound_network_access=face.restrict_outbound_network_access,
        allowed_fqdns=list(face.allowed_fqdns),
        private_dns_mode=face.private_dns_mode,
        private_zone_names=list(face.private_zone_names),
        private_dns_zone_ids=list(face.private_dns_zone_ids),
        link_hub_zones_to_vnet=face.link_hub_zones_to_vnet,
        vnet_link_name=settings.resource_name("vnet-link"),
        hub_link_name=hub_link_name(settings),
        protect=settings.protect,
        role_assignments=[
            RoleAssignmentArgs(principal_id=p, role_definition_id=FACE_RECOGNIZER_ROLE_ID,
                               description="liveness app server: create liveness sessions (Entra ID token)")
            for p in settings.operations.app_server_principal_ids],
        tags=settings.tags,
    )
    if workspace_id is not None:
        args["diagnostic_settings"] = [DiagnosticSettingArgs(workspace_id=workspace_id)]
    lock = lock_args(settings)
    if lock is not None:
        args["lock"] = lock
    if account_hooks is not None:
        args["account_hooks"] = account_hooks
    if hub_provider_args:
        args["hub_provider_args"] = hub_provider_args
    return args


def infrastructure_resource_group(name_prefix: str) -> str:
    """The platform-managed resource group of the environment, named from the prefix (not ME_…)."""
    return f"rg-{name_prefix}-cae-infra"


def proxy_args(settings: Settings, resource_group_name: pulumi.Input[str],
               apps_subnet_id: pulumi.Input[str]) -> LivenessProxyArgs:
    proxy = settings.proxy
    args = LivenessProxyArgs(
        resource_group_name=resource_group_name,
        location=settings.location,
        apps_subnet_id=apps_subnet_id,
        workspace_name=settings.resource_name("logs"),
        environment_name=settings.resource_name("cae"),
        app_name=settings.resource_name("proxy"),
        infrastructure_resource_group=infrastructure_resource_group(settings.name_prefix),
        log_retention_days=settings.operations.log_retention_days,
        zone_redundant=proxy.zone_redundant,
        certificate_source=proxy.certificate_source,
        keyvault_certificate_name=settings.resource_name("proxy-kv-cert"),
        tags=settings.tags,
    )
    if proxy.certificate_source == "keyvault":
        args["key_vault_certificate_url"] = proxy.key_vault_certificate_url or ""
        args["key_vault_identity"] = proxy.key_vault_identity or ""
    return args


def routing_args(settings: Settings) -> ProxyRoutingArgs:
    """The renderer's inputs; with the app's cpu and concurrency they equal Settings.proxy_settings()."""
    ps = settings.proxy_settings()
    return ProxyRoutingArgs(
        face_host=ps.face_host,
        upstream_address=ps.upstream_address,
        upstream_host=ps.upstream_host,
        allow_options=ps.allow_options,
        rate_limit_per_second=ps.rate_limit_per_second,
        rate_limit_burst=ps.rate_limit_burst,
        max_body_bytes=ps.max_body_bytes,
        trusted_proxy_cidrs=list(ps.trusted_proxy_cidrs),
        client_timeout_seconds=ps.client_timeout_seconds,
        upstream_timeout_seconds=ps.upstream_timeout_seconds,
    )


def managed_certificate_name(settings: Settings) -> str:
    """Deterministic name, so the bound phase can reference the certificate without a cycle."""
    return settings.resource_name("proxy-cert")


def proxy_app_args(settings: Settings, resource_group_name: pulumi.Input[str], environment: Any,
                   keyvault_certificate_id: Optional[pulumi.Input[str]],
                   dns_record_ids: pulumi.Input[list[str]]) -> LivenessProxyAppArgs:
    proxy = settings.proxy
    args = LivenessProxyAppArgs(
        resource_group_name=resource_group_name,
        location=settings.location,
        environment=environment,
        app_name=settings.resource_name("proxy"),
        host=proxy.host,
        routing=routing_args(settings),
        dns_record_ids=dns_record_ids,
        certificate_source=proxy.certificate_source,
        domain_binding=proxy.domain_binding,
        managed_certificate_name=managed_certificate_name(settings),
        image=proxy.image,
        cpu=proxy.cpu,
        memory=proxy.memory,
        min_replicas=proxy.min_replicas,
        max_replicas=proxy.max_replicas,
        concurrent_requests=proxy.concurrent_requests,
        tags=settings.tags,
    )
    if keyvault_certificate_id is not None:
        args["keyvault_certificate_id"] = keyvault_certificate_id
    return args


def dns_args(settings: Settings, resource_group_name: pulumi.Input[str], ingress_fqdn: pulumi.Input[str],
             verification_id: pulumi.Input[str], verification_code: Optional[pulumi.Input[str]]) -> ProxyDnsArgs:
    cfg = settings.dns
    args = ProxyDnsArgs(
        resource_group_name=resource_group_name,
        proxy_host=settings.proxy.host,
        ingress_fqdn=ingress_fqdn,
        verification_id=verification_id,
        mode=cfg.mode,
        record_ttl=cfg.record_ttl,
        verification_ttl=cfg.verification_ttl,
        protect=settings.protect,
        stack_label=settings.stack,
        tags=settings.tags,
    )
    if cfg.zone_name:
        args["zone_name"] = cfg.zone_name
    if cfg.zone_resource_group:
        args["zone_resource_group"] = cfg.zone_resource_group
    if verification_code is not None:
        args["verification_code"] = verification_code
    lock = lock_args(settings)
    if lock is not None:
        args["lock"] = lock
    return args


def monitoring_args(settings: Settings, resource_group_name: pulumi.Input[str], workspace_name: pulumi.Input[str],
                    workspace_id: pulumi.Input[str], container_app_id: pulumi.Input[str],
                    alert_webhook_url: Optional[pulumi.Input[str]]) -> ProxyMonitoringArgs:
    m = settings.monitoring
    args = ProxyMonitoringArgs(
        resource_group_name=resource_group_name,
        location=settings.location,
        name_prefix=settings.name_prefix,
        workspace_name=workspace_name,
        workspace_id=workspace_id,
        container_app_name=settings.resource_name("proxy"),
        container_app_id=container_app_id,
        proxy_host=settings.proxy.host,
        thresholds=threshold_args(m.thresholds),
        alert_emails=list(m.alert_emails),
        certificate_check=m.certificate_check,
        tags=settings.tags,
    )
    if alert_webhook_url is not None:
        args["alert_webhook_url"] = alert_webhook_url
    return args


def threshold_args(t: AlertThresholds) -> AlertThresholdsArgs:
    """The validated alert thresholds as ProxyMonitoring's typed Args (every field, by name)."""
    return AlertThresholdsArgs(
        error_rate_percent=t.error_rate_percent, min_requests=t.min_requests, face_403_count=t.face_403_count,
        throttled_count=t.throttled_count, restart_count=t.restart_count, certificate_days=t.certificate_days,
        window_minutes=t.window_minutes, frequency_minutes=t.frequency_minutes,
    )
