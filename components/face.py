"""FaceAccount: the Face / AI Services account, its private endpoint and private DNS."""

from __future__ import annotations

import re
from typing import Any, Optional

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import cognitiveservices, network, privatedns

from infra.azure_ids import parse_zone_id
from infra.config import Settings

PRIVATE_ENDPOINT_GROUP = "account"
PURGE_HOOK_NAME = "purge-soft-deleted-account"


class FaceAccount(pulumi.ComponentResource):
    """An account that only answers on its private endpoint.

    Public network access is Disabled and the firewall's default action is Deny; the custom
    subdomain gives the account the `<sub>.cognitiveservices.azure.com` name that resolves to the
    private endpoint through `privatelink.cognitiveservices.azure.com`.
    """

    def __init__(self, name: str, settings: Settings, resource_group_name: pulumi.Input[str],
                 vnet_id: pulumi.Input[str], endpoints_subnet_id: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("liveness:face:FaceAccount", name, None, opts)
        face = settings.face
        child = pulumi.ResourceOptions(parent=self)

        self.account = cognitiveservices.Account(
            f"{name}-account",
            resource_group_name=resource_group_name,
            account_name=face.account_name,
            location=settings.location,
            kind=face.kind,
            sku=cognitiveservices.SkuArgs(name=face.sku),
            identity=cognitiveservices.IdentityArgs(type="SystemAssigned"),
            tags=settings.tags,
            properties=cognitiveservices.AccountPropertiesArgs(
                custom_sub_domain_name=face.custom_subdomain,
                public_network_access="Disabled",
                network_acls=cognitiveservices.NetworkRuleSetArgs(
                    default_action="Deny",
                    ip_rules=[cognitiveservices.IpRuleArgs(value=rule) for rule in face.ip_rules],
                    virtual_network_rules=[],
                ),
                disable_local_auth=face.disable_local_auth,
                restrict_outbound_network_access=face.restrict_outbound_network_access,
                allowed_fqdn_list=list(face.allowed_fqdns),
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=settings.protect, hooks=_purge_hooks(settings)),
        )

        self.private_endpoint = network.PrivateEndpoint(
            f"{name}-pe",
            resource_group_name=resource_group_name,
            private_endpoint_name=settings.resource_name("face-pe"),
            custom_network_interface_name=settings.resource_name("face-pe-nic"),
            location=settings.location,
            tags=settings.tags,
            subnet=network.SubnetArgs(id=endpoints_subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=settings.resource_name("face-plsc"),
                    private_link_service_id=self.account.id,
                    group_ids=[PRIVATE_ENDPOINT_GROUP],
                )
            ],
            # Fixed addresses, one per member of the group: the proxy connects to the `default`
            # member's address without a DNS lookup, so it must not move (infra/endpoint_ips.py).
            ip_configurations=[
                network.PrivateEndpointIPConfigurationArgs(
                    name=f"{PRIVATE_ENDPOINT_GROUP}-{member}",
                    group_id=PRIVATE_ENDPOINT_GROUP,
                    member_name=member,
                    private_ip_address=address,
                )
                for member, address in face.private_endpoint_ips
            ],
            opts=child,
        )

        self.private_zones: list[privatedns.PrivateZone] = []
        self.zone_links: list[privatedns.VirtualNetworkLink] = []
        self.zone_group: Optional[network.PrivateDnsZoneGroup] = None
        zone_ids: list[pulumi.Input[str]] = []
        if face.private_dns_mode == "create":
            for zone_name in face.private_zone_names:
                short = zone_name.split(".")[1]  # cognitiveservices | openai | services
                zone = privatedns.PrivateZone(
                    f"{name}-zone-{short}",
                    resource_group_name=resource_group_name,
                    private_zone_name=zone_name,
                    location="global",
                    tags=settings.tags,
                    opts=child,
                )
                link = privatedns.VirtualNetworkLink(
                    f"{name}-zone-{short}-link",
                    resource_group_name=resource_group_name,
                    private_zone_name=zone.name,
                    virtual_network_link_name=settings.resource_name("vnet-link"),
                    location="global",
                    registration_enabled=False,
                    virtual_network=privatedns.SubResourceArgs(id=vnet_id),
                    tags=settings.tags,
                    opts=pulumi.ResourceOptions(parent=zone),
                )
                self.private_zones.append(zone)
                self.zone_links.append(link)
                zone_ids.append(zone.id)
        elif face.private_dns_mode == "existing":
            zone_ids = list(face.private_dns_zone_ids)
            if face.link_hub_zones_to_vnet:
                self.zone_links.extend(self._link_hub_zones(name, settings, vnet_id))
        # mode "policy": Azure Policy (DeployIfNotExists) adds the zone group; declaring one here
        # would fight it on every update, so the stack declares none.

        if zone_ids:
            self.zone_group = network.PrivateDnsZoneGroup(
                f"{name}-pe-zone-group",
                resource_group_name=resource_group_name,
                private_endpoint_name=self.private_endpoint.name,
                private_dns_zone_group_name="default",
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=pulumi.Output.from_input(zid).apply(lambda z: z.rstrip("/").rsplit("/", 1)[-1].replace(".", "-")),
                        private_dns_zone_id=zid,
                    )
                    for zid in zone_ids
                ],
                opts=pulumi.ResourceOptions(parent=self.private_endpoint, depends_on=self.zone_links),
            )

        self.endpoint_host = face.endpoint_host
        # Known at plan time: the address the proxy is rendered with.
        self.private_ip: str = face.account_host_ip
        self.private_ips: dict[str, str] = dict(face.private_endpoint_ips)
        # What Azure reports back: every FQDN of the endpoint with its addresses (all of them,
        # AIServices has three), to compare with the fixed ones after `pulumi up`.
        self.reported_ips_by_fqdn = self.private_endpoint.custom_dns_configs.apply(ips_by_fqdn)
        self.register_outputs({
            "accountId": self.account.id,
            "endpointHost": self.endpoint_host,
            "privateEndpointId": self.private_endpoint.id,
            "privateEndpointIps": self.private_ips,
        })

    def _link_hub_zones(self, name: str, settings: Settings,
                        vnet_id: pulumi.Input[str]) -> list[privatedns.VirtualNetworkLink]:
        """Link each hub-owned zone to this VNet, in the zone's own subscription and resource group.

        The link is a child of the zone (`Microsoft.Network/privateDnsZones/virtualNetworkLinks`), so
        it is created where the zone lives: an explicit provider pinned to the zone's subscription
        (the stack's default provider may target another one). The deployer needs
        `Microsoft.Network/privateDnsZones/virtualNetworkLinks/write` on the zone (Private DNS Zone
        Contributor, or a custom role) and `Microsoft.Network/virtualNetworks/join/action` on this VNet.
        """
        providers: dict[str, azure_native.Provider] = {}
        links = []
        for zone_id in settings.face.private_dns_zone_ids:
            zone = parse_zone_id(zone_id)
            assert zone is not None, "infra.config validates privateDnsZoneIds"
            if zone.subscription not in providers:
                providers[zone.subscription] = azure_native.Provider(
                    f"{name}-hub-dns-{zone.subscription[:8]}",
                    subscription_id=zone.subscription,
                    **_forwarded_provider_config(),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            short = zone.name.split(".")[1]  # cognitiveservices | openai | services
            links.append(privatedns.VirtualNetworkLink(
                f"{name}-hub-zone-{short}-link",
                resource_group_name=zone.resource_group,
                private_zone_name=zone.name,
                virtual_network_link_name=hub_link_name(settings),
                location="global",
                registration_enabled=False,
                virtual_network=privatedns.SubResourceArgs(id=vnet_id),
                tags=settings.tags,
                opts=pulumi.ResourceOptions(parent=self, provider=providers[zone.subscription]),
            ))
        return links


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


def hub_link_name(settings: Settings) -> str:
    """The link's name in a zone many spokes link to: names this stack's resource group and VNet.

    A name already taken in the zone stops `up` (azure-native checks before it creates,
    pulumi/pulumi-azure-native#303) instead of re-pointing another spoke's link.
    """
    raw = f"{settings.resource_group_name}-{settings.resource_name('vnet')}"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)[:80].rstrip(".")


