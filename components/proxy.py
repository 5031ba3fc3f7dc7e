"""LivenessProxy: Log Analytics and the VNet-injected Container Apps environment the proxy app runs in.

The app itself (nginx, custom domain, managed certificate) is LivenessProxyApp
(components/proxy_app.py), declared after the DNS records it is validated against; the environment
comes first because those records need its default domain and verification id.
"""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
from typing import NotRequired, Optional, TypedDict, cast

import pulumi
from pulumi_azure_native import app, operationalinsights

from components.arg_choices import CERTIFICATE_SOURCES, LOG_RETENTION_DAYS_RANGE
from components import args_errors as check
from components.package import type_token
from components.proxy_app import WORKLOAD_PROFILE



class LivenessProxyArgs(TypedDict):
    """LivenessProxy's contract (the environment side). Optional fields default to the safe choice."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the workspace and the environment."""
    location: str
    """Azure region, e.g. westeurope."""
    apps_subnet_id: pulumi.Input[str]
    """ARM id of the subnet delegated to Microsoft.App/environments (the environment is injected there)."""
    workspace_name: str
    """Azure name of the Log Analytics workspace."""
    environment_name: str
    """Azure name of the Container Apps environment."""
    app_name: str
    """Azure name the proxy app will have: its FQDN (the CNAME target) is known before the app exists."""
    infrastructure_resource_group: str
    """Name of the platform-managed resource group (create-only)."""
    log_retention_days: NotRequired[int]
    """Days Log Analytics keeps the proxy's logs (30-730); default 30."""
    zone_redundant: NotRequired[bool]
    """Spread the environment over availability zones; default false (prod stacks set it)."""
    certificate_source: NotRequired[str]
    """managed (Container Apps issues it) or keyvault (imported through key_vault_identity); default managed."""
    key_vault_certificate_url: NotRequired[str]
    """Key Vault secret URL of the certificate (certificate_source keyvault)."""
    key_vault_identity: NotRequired[str]
    """ARM id of the user-assigned identity that reads it (certificate_source keyvault)."""
    keyvault_certificate_name: NotRequired[str]
    """Name of the environment certificate imported from Key Vault; default <environment_name>-kv-cert."""
    tags: NotRequired[dict[str, str]]
    """Tags on every resource; default none."""


def validate_args(args: LivenessProxyArgs) -> None:
    """Received vs expected for every field, before anything is declared."""
    kind = "LivenessProxyArgs"
    check.required(kind, args, ("resource_group_name", "location", "apps_subnet_id", "workspace_name",
                                "environment_name", "app_name", "infrastructure_resource_group"))
    for field in ("location", "workspace_name", "environment_name", "app_name", "infrastructure_resource_group"):
        check.plain_str(kind, field, args[field])
    if "log_retention_days" in args:
        check.int_range(kind, "log_retention_days", args["log_retention_days"], *LOG_RETENTION_DAYS_RANGE)
    source = args.get("certificate_source", "managed")
    check.one_of(kind, "certificate_source", source, CERTIFICATE_SOURCES)
    if source == "keyvault":
        for field in ("key_vault_certificate_url", "key_vault_identity"):
            if not args.get(field):
                raise check.ComponentArgsError(kind, field, args.get(field), "a value when certificate_source is keyvault")


