"""LivenessProxy: Log Analytics, the VNet-injected Container Apps environment, the nginx proxy app,
its custom domain and certificate."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import app, operationalinsights

from components import proxy_config
from infra.config import Settings

CONFIG_SECRET_NAME = "nginx-conf"
CONFIG_VOLUME = "nginx-config"
CONFIG_DIR = "/etc/nginx-liveness"
CONFIG_FILE = "nginx.conf"
WORKLOAD_PROFILE = "Consumption"
CONTAINER_NAME = "proxy"


REVISION_HASH_ENV = "NGINX_CONFIG_SHA256"


def config_fingerprint(nginx_conf: str, settings: proxy_config.ProxySettings) -> str:
    """What the revision-forcing env var holds: the rendered file and the settings it came from.

    Hashing the settings too means a changed upstream address (or Host mode, vCPUs, ...) always
    starts a new revision, even where the rendered text would not show it.
    """
    fields = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str)
    return hashlib.sha256(f"{nginx_conf}\n{fields}".encode()).hexdigest()


def managed_certificate_name(settings: Settings) -> str:
    """Deterministic name, so the bound phase can reference the certificate without a cycle."""
    return settings.resource_name("proxy-cert")


def custom_domain(settings: Settings, environment_id: pulumi.Input[str],
                  keyvault_certificate_id: Optional[pulumi.Input[str]]) -> app.CustomDomainArgs:
    """The hostname binding the app declares, for the configured certificate flow.

    managed/auto:      bindingType Auto: the platform binds the managed certificate once issued.
    managed/bootstrap: hostname added without a certificate (lets the managed certificate validate).
    managed/bound:     SNI binding to the managed certificate created in the bootstrap phase.
    keyvault:          SNI binding to the environment certificate imported from Key Vault.
    """
    host = settings.proxy.host
    if settings.proxy.certificate_source == "keyvault":
        return app.CustomDomainArgs(name=host, binding_type="SniEnabled", certificate_id=keyvault_certificate_id)
    binding = settings.proxy.domain_binding
    if binding == "auto":
        return app.CustomDomainArgs(name=host, binding_type="Auto")
    if binding == "bootstrap":
        return app.CustomDomainArgs(name=host, binding_type="Disabled")
    cert_id = pulumi.Output.from_input(environment_id).apply(
        lambda env_id: f"{env_id}/managedCertificates/{managed_certificate_name(settings)}")
    return app.CustomDomainArgs(name=host, binding_type="SniEnabled", certificate_id=cert_id)


def infrastructure_resource_group(settings: Settings) -> str:
    """The platform-managed resource group of the environment, named from the prefix (not ME_…)."""
    return f"rg-{settings.name_prefix}-cae-infra"


def environment_hardening(settings: Settings) -> dict:
    """ManagedEnvironment arguments beyond the defaults:

    - peer traffic encryption: ingress → proxy replica traffic inside the environment is TLS;
    - the infrastructure resource group gets a name from the prefix (create-only: set it before
      the environment first exists);
    - public network access stated: Enabled, because the environment is external and the proxy is
      the public door (Disabled would leave only private endpoints on the environment).
    """
    return dict(
        peer_traffic_configuration=app.ManagedEnvironmentPeerTrafficConfigurationArgs(
            encryption=app.ManagedEnvironmentEncryptionArgs(enabled=True)),
        infrastructure_resource_group=infrastructure_resource_group(settings),
        public_network_access="Enabled",
    )


class LivenessProxy(pulumi.ComponentResource):
    """The public door: a stock nginx container that forwards only the four liveness routes.

    Build in two steps so DNS can sit between them: the constructor declares the workspace and the
    environment (whose default domain and verification id the DNS records need); `add_app` then
    declares the app once the records it validates against exist.
    """

    def __init__(self, name: str, settings: Settings, resource_group_name: pulumi.Input[str],
                 apps_subnet_id: pulumi.Input[str], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("liveness:proxy:LivenessProxy", name, None, opts)
        self._name = name
        self._settings = settings
        self._resource_group_name = resource_group_name
        child = pulumi.ResourceOptions(parent=self)
        proxy = settings.proxy

        self.workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=resource_group_name,
            workspace_name=settings.resource_name("logs"),
            location=settings.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=settings.operations.log_retention_days,
            tags=settings.tags,
            opts=child,
        )
        keys = operationalinsights.get_shared_keys_output(
            resource_group_name=resource_group_name,
            workspace_name=self.workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )

        identity = None
        if proxy.certificate_source == "keyvault":
            identity = app.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[proxy.key_vault_identity])

        self.environment = app.ManagedEnvironment(
            f"{name}-env",
            resource_group_name=resource_group_name,
            environment_name=settings.resource_name("cae"),
            location=settings.location,
            tags=settings.tags,
            identity=identity,
            zone_redundant=proxy.zone_redundant,
            vnet_configuration=app.VnetConfigurationArgs(
                infrastructure_subnet_id=apps_subnet_id,
                internal=False,
            ),
            workload_profiles=[app.WorkloadProfileArgs(name=WORKLOAD_PROFILE, workload_profile_type=WORKLOAD_PROFILE)],
            **environment_hardening(settings),
            app_logs_configuration=app.AppLogsConfigurationArgs(
                destination="log-analytics",
                log_analytics_configuration=app.LogAnalyticsConfigurationArgs(
                    customer_id=self.workspace.customer_id,
                    shared_key=pulumi.Output.secret(keys.primary_shared_key),
                ),
            ),
            opts=child,
        )

        self.keyvault_certificate: Optional[app.Certificate] = None
        if proxy.certificate_source == "keyvault":
            self.keyvault_certificate = app.Certificate(
                f"{name}-kv-cert",
                resource_group_name=resource_group_name,
                environment_name=self.environment.name,
                certificate_name=settings.resource_name("proxy-kv-cert"),
                location=settings.location,
                properties=app.CertificatePropertiesArgs(
                    certificate_key_vault_properties=app.CertificateKeyVaultPropertiesArgs(
                        identity=proxy.key_vault_identity,
                        key_vault_url=proxy.key_vault_certificate_url,
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self.environment, deleted_with=self.environment),
            )

        self.app_name = settings.resource_name("proxy")
        # The app's FQDN is known before the app exists: the DNS CNAME can point at it first.
        self.ingress_fqdn = self.environment.default_domain.apply(lambda d: f"{self.app_name}.{d}")
        self.verification_id = self.environment.custom_domain_configuration.apply(
            lambda c: (c or {}).get("custom_domain_verification_id") if isinstance(c, dict)
            else getattr(c, "custom_domain_verification_id", None))
        self.app: Optional[app.ContainerApp] = None
        self.managed_certificate: Optional[app.ManagedCertificate] = None

    def add_app(self, dns_dependencies: Sequence[pulumi.Resource]) -> app.ContainerApp:
        """Declare the container app (after the DNS records it is validated against)."""
        settings, proxy, name = self._settings, self._settings.proxy, self._name
        ps = settings.proxy_settings()
        nginx_conf = proxy_config.render_nginx_config(ps)
        conf_hash = config_fingerprint(nginx_conf, ps)

        def probe(kind: str, period: int) -> app.ContainerAppProbeArgs:
            return app.ContainerAppProbeArgs(
                type=kind,
                http_get=app.ContainerAppProbeHttpGetArgs(path=proxy_config.HEALTH_PATH, port=ps.health_port),
                period_seconds=period,
                timeout_seconds=2,
                failure_threshold=3,
            )

        domain = custom_domain(
            settings, self.environment.id,
            self.keyvault_certificate.id if self.keyvault_certificate else None)

        self.app = app.ContainerApp(
            f"{name}-app",
            resource_group_name=self._resource_group_name,
            container_app_name=self.app_name,
            location=settings.location,
            managed_environment_id=self.environment.id,
            workload_profile_name=WORKLOAD_PROFILE,
            tags=settings.tags,
            configuration=app.ConfigurationArgs(
                active_revisions_mode="Single",
                secrets=[app.SecretArgs(name=CONFIG_SECRET_NAME, value=nginx_conf)],
                ingress=app.IngressArgs(
                    external=True,
                    transport="http",
                    target_port=ps.listen_port,
                    allow_insecure=False,
                    traffic=[app.TrafficWeightArgs(latest_revision=True, weight=100)],
                    custom_domains=[domain],
                ),
            ),
            template=app.TemplateArgs(
                containers=[
                    app.ContainerArgs(
                        name=CONTAINER_NAME,
                        image=proxy.image,
                        # Explicit command: any stock nginx image runs the mounted configuration.
                        command=["nginx"],
                        args=["-c", f"{CONFIG_DIR}/{CONFIG_FILE}", "-g", "daemon off;"],
                        resources=app.ContainerResourcesArgs(cpu=proxy.cpu, memory=proxy.memory),
                        # Secret changes alone do not start a new revision; the hash does.
                        env=[app.EnvironmentVarArgs(name=REVISION_HASH_ENV, value=conf_hash)],
                        volume_mounts=[app.VolumeMountArgs(volume_name=CONFIG_VOLUME, mount_path=CONFIG_DIR)],
                        probes=[probe("Readiness", 5), probe("Liveness", 10)],
                    )
                ],
                volumes=[
                    app.VolumeArgs(
                        name=CONFIG_VOLUME,
                        storage_type="Secret",
                        secrets=[app.SecretVolumeItemArgs(secret_ref=CONFIG_SECRET_NAME, path=CONFIG_FILE)],
                    )
                ],
                scale=app.ScaleArgs(
                    min_replicas=proxy.min_replicas,
                    max_replicas=proxy.max_replicas,
                    rules=[
                        app.ScaleRuleArgs(
                            name="http-concurrency",
                            http=app.HttpScaleRuleArgs(metadata={"concurrentRequests": str(proxy.concurrent_requests)}),
                        )
                    ],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(dns_dependencies)),
        )

        if proxy.certificate_source == "managed":
            # Creating a managed certificate requires the hostname to be on an app in the
            # environment already (RequireCustomHostnameInEnvironment): depend on the app.
            self.managed_certificate = app.ManagedCertificate(
                f"{name}-managed-cert",
                resource_group_name=self._resource_group_name,
                environment_name=self.environment.name,
                managed_certificate_name=managed_certificate_name(settings),
                location=settings.location,
                properties=app.ManagedCertificatePropertiesArgs(
                    subject_name=proxy.host,
                    domain_control_validation="CNAME",
                ),
                tags=settings.tags,
                # Teardown: deleting this certificate while the hostname is still bound to it fails
                # (CertificateInUse, hashicorp/terraform-provider-azurerm#21866), and its
                # dependency on the app makes Pulumi delete it first. Deleting the environment
                # deletes its certificates, so skip the certificate's own delete then.
                opts=pulumi.ResourceOptions(parent=self.environment, depends_on=[self.app],
                                            deleted_with=self.environment),
            )

        self.register_outputs({
            "ingressFqdn": self.ingress_fqdn,
            "appId": self.app.id,
        })
        return self.app