def ips_by_fqdn(configs) -> dict[str, list[str]]:
    """Every FQDN of the endpoint's customDnsConfigs with all its addresses (not only the first)."""
    out: dict[str, list[str]] = {}
    for entry in configs or []:
        get = entry.get if isinstance(entry, dict) else (lambda k, e=entry: getattr(e, k, None))
        fqdn = get("fqdn")
        if fqdn:
            out.setdefault(fqdn, []).extend(a for a in get("ip_addresses") or [] if a not in out.get(fqdn, []))
    return out


# Credentials an explicit provider does not inherit: it reads ARM_* variables and the Azure CLI
# itself, but not the stack's `azure-native:*` config, so those are passed on (secrets stay secret).
_FORWARDED = {"clientId": "client_id", "tenantId": "tenant_id", "environment": "environment",
              "useOidc": "use_oidc", "useMsi": "use_msi", "clientSecret": "client_secret",
              "clientCertificatePath": "client_certificate_path",
              "clientCertificatePassword": "client_certificate_password"}
_SECRET_FORWARDED = {"clientSecret", "clientCertificatePassword"}


def _forwarded_provider_config() -> dict[str, Any]:
    config = pulumi.Config("azure-native")
    out: dict[str, Any] = {}
    for key, arg in _FORWARDED.items():
        if key in ("useOidc", "useMsi"):
            value = config.get_bool(key)
        elif key in _SECRET_FORWARDED:
            value = config.get_secret(key)
        else:
            value = config.get(key)
        if value is not None:
            out[arg] = value
    return out
