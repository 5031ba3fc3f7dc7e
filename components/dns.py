"""ProxyDns: the public zone (created, existing or external) and the proxy host's records."""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
from typing import Any, NotRequired, Optional, TypedDict

import pulumi
from pulumi_azure_native import dns

from components import args_errors as check
from components import shared_interfaces as interfaces
from components.dns_records import proxy_records, relative_name, split_txt
from components.package import type_token
from components.shared_interfaces import LockArgs

DNS_MODES = ("create", "existing", "external")
RECORD_TTL_RANGE = (1, 2147483647)  # Azure DNS record set TTL


class ProxyDnsArgs(TypedDict):
    """ProxyDns's contract. Optional fields default to the safe choice."""

    resource_group_name: pulumi.Input[str]
    """Resource group of a created zone (and of the records when zone_resource_group is unset)."""
    proxy_host: str
    """Public hostname of the proxy, e.g. liveness.contoso.com."""
    ingress_fqdn: pulumi.Input[str]
    """Container Apps FQDN of the proxy app: the CNAME's target."""
    verification_id: pulumi.Input[str]
    """The environment's custom-domain verification id: the asuid TXT value."""
    mode: NotRequired[str]
    """create (declare the zone), existing (records in a zone you own) or external (declare nothing, output the records); default create."""
    zone_name: NotRequired[str]
    """The public zone holding proxy_host; required unless mode is external."""
    zone_resource_group: NotRequired[str]
    """Resource group of an existing zone; default resource_group_name."""
    record_ttl: NotRequired[int]
    """TTL in seconds of the CNAME and asuid records; default 300."""
    verification_ttl: NotRequired[int]
    """TTL in seconds of the azaiverify record; default 300."""
    verification_code: NotRequired[pulumi.Input[str]]
    """Microsoft's verification string for the azaiverify TXT record (kept secret); default none, no record."""
    protect: NotRequired[bool]
    """Protect the created zone and the verification record from deletion; default true."""
    lock: NotRequired[LockArgs]
    """CanNotDelete locks on a created zone (through its SOA record set) and the verification record; default none."""
    stack_label: NotRequired[str]
    """Written into each record's metadata as `stack`; default empty."""
    tags: NotRequired[dict[str, str]]
    """Tags on a created zone; default none."""


def validate_args(args: ProxyDnsArgs) -> None:
    """Received vs expected for every field, before anything is declared."""
    kind = "ProxyDnsArgs"
    check.required(kind, args, ("resource_group_name", "proxy_host", "ingress_fqdn", "verification_id"))
    check.hostname(kind, "proxy_host", args["proxy_host"])
    mode = args.get("mode", "create")
    check.one_of(kind, "mode", mode, DNS_MODES)
    check.one_of(kind, "lock.kind", (args.get("lock") or {}).get("kind", interfaces.LOCK_LEVEL), interfaces.LOCK_KINDS)
    if mode != "external":
        zone = args.get("zone_name")
        check.hostname(kind, "zone_name", zone)
        try:
            relative_name(args["proxy_host"], str(zone))
        except ValueError:
            raise check.ComponentArgsError(kind, "zone_name", zone, f"a zone containing proxy_host {args['proxy_host']}") from None
    for field in ("record_ttl", "verification_ttl"):
        if field in args:
            check.int_range(kind, field, args[field], *RECORD_TTL_RANGE)


