"""FaceAccount: the Face / AI Services account, its private endpoint and private DNS."""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
from typing import Any, NotRequired, Optional, TypedDict

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import authorization, cognitiveservices, network, privatedns

from components.arg_choices import ACCOUNT_KINDS, PRIVATE_DNS_MODES, default_zone_names
from components import args_errors as check
from components import shared_interfaces as interfaces
from components.package import type_token
from components.shared_interfaces import DiagnosticSettingArgs, LockArgs, RoleAssignmentArgs
from components.zone_ids import parse_zone_id

PRIVATE_ENDPOINT_GROUP = "account"
PURGE_HOOK_NAME = "purge-soft-deleted-account"


class PrivateEndpointIpArgs(TypedDict):
    """One fixed private IP of the endpoint: a member of the `account` group and its address."""

    member: str
    """Member name, e.g. default (the account host), or secondary/third for AIServices."""
    address: str
    """A free IPv4 address in the endpoints subnet."""


class FaceAccountArgs(TypedDict):
    """FaceAccount's contract. Optional fields default to the closed choice."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the account, its private endpoint and the created private zones."""
    location: str
    """Azure region, e.g. westeurope."""
    account_name: str
    """Azure name of the Face / AI Services account."""
    custom_subdomain: str
    """Custom subdomain: the account answers at <custom_subdomain>.cognitiveservices.azure.com."""
    vnet_id: pulumi.Input[str]
    """ARM id of the VNet the private zones are linked to."""
    endpoints_subnet_id: pulumi.Input[str]
    """ARM id of the subnet the private endpoint is placed in."""
    private_endpoint_name: str
    """Azure name of the private endpoint."""
    private_endpoint_nic_name: str
    """Azure name of the private endpoint's network interface."""
    private_link_connection_name: str
    """Name of the private link service connection."""
    kind: NotRequired[str]
    """Face or AIServices; default Face."""
    sku: NotRequired[str]
    """Pricing tier; default S0."""
    private_endpoint_ips: NotRequired[list[PrivateEndpointIpArgs]]
    """Fixed private IPs, one per member of the group (the proxy connects to `default`); default dynamic."""
    ip_rules: NotRequired[list[str]]
    """Refused unless empty: public network access is Disabled, so Azure applies no IP rule; default none."""
    disable_local_auth: NotRequired[bool]
    """Refuse key authentication, Entra ID only; default true."""
    restrict_outbound_network_access: NotRequired[bool]
    """Restrict the account's outbound calls to allowed_fqdns; default true."""
    allowed_fqdns: NotRequired[list[str]]
    """FQDNs the account may call out to when restricted; default none."""
    private_dns_mode: NotRequired[str]
    """create (zones, links, zone group here), existing (hub zones by id) or policy (Azure Policy adds the zone group); default create."""
    private_zone_names: NotRequired[list[str]]
    """Private zones created in mode create; default the ones the kind needs."""
    private_dns_zone_ids: NotRequired[list[str]]
    """ARM ids of the hub's private zones (mode existing)."""
    link_hub_zones_to_vnet: NotRequired[bool]
    """In mode existing, link each hub zone to vnet_id; default true."""
    vnet_link_name: NotRequired[str]
    """Name of the VNet link in a created zone; default <account_name>-vnet-link."""
    hub_link_name: NotRequired[str]
    """Name of the VNet link in a hub zone (unique among the spokes); default vnet_link_name."""
    hub_provider_args: NotRequired[dict[str, Any]]
    """Credentials for the explicit providers that write hub zone links (azure-native Provider arguments); default none."""
    protect: NotRequired[bool]
    """Protect the account from deletion; default true."""
    lock: NotRequired[LockArgs]
    """CanNotDelete locks on the account and its private endpoint, each depending on all it blocks; default none."""
    diagnostic_settings: NotRequired[list[DiagnosticSettingArgs]]
    """Where the account's logs and metrics go; default nowhere."""
    role_assignments: NotRequired[list[RoleAssignmentArgs]]
    """Roles on the account (e.g. Face Recognizer for the app server); default none."""
    account_hooks: NotRequired[Any]
    """In-program only: a pulumi.ResourceHookBinding for the account (e.g. purge after delete); default none."""
    tags: NotRequired[dict[str, str]]
    """Tags on every resource; default none."""


