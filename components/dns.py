"""ProxyDns: the public zone (created, existing or external) and the proxy host's records."""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
from typing import Any, NotRequired, Optional, TypedDict

import pulumi
from pulumi_azure_native import authorization, dns

from components.arg_choices import DNS_MODES, RECORD_TTL_RANGE
from components import args_errors as check
from components import shared_interfaces as interfaces
from components.dns_records import VERIFICATION_LABEL, Record, proxy_records, relative_name, split_txt
from components.package import type_token
from components.shared_interfaces import LockArgs



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
        verification_code = args.get("verification_code")
        self.zone: Optional[dns.Zone] = None
        self.record_sets: list[dns.RecordSet] = []
        self.verification_record: Optional[dns.RecordSet] = None
        self.name_servers: Optional[pulumi.Output[list[str]]] = None
        self.locks: list[authorization.ManagementLockByScope] = []

        planned = proxy_records(args["proxy_host"], args.get("record_ttl", 300), args.get("verification_ttl", 300),
                                with_verification_code=verification_code is not None)
        self.records = _records_output(planned, args["ingress_fqdn"], args["verification_id"])
        self.record_ids = pulumi.Output.from_input([])
        if args.get("mode", "create") == "external":
            self.register_outputs({"records": self.records})
            return

        zone_name: pulumi.Input[str] = args.get("zone_name") or ""
        if args.get("mode", "create") == "create":
            self.zone = self._zone(name, args)
            zone_name = self.zone.name
            self.name_servers = self.zone.name_servers.apply(list)
        for r in planned:
            record = self._record_set(name, args, r, zone_name)
            if r.key == "verification":
                self.verification_record = record
            self.record_sets.append(record)
        self.record_ids = pulumi.Output.all(*[r.id for r in self.record_sets])
        self._declare_locks(name, args.get("lock"))
        self.register_outputs({"records": self.records, "nameServers": self.name_servers, "recordIds": self.record_ids})

    def _zone(self, name: str, args: ProxyDnsArgs) -> dns.Zone:
        """Mode create: the public zone itself (delegate it from the parent with name_servers)."""
        return dns.Zone(
            f"{name}-zone",
            resource_group_name=args["resource_group_name"],
            zone_name=args.get("zone_name") or "",
            location="global",
            zone_type=dns.ZoneType.PUBLIC,
            tags=args.get("tags") or {},
            opts=pulumi.ResourceOptions(parent=self, protect=args.get("protect", True)),
        )

    def _record_set(self, name: str, args: ProxyDnsArgs, r: Record,
                    zone_name: pulumi.Input[str]) -> dns.RecordSet:
        """One planned record. Records are children of the component, not of the zone: a protected
        zone would otherwise make every record protected by inheritance. The verification value is
        a secret and its record is protected like the zone."""
        cname, txt, protect, label = None, None, None, r.key
        if r.key == "cname":
            cname = dns.CnameRecordArgs(cname=args["ingress_fqdn"])
        elif r.key == "asuid":
            txt = [dns.TxtRecordArgs(value=pulumi.Output.from_input(args["verification_id"]).apply(split_txt))]
        else:
            label = VERIFICATION_LABEL
            code = args.get("verification_code")
            assert code is not None, "proxy_records plans the verification record only with a code"
            txt = [dns.TxtRecordArgs(value=pulumi.Output.secret(pulumi.Output.from_input(code).apply(split_txt)))]
            protect = args.get("protect", True)
        return dns.RecordSet(
            f"{name}-{label}",
            resource_group_name=args.get("zone_resource_group") or args["resource_group_name"],
            zone_name=zone_name,
            relative_record_set_name=relative_name(r.fqdn, args.get("zone_name") or ""),
            record_type=r.type,
            ttl=r.ttl,
            metadata={"purpose": r.key, "stack": args.get("stack_label", "")},
            cname_record=cname,
            txt_records=txt,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.zone] if self.zone else [], protect=protect),
        )

    def _declare_locks(self, name: str, lock_args: Optional[LockArgs]) -> None:
        """A lock on the SOA record set stops the zone's delete and nothing else (a lock on the zone
        would cover every record set); the verification record's lock covers only it."""
        if lock_args is None or not interfaces.lock_wanted(lock_args):
            return
        notes, protect = lock_args.get("notes", ""), lock_args.get("protect", True)
        if self.zone is not None:
            self.locks.append(interfaces.lock(f"{name}-zone-lock", self.zone, notes, self,
                                              interfaces.ZONE_LOCK_PATH, protect=protect))
        if self.verification_record is not None:
            self.locks.append(interfaces.lock(f"{name}-azaiverify-lock", self.verification_record, notes, self,
                                              protect=protect))


def _records_output(planned: list[Record], ingress_fqdn: pulumi.Input[str],
                    verification_id: pulumi.Input[str]) -> pulumi.Output[list[dict[str, Any]]]:
    """What an operator creates by hand in `external` mode; the verification value stays secret."""
    return pulumi.Output.all(ingress_fqdn, verification_id).apply(
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