class ProxyDns(pulumi.ComponentResource):
    """CNAME to the ingress, `asuid` TXT for Container Apps, `azaiverify` TXT for Microsoft.

    Modes: `create` declares the zone (delegate it from the parent with `name_servers`),
    `existing` writes records into a zone the stack does not own, `external` declares nothing
    and exposes `records` for the operator's DNS provider.
    """

    records: pulumi.Output[list[dict[str, Any]]]
    """The records to create (name, type, ttl, value, purpose); in external mode, what to create by hand."""
    name_servers: Optional[pulumi.Output[list[str]]]
    """Name servers of a created zone (delegate to them from the parent zone)."""
    record_ids: pulumi.Output[list[str]]
    """ARM ids of the declared record sets: pass them to LivenessProxyApp.dns_record_ids."""

    def __init__(self, name: str, args: ProxyDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("dns", "ProxyDns"), name, None, opts)
        validate_args(args)
        host, mode = args["proxy_host"], args.get("mode", "create")
        resource_group_name = args["resource_group_name"]
        ingress_fqdn, verification_id = args["ingress_fqdn"], args["verification_id"]
        verification_code = args.get("verification_code")
        protect = args.get("protect", True)
        cfg_zone_name = args.get("zone_name") or ""
        self.zone: Optional[dns.Zone] = None
        self.record_sets: list[dns.RecordSet] = []
        self.verification_record: Optional[dns.RecordSet] = None
        self.name_servers: Optional[pulumi.Output] = None

        planned = proxy_records(host, args.get("record_ttl", 300), args.get("verification_ttl", 300),
                                with_verification_code=verification_code is not None)
        # What an operator creates by hand in `external` mode; the verification value stays secret.
        self.records = pulumi.Output.all(ingress_fqdn, verification_id).apply(
            lambda vals: [
                {
                    "name": r.fqdn,
                    "type": r.type,
                    "ttl": r.ttl,
                    "value": {"cname": vals[0], "asuid": vals[1]}.get(
                        r.key, "<the verificationCode secret: pulumi stack output verificationCode --show-secrets>"),
                    "purpose": r.purpose,
                }
                for r in planned
            ]
        )
        self.record_ids = pulumi.Output.from_input([])
        if mode == "external":
            self.register_outputs({"records": self.records})
            return

        zone_rg = args.get("zone_resource_group") or resource_group_name
        zone_name: pulumi.Input[str] = cfg_zone_name
        if mode == "create":
            self.zone = dns.Zone(
                f"{name}-zone",
                resource_group_name=resource_group_name,
                zone_name=cfg_zone_name,
                location="global",
                zone_type="Public",
                tags=args.get("tags") or {},
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            zone_name = self.zone.name
            self.name_servers = self.zone.name_servers
        # Records are children of the component, not of the zone: a protected zone would
        # otherwise make every record protected by inheritance.
        record_parent = self
        zone_dependency = [self.zone] if self.zone else []

        for r in planned:
            common = dict(
                resource_group_name=zone_rg,
                zone_name=zone_name,
                relative_record_set_name=relative_name(r.fqdn, cfg_zone_name),
                record_type=r.type,
                ttl=r.ttl,
                metadata={"purpose": r.key, "stack": args.get("stack_label", "")},
            )
            if r.key == "cname":
                record = dns.RecordSet(f"{name}-cname", cname_record=dns.CnameRecordArgs(cname=ingress_fqdn),
                                       opts=pulumi.ResourceOptions(parent=record_parent, depends_on=zone_dependency), **common)
            elif r.key == "asuid":
                record = dns.RecordSet(
                    f"{name}-asuid",
                    txt_records=[dns.TxtRecordArgs(value=pulumi.Output.from_input(verification_id).apply(split_txt))],
                    opts=pulumi.ResourceOptions(parent=record_parent, depends_on=zone_dependency), **common)
            else:
                assert verification_code is not None
                record = dns.RecordSet(
                    f"{name}-azaiverify",
                    txt_records=[dns.TxtRecordArgs(value=pulumi.Output.secret(pulumi.Output.from_input(verification_code).apply(split_txt)))],
                    opts=pulumi.ResourceOptions(parent=record_parent, depends_on=zone_dependency, protect=protect), **common)
                self.verification_record = record
            self.record_sets.append(record)

        self.record_ids = pulumi.Output.all(*[r.id for r in self.record_sets])
        self.locks: list = []
        lock_args = args.get("lock")
        if interfaces.lock_wanted(lock_args):
            # A lock on the SOA record set stops the zone's delete and nothing else (a lock on the
            # zone would cover every record set); the verification record's lock covers only it.
            notes, protect = lock_args.get("notes", ""), lock_args.get("protect", True)
            if self.zone is not None:
                self.locks.append(interfaces.lock(f"{name}-zone-lock", self.zone, notes, self,
                                                  interfaces.ZONE_LOCK_PATH, protect=protect))
            if self.verification_record is not None:
                self.locks.append(interfaces.lock(f"{name}-azaiverify-lock", self.verification_record, notes, self,
                                                  protect=protect))
        self.register_outputs({"records": self.records, "nameServers": self.name_servers, "recordIds": self.record_ids})