def validate_args(args: FaceAccountArgs) -> None:
    """Received vs expected for every field, before anything is declared."""
    kind = "FaceAccountArgs"
    check.required(kind, args, ("resource_group_name", "location", "account_name", "custom_subdomain", "vnet_id",
                                "endpoints_subnet_id", "private_endpoint_name", "private_endpoint_nic_name",
                                "private_link_connection_name"))
    for field in ("location", "account_name", "custom_subdomain", "private_endpoint_name"):
        check.plain_str(kind, field, args[field])
    check.one_of(kind, "kind", args.get("kind", "Face"), ACCOUNT_KINDS)
    mode = args.get("private_dns_mode", "create")
    check.one_of(kind, "private_dns_mode", mode, PRIVATE_DNS_MODES)
    zone_ids = args.get("private_dns_zone_ids") or []
    if mode == "existing" and not zone_ids:
        raise check.ComponentArgsError(kind, "private_dns_zone_ids", zone_ids,
                                       "at least one privateDnsZones id when private_dns_mode is existing")
    for i, zone_id in enumerate(zone_ids):
        if parse_zone_id(str(zone_id)) is None:
            raise check.ComponentArgsError(kind, f"private_dns_zone_ids[{i}]", zone_id,
                                           "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/<zone>")
    members = set()
    for i, entry in enumerate(args.get("private_endpoint_ips") or []):
        if not isinstance(entry, dict) or not entry.get("member") or not entry.get("address"):
            raise check.ComponentArgsError(kind, f"private_endpoint_ips[{i}]", entry, "{member, address}")
        if entry["member"] in members:
            raise check.ComponentArgsError(kind, f"private_endpoint_ips[{i}].member", entry["member"], "each member once")
        members.add(entry["member"])
    if args.get("ip_rules"):
        raise check.ComponentArgsError(kind, "ip_rules", args["ip_rules"],
                                       "none: public network access is Disabled, so Azure ignores IP rules")
    check.one_of(kind, "lock.kind", (args.get("lock") or {}).get("kind", interfaces.LOCK_LEVEL), interfaces.LOCK_KINDS)
    for i, role in enumerate(args.get("role_assignments") or []):
        if not isinstance(role, dict) or not role.get("principal_id") or not role.get("role_definition_id"):
            raise check.ComponentArgsError(kind, f"role_assignments[{i}]", role, "{principal_id, role_definition_id}")
    for i, setting in enumerate(args.get("diagnostic_settings") or []):
        if not isinstance(setting, dict) or not setting.get("workspace_id"):
            raise check.ComponentArgsError(kind, f"diagnostic_settings[{i}]", setting, "{workspace_id}")
    hooks = args.get("account_hooks")
    if hooks is not None and not isinstance(hooks, pulumi.ResourceHookBinding):
        raise check.ComponentArgsError(kind, "account_hooks", hooks, "a pulumi.ResourceHookBinding (in-program only)")



