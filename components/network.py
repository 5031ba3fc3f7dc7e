"""IsolatedNetwork: the VNet, its two subnets and their network security groups."""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import network

from infra.config import Settings

APPS_DELEGATION = "Microsoft.App/environments"


def _rule(name: str, priority: int, direction: str, access: str, protocol: str, source: str,
          destination: str, ports: list[str]) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        protocol=protocol,
        source_address_prefix=source,
        source_port_range="*",
        destination_address_prefix=destination,
        destination_port_ranges=ports,
    )


class IsolatedNetwork(pulumi.ComponentResource):
    """VNet with a delegated subnet for the Container Apps environment and one for private endpoints.

    The endpoints subnet admits HTTPS from the apps subnet (the proxy) and from the ranges named in
    `faceAllowedClientCidrs` (the app server that creates sessions), nothing else.
    """

    def __init__(self, name: str, settings: Settings, resource_group_name: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("liveness:network:IsolatedNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        net = settings.network

        self.apps_nsg = network.NetworkSecurityGroup(
            f"{name}-apps-nsg",
            resource_group_name=resource_group_name,
            network_security_group_name=settings.resource_name("apps-nsg"),
            location=settings.location,
            tags=settings.tags,
            security_rules=[
                _rule("allow-https-in", 100, "Inbound", "Allow", "Tcp", "Internet", net.apps_subnet_prefix, ["443"]),
                # Port 80 only answers with a redirect to HTTPS (ingress allowInsecure is false).
                _rule("allow-http-redirect-in", 110, "Inbound", "Allow", "Tcp", "Internet", net.apps_subnet_prefix, ["80"]),
                _rule("allow-lb-probes-in", 120, "Inbound", "Allow", "*", "AzureLoadBalancer", net.apps_subnet_prefix, ["*"]),
            ],
            opts=child,
        )
        self.endpoints_nsg = network.NetworkSecurityGroup(
            f"{name}-endpoints-nsg",
            resource_group_name=resource_group_name,
            network_security_group_name=settings.resource_name("pe-nsg"),
            location=settings.location,
            tags=settings.tags,
            security_rules=[
                _rule("allow-https-from-apps", 100, "Inbound", "Allow", "Tcp", net.apps_subnet_prefix, net.endpoints_subnet_prefix, ["443"]),
                *[
                    _rule(f"allow-https-from-client-{i}", 110 + i, "Inbound", "Allow", "Tcp", cidr, net.endpoints_subnet_prefix, ["443"])
                    for i, cidr in enumerate(net.endpoint_client_cidrs)
                ],
                _rule("deny-other-vnet-in", 4000, "Inbound", "Deny", "*", "VirtualNetwork", net.endpoints_subnet_prefix, ["*"]),
            ],
            opts=child,
        )
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=resource_group_name,
            virtual_network_name=settings.resource_name("vnet"),
            location=settings.location,
            tags=settings.tags,
            address_space=network.AddressSpaceArgs(address_prefixes=[net.vnet_address_space]),
            opts=child,
        )
        vnet_child = pulumi.ResourceOptions(parent=self.vnet)
        self.apps_subnet = network.Subnet(
            f"{name}-apps-subnet",
            resource_group_name=resource_group_name,
            virtual_network_name=self.vnet.name,
            subnet_name="apps",
            address_prefix=net.apps_subnet_prefix,
            delegations=[network.DelegationArgs(name="container-apps", service_name=APPS_DELEGATION)],
            network_security_group=network.NetworkSecurityGroupArgs(id=self.apps_nsg.id),
            opts=vnet_child,
        )
        # Subnet writes on one VNet conflict when concurrent: create them one after the other.
        self.endpoints_subnet = network.Subnet(
            f"{name}-endpoints-subnet",
            resource_group_name=resource_group_name,
            virtual_network_name=self.vnet.name,
            subnet_name="private-endpoints",
            address_prefix=net.endpoints_subnet_prefix,
            # Enforce the NSG on private endpoint traffic too.
            private_endpoint_network_policies="Enabled",
            network_security_group=network.NetworkSecurityGroupArgs(id=self.endpoints_nsg.id),
            opts=pulumi.ResourceOptions(parent=self.vnet, depends_on=[self.apps_subnet]),
        )
        self.register_outputs({
            "vnetId": self.vnet.id,
            "appsSubnetId": self.apps_subnet.id,
            "endpointsSubnetId": self.endpoints_subnet.id,
        })
