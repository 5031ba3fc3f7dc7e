"""The Pulumi program: load config → build components → export outputs."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
from pulumi_azure_native import resources

from components.dns import ProxyDns
from components.face import PURGE_HOOK_NAME, FaceAccount
from components.monitoring import ProxyMonitoring
from components.network import IsolatedNetwork
from components.proxy import LivenessProxy
from components.proxy_app import LivenessProxyApp
from infra import component_args
from infra.config.loader import load_settings
from infra.config.schema import NAMESPACE
from infra.config.settings import Settings


def runtime_config() -> Mapping[str, Any]:
    """Every `namespace:key` config entry of the running stack (env-provided and explicit)."""
    from pulumi.runtime import config as pulumi_config

    merged: dict[str, Any] = dict(pulumi_config.get_config_env())
    merged.update(pulumi_config.CONFIG.get())
    return merged


def is_secret_config(key: str) -> bool:
    """Whether `key` was set with --secret (or is listed secret in the environment)."""
    from pulumi.runtime import config as pulumi_config

    return pulumi_config.is_config_secret(key) or key in pulumi_config.get_config_secret_keys_env()


def _monitoring(settings: Settings, resource_group_name: pulumi.Input[str], proxy: LivenessProxy,
                app: LivenessProxyApp) -> Optional[ProxyMonitoring]:
    """Saved searches, workbook and alerts over the proxy (monitoringEnabled; on by default in prod)."""
    m = settings.monitoring
    if not m.enabled:
        return None
    webhook = pulumi.Config(NAMESPACE).get_secret("alertWebhookUrl") if m.alert_webhook_configured else None
    return ProxyMonitoring("monitoring", component_args.monitoring_args(
        settings, resource_group_name, proxy.workspace.name, proxy.workspace.id, app.app.id, webhook))


def _purge_hooks(settings: Settings) -> Optional[pulumi.ResourceHookBinding]:
    """Test and ephemeral stacks purge the soft-deleted account after delete, freeing its name.

    The hook runs under `pulumi destroy --run-program` (what `liveness-infra teardown` runs);
    prod stacks never get it.
    """
    if not settings.may_tear_down:
        return None
    from infra.purge import purge_after_delete

    return pulumi.ResourceHookBinding(
        after_delete=[pulumi.ResourceHook(PURGE_HOOK_NAME, purge_after_delete(log=pulumi.log.info))])


# Credentials an explicit provider does not inherit: it reads ARM_* variables and the Azure CLI
# itself, but not the stack's `azure-native:*` config, so those are passed on (secrets stay secret).
_FORWARDED = {"clientId": "client_id", "tenantId": "tenant_id", "environment": "environment",
              "useOidc": "use_oidc", "useMsi": "use_msi", "clientSecret": "client_secret",
              "clientCertificatePath": "client_certificate_path",
              "clientCertificatePassword": "client_certificate_password"}
_SECRET_FORWARDED = {"clientSecret", "clientCertificatePassword"}


def _forwarded_provider_config() -> dict[str, Any]:
    """The stack's `azure-native:*` credentials, for the explicit providers of hub zone links."""
    config = pulumi.Config("azure-native")
    out: dict[str, Any] = {}
    for key, arg in _FORWARDED.items():
        value: Any  # a bool, a secret Output or a plain string, by key
        if key in ("useOidc", "useMsi"):
            value = config.get_bool(key)
        elif key in _SECRET_FORWARDED:
            value = config.get_secret(key)
        else:
            value = config.get(key)
        if value is not None:
            out[arg] = value
    return out


def _container_app_options(old_parent: pulumi.Resource, endpoint: pulumi.Resource):
    """Options the program adds to the container app inside LivenessProxyApp:

    - an alias to its old parent: it was a child of LivenessProxy until the app got its own
      component, and the alias keeps its URN, so existing stacks update it in place
      (tests/unit/test_urns.py);
    - a dependency on the private endpoint: its upstream is the endpoint's fixed address, a config
      value rather than an output, so nothing else orders them, and a new revision aimed at a
      changed address could go live while Azure refuses (or is still applying) the endpoint's change.
    """
    added = pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=old_parent)], depends_on=[endpoint])

    def transform(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
        if args.type_ != "azure-native:app:ContainerApp":
            return None
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, added))
    return transform


def build(settings: Settings) -> dict[str, Any]:
    """Declare every resource of the stack; returns the stack outputs."""
    code = pulumi.Config(NAMESPACE).get_secret("verificationCode") if settings.registration.verification_code_configured else None

    group = resources.ResourceGroup(
        "rg",
        resource_group_name=settings.resource_group_name,
        location=settings.location,
        tags=settings.tags,
    )
    net = IsolatedNetwork("network", component_args.network_args(settings, group.name))
    # The proxy's workspace first: the account's diagnostic setting (a FaceAccount input) points at it.
    proxy = LivenessProxy("proxy", component_args.proxy_args(settings, group.name, net.apps_subnet_id))
    face = FaceAccount("face", component_args.face_args(
        settings, group.name, net.vnet_id, net.endpoints_subnet_id, account_hooks=_purge_hooks(settings),
        hub_provider_args=_forwarded_provider_config() if settings.face.private_dns_mode == "existing" else None,
        workspace_id=proxy.workspace.id))
    public_dns = ProxyDns("dns", component_args.dns_args(
        settings, group.name, proxy.ingress_fqdn, proxy.verification_id, code))
    # The custom domain is validated against the CNAME and asuid records: the app takes their ids.
    proxy_app = LivenessProxyApp("proxy", component_args.proxy_app_args(
        settings, group.name, proxy.environment, proxy.keyvault_certificate_id, public_dns.record_ids),
        opts=pulumi.ResourceOptions(transformations=[_container_app_options(proxy, face.private_endpoint)]))
    monitoring = _monitoring(settings, group.name, proxy, proxy_app)

    outputs: dict[str, Any] = {
        "proxyHost": settings.proxy.host,
        "proxyUrl": f"https://{settings.proxy.host}",
        "ingressFqdn": proxy.ingress_fqdn,
        "customDomainVerificationId": proxy.verification_id,
        "faceEndpointHost": face.endpoint_host,
        "faceAccountName": face.account.name,
        "faceAccountId": face.account.id,
        "privateEndpointIp": settings.face.account_host_ip,
        "privateEndpointIps": face.private_ips,
        "privateEndpointIpsByFqdn": settings.face.ips_by_fqdn,
        "privateEndpointReportedIps": face.reported_ips_by_fqdn,
        "resourceGroupName": group.name,
        "location": settings.location,
        "dnsMode": settings.dns.mode,
        "dnsRecords": public_dns.records,
        "registrationState": settings.registration.state,
        "lifecycle": settings.lifecycle,
        # `liveness-infra logs --stack` queries this workspace (its customer id) for this app.
        "logAnalyticsWorkspaceId": proxy.workspace.customer_id,
        "proxyAppName": proxy.app_name,
    }
    if monitoring is not None:
        outputs["monitoringWorkbookId"] = monitoring.workbook.id
    if public_dns.name_servers is not None:
        outputs["nameServers"] = public_dns.name_servers
    if code is not None:
        outputs["verificationCode"] = code  # a secret: `pulumi stack output --show-secrets`
    issued = settings.registration.verification_code_issued_at
    if issued is not None:
        outputs["verificationCodeIssuedAt"] = issued.isoformat().replace("+00:00", "Z")
    return outputs


def main() -> None:
    settings = load_settings(pulumi.get_stack(), runtime_config(), is_secret_config)
    for name, value in build(settings).items():
        pulumi.export(name, value)