class LivenessProxy(pulumi.ComponentResource):
    """Where the public door runs: the workspace and the VNet-injected Container Apps environment.

    Its outputs (the app's FQDN and the environment's verification id) are what the proxy host's
    DNS records hold; LivenessProxyApp then declares the nginx app in `environment`.
    """

    environment: app.ManagedEnvironment
    """The Container Apps environment: pass it to LivenessProxyApp.environment."""
    ingress_fqdn: pulumi.Output[str]
    """The app's Container Apps FQDN (<app_name>.<default domain>): the CNAME target."""
    verification_id: pulumi.Output[str]
    """The environment's custom-domain verification id: the asuid TXT value."""
    environment_id: pulumi.Output[str]
    """ARM id of the Container Apps environment."""
    workspace_id: pulumi.Output[str]
    """ARM id of the Log Analytics workspace."""
    workspace_customer_id: pulumi.Output[str]
    """The workspace's customer id (what log queries address)."""
    keyvault_certificate_id: Optional[pulumi.Output[str]]
    """ARM id of the Key Vault certificate in the environment (certificate_source keyvault)."""

    def __init__(self, name: str, args: LivenessProxyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("proxy", "LivenessProxy"), name, None, opts)
        validate_args(args)
        self.workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args["resource_group_name"],
            workspace_name=args["workspace_name"],
            location=args["location"],
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.get("log_retention_days", 30),
            tags=args.get("tags") or {},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.environment = self._environment(name, args)
        self.keyvault_certificate: Optional[app.Certificate] = None
        if args.get("certificate_source", "managed") == "keyvault":
            self.keyvault_certificate = self._keyvault_certificate(name, args)

        self.app_name = args["app_name"]
        # The app's FQDN is known before the app exists: the DNS CNAME can point at it first.
        self.ingress_fqdn = self.environment.default_domain.apply(lambda d: f"{self.app_name}.{d}")
        self.verification_id = self.environment.custom_domain_configuration.apply(_verification_id)
        self.environment_id = self.environment.id
        self.workspace_id = self.workspace.id
        self.workspace_customer_id = self.workspace.customer_id
        self.keyvault_certificate_id = self.keyvault_certificate.id if self.keyvault_certificate else None
        self.register_outputs({
            "ingressFqdn": self.ingress_fqdn,
            "verificationId": self.verification_id,
            "environmentId": self.environment_id,
            "workspaceId": self.workspace_id,
        })

    def _environment(self, name: str, args: LivenessProxyArgs) -> app.ManagedEnvironment:
        """The VNet-injected, external environment, its logs sent to the workspace. Beyond the defaults:

        - peer traffic encryption: ingress → proxy replica traffic inside the environment is TLS;
        - the infrastructure resource group gets a name from the prefix (create-only: set it before
          the environment first exists);
        - public network access stated: Enabled, because the environment is external and the proxy is
          the public door (Disabled would leave only private endpoints on the environment).
        """
        keys = operationalinsights.get_shared_keys_output(
            resource_group_name=args["resource_group_name"],
            workspace_name=self.workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        identity = None
        if args.get("certificate_source", "managed") == "keyvault":
            identity = app.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[args["key_vault_identity"]])
        return app.ManagedEnvironment(
            f"{name}-env",
            resource_group_name=args["resource_group_name"],
            environment_name=args["environment_name"],
            location=args["location"],
            tags=args.get("tags") or {},
            identity=identity,
            zone_redundant=args.get("zone_redundant", False),
            vnet_configuration=app.VnetConfigurationArgs(
                infrastructure_subnet_id=args["apps_subnet_id"],
                internal=False,
            ),
            workload_profiles=[app.WorkloadProfileArgs(name=WORKLOAD_PROFILE, workload_profile_type=WORKLOAD_PROFILE)],
            peer_traffic_configuration=app.ManagedEnvironmentPeerTrafficConfigurationArgs(
                encryption=app.ManagedEnvironmentEncryptionArgs(enabled=True)),
            infrastructure_resource_group=args["infrastructure_resource_group"],
            public_network_access="Enabled",
            app_logs_configuration=app.AppLogsConfigurationArgs(
                destination="log-analytics",
                log_analytics_configuration=app.LogAnalyticsConfigurationArgs(
                    customer_id=self.workspace.customer_id,
                    shared_key=pulumi.Output.secret(keys.primary_shared_key),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _keyvault_certificate(self, name: str, args: LivenessProxyArgs) -> app.Certificate:
        """certificate_source keyvault: the certificate imported into the environment through the
        user-assigned identity."""
        return app.Certificate(
            f"{name}-kv-cert",
            resource_group_name=args["resource_group_name"],
            environment_name=self.environment.name,
            certificate_name=args.get("keyvault_certificate_name") or f"{args['environment_name']}-kv-cert",
            location=args["location"],
            properties=app.CertificatePropertiesArgs(
                certificate_key_vault_properties=app.CertificateKeyVaultPropertiesArgs(
                    identity=args["key_vault_identity"],
                    key_vault_url=args["key_vault_certificate_url"],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self.environment, deleted_with=self.environment),
        )


def _verification_id(config: object) -> str:
    """The environment's custom-domain verification id, from the typed response (or the plain dict
    the offline evaluation's mock runtime returns). Azure always reports one for an environment."""
    if isinstance(config, dict):
        return cast(str, config.get("custom_domain_verification_id"))
    return cast(str, getattr(config, "custom_domain_verification_id", None))