class FaceAccount(pulumi.ComponentResource):
    """An account that only answers on its private endpoint.

    Public network access is Disabled and the firewall's default action is Deny; the custom
    subdomain gives the account the `<sub>.cognitiveservices.azure.com` name that resolves to the
    private endpoint through `privatelink.cognitiveservices.azure.com`.
    """

    account_id: pulumi.Output[str]
    """ARM id of the account."""
    endpoint_host: pulumi.Output[str]
    """The account's hostname, <custom_subdomain>.cognitiveservices.azure.com."""
    private_endpoint_id: pulumi.Output[str]
    """ARM id of the private endpoint."""
    private_ips: pulumi.Output[dict[str, str]]
    """The fixed private IPs by member, as declared."""
    reported_ips_by_fqdn: pulumi.Output[dict[str, list[str]]]
    """Every FQDN of the endpoint with the addresses Azure reports."""

    def __init__(self, name: str, args: FaceAccountArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("face", "FaceAccount"), name, None, opts)
        validate_args(args)
        fixed_ips = [(e["member"], e["address"]) for e in args.get("private_endpoint_ips") or []]
        self.account = self._account(name, args)
        self.private_endpoint = self._private_endpoint(name, args, fixed_ips)
        self._private_dns(name, args)
        self._declare_interfaces(name, args)
        self.account_id = self.account.id
        self.private_endpoint_id = self.private_endpoint.id
        self.endpoint_host = pulumi.Output.from_input(f"{args['custom_subdomain']}.cognitiveservices.azure.com")
        # Known at plan time: the addresses the proxy is rendered with.
        self.private_ips = pulumi.Output.from_input(dict(fixed_ips))
        # What Azure reports back: every FQDN of the endpoint with its addresses (all of them,
        # AIServices has three), to compare with the fixed ones after `pulumi up`.
        self.reported_ips_by_fqdn = self.private_endpoint.custom_dns_configs.apply(ips_by_fqdn)
        self.register_outputs({
            "accountId": self.account.id,
            "endpointHost": self.endpoint_host,
            "privateEndpointId": self.private_endpoint.id,
            "privateEndpointIps": self.private_ips,
        })

    def _account(self, name: str, args: FaceAccountArgs) -> cognitiveservices.Account:
        """The account: public network access Disabled, firewall Deny, local auth off by default."""
        return cognitiveservices.Account(
            f"{name}-account",
            resource_group_name=args["resource_group_name"],
            account_name=args["account_name"],
            location=args["location"],
            kind=args.get("kind", "Face"),
            sku=cognitiveservices.SkuArgs(name=args.get("sku", "S0")),
            identity=cognitiveservices.IdentityArgs(type=cognitiveservices.ResourceIdentityType.SYSTEM_ASSIGNED),
            tags=args.get("tags") or {},
            properties=cognitiveservices.AccountPropertiesArgs(
                custom_sub_domain_name=args["custom_subdomain"],
                public_network_access="Disabled",
                network_acls=cognitiveservices.NetworkRuleSetArgs(
                    default_action="Deny",
                    ip_rules=[cognitiveservices.IpRuleArgs(value=rule) for rule in args.get("ip_rules") or []],
                    virtual_network_rules=[],
                ),
                disable_local_auth=args.get("disable_local_auth", True),
                restrict_outbound_network_access=args.get("restrict_outbound_network_access", True),
                allowed_fqdn_list=list(args.get("allowed_fqdns") or []),
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.get("protect", True), hooks=args.get("account_hooks")),
        )

    def _private_endpoint(self, name: str, args: FaceAccountArgs,
                          fixed_ips: list[tuple[str, str]]) -> network.PrivateEndpoint:
        return network.PrivateEndpoint(
            f"{name}-pe",
            resource_group_name=args["resource_group_name"],
            private_endpoint_name=args["private_endpoint_name"],
            custom_network_interface_name=args["private_endpoint_nic_name"],
            location=args["location"],
            tags=args.get("tags") or {},
            # The id alone: SubnetArgs fills in privateEndpointNetworkPolicies=Disabled and
            # privateLinkServiceNetworkPolicies=Enabled, which would be sent with the reference
            # (and contradict the subnet's own Enabled policies). The typed dict carries only `id`.
            subnet=network.SubnetArgsDict(id=args["endpoints_subnet_id"]),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=args["private_link_connection_name"],
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
                for member, address in fixed_ips
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _private_dns(self, name: str, args: FaceAccountArgs) -> None:
        """The private zones by mode, and the endpoint's zone group over them.

        create: zones and VNet links here; existing: the hub's zones by id, linked to the VNet
        unless told not to; policy: Azure Policy (DeployIfNotExists) adds the zone group, and
        declaring one here would fight it on every update, so the stack declares none.
        """
        self.private_zones: list[privatedns.PrivateZone] = []
        self.zone_links: list[privatedns.VirtualNetworkLink] = []
        self.zone_group: Optional[network.PrivateDnsZoneGroup] = None
        vnet_link_name = args.get("vnet_link_name") or f"{args['account_name']}-vnet-link"
        zone_ids: list[pulumi.Input[str]] = []
        mode = args.get("private_dns_mode", "create")
        if mode == "create":
            zone_ids = self._create_zones(name, args, vnet_link_name)
        elif mode == "existing":
            zone_ids = list(args.get("private_dns_zone_ids") or [])
            if args.get("link_hub_zones_to_vnet", True):
                self.zone_links.extend(self._link_hub_zones(name, args, args["vnet_id"], vnet_link_name))
        if zone_ids:
            self.zone_group = network.PrivateDnsZoneGroup(
                f"{name}-pe-zone-group",
                resource_group_name=args["resource_group_name"],
                private_endpoint_name=self.private_endpoint.name,
                private_dns_zone_group_name="default",
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=pulumi.Output.from_input(zid).apply(
                            lambda z: z.rstrip("/").rsplit("/", 1)[-1].replace(".", "-")),
                        private_dns_zone_id=zid,
                    )
                    for zid in zone_ids
                ],
                opts=pulumi.ResourceOptions(parent=self.private_endpoint, depends_on=self.zone_links),
            )

    def _create_zones(self, name: str, args: FaceAccountArgs, vnet_link_name: str) -> list[pulumi.Input[str]]:
        """Mode create: each zone the kind needs (or the named ones) with its VNet link; their ids."""
        zone_ids: list[pulumi.Input[str]] = []
        tags = args.get("tags") or {}
        for zone_name in args.get("private_zone_names") or default_zone_names(args.get("kind", "Face")):
            short = zone_name.split(".")[1]  # cognitiveservices | openai | services
            zone = privatedns.PrivateZone(
                f"{name}-zone-{short}",
                resource_group_name=args["resource_group_name"],
                private_zone_name=zone_name,
                location="global",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            link = _vnet_link(f"{name}-zone-{short}-link", args["resource_group_name"], zone.name, vnet_link_name,
                              args["vnet_id"], tags, pulumi.ResourceOptions(parent=zone))
            self.private_zones.append(zone)
            self.zone_links.append(link)
            zone_ids.append(zone.id)
        return zone_ids

    def _declare_interfaces(self, name: str, args: FaceAccountArgs) -> None:
        """Diagnostic settings, role assignments and locks (AVM interfaces). Each lock depends on all
        it makes Azure refuse to delete: the account's lock on its extension resources and on the
        private endpoint (deleting it deletes a connection on the account), the endpoint's lock on
        its zone group. Old logical names are kept (diagnostics) or aliased (roles): no URN moves."""
        self.diagnostic_settings = [
            interfaces.diagnostic_setting(
                f"{name}-diagnostics" + (f"-{i}" if i else ""), self.account, d["workspace_id"],
                d.get("log_categories") or interfaces.FACE_LOG_CATEGORIES, parent=self, setting_name=d.get("name"))
            for i, d in enumerate(args.get("diagnostic_settings") or [])
        ]
        self.role_assignments = interfaces.role_assignments(
            f"{name}-role", self.account, args["account_name"], args.get("role_assignments") or [],
            parent=self, former_name=f"{name}-app-server")
        self.locks: list[authorization.ManagementLockByScope] = []
        lock_args = args.get("lock")
        if lock_args is not None and interfaces.lock_wanted(lock_args):
            notes, protect = lock_args.get("notes", ""), lock_args.get("protect", True)
            self.locks = [
                interfaces.lock(f"{name}-account-lock", self.account, notes, self, protect=protect,
                                blocks=[*self.diagnostic_settings, *self.role_assignments, self.private_endpoint]),
                interfaces.lock(f"{name}-pe-lock", self.private_endpoint, notes, self, protect=protect,
                                blocks=[self.zone_group] if self.zone_group else []),
            ]

    def _link_hub_zones(self, name: str, args: FaceAccountArgs, vnet_id: pulumi.Input[str],
                        vnet_link_name: str) -> list[privatedns.VirtualNetworkLink]:
        """Link each hub-owned zone to this VNet, in the zone's own subscription and resource group.

        The link is a child of the zone (`Microsoft.Network/privateDnsZones/virtualNetworkLinks`), so
        it is created where the zone lives: an explicit provider pinned to the zone's subscription
        (the stack's default provider may target another one). The deployer needs
        `Microsoft.Network/privateDnsZones/virtualNetworkLinks/write` on the zone (Private DNS Zone
        Contributor, or a custom role) and `Microsoft.Network/virtualNetworks/join/action` on this VNet.
        """
        providers: dict[str, azure_native.Provider] = {}
        links = []
        for zone_id in args.get("private_dns_zone_ids") or []:
            parsed = parse_zone_id(zone_id)
            assert parsed is not None, "validate_args checked private_dns_zone_ids"
            subscription, zone_rg, zone_name = parsed
            if subscription not in providers:
                providers[subscription] = azure_native.Provider(
                    f"{name}-hub-dns-{subscription[:8]}",
                    subscription_id=subscription,
                    **(args.get("hub_provider_args") or {}),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            short = zone_name.split(".")[1]  # cognitiveservices | openai | services
            links.append(_vnet_link(
                f"{name}-hub-zone-{short}-link", zone_rg, zone_name, args.get("hub_link_name") or vnet_link_name,
                vnet_id, args.get("tags") or {}, pulumi.ResourceOptions(parent=self, provider=providers[subscription])))
        return links


def _vnet_link(logical_name: str, resource_group_name: pulumi.Input[str], zone_name: pulumi.Input[str],
               link_name: str, vnet_id: pulumi.Input[str], tags: dict[str, str],
               opts: pulumi.ResourceOptions) -> privatedns.VirtualNetworkLink:
    """A private zone's link to the VNet: resolution only, no auto-registration of VM records."""
    return privatedns.VirtualNetworkLink(
        logical_name,
        resource_group_name=resource_group_name,
        private_zone_name=zone_name,
        virtual_network_link_name=link_name,
        location="global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=vnet_id),
        tags=tags,
        opts=opts,
    )


def ips_by_fqdn(configs) -> dict[str, list[str]]:
    """Every FQDN of the endpoint's customDnsConfigs with all its addresses (not only the first)."""
    out: dict[str, list[str]] = {}
    for entry in configs or []:
        get = entry.get if isinstance(entry, dict) else (lambda k, e=entry: getattr(e, k, None))
        fqdn = get("fqdn")
        if fqdn:
            out.setdefault(fqdn, []).extend(a for a in get("ip_addresses") or [] if a not in out.get(fqdn, []))
    return out
