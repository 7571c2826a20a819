"""The libcloud driver's network family on EC2: a VPC's subnets, network interfaces, security
groups and Elastic IPs as Overcast's subnets, ports, security groups and floating IPs.

The provider owns the addresses (:attr:`AddressOwner.PROVIDER`): a port is an elastic network
interface (ENI) made in its subnet, and Overcast records the private address and MAC EC2 chose; a
floating IP is an Elastic IP (``AllocateAddress``, ``Domain=vpc``), associated with the port's ENI.

- **Networks** are the configured VPC (``vpc``; the account's default VPC when not configured):
  EC2 has no object between a VPC and its subnets, so an Overcast network's backend id is the VPC's
  id and nothing is made or removed for it. An *external* network is the provider's public address
  pool (the Elastic IPs): its backend id is :data:`PUBLIC`, and its subnet :data:`PUBLIC_SUBNET`
  (the range is Amazon's, not visible: ``extra["cidr"]`` is None).
- **Subnets** are EC2 subnets of the VPC (``CreateSubnet``) with the subnet's CIDR; EC2 refuses a
  CIDR outside the VPC's blocks or overlapping another subnet (the subnet's fault).
- Everything made carries the tags ``overcast:key`` (the Overcast id) and ``overcast:project``,
  written in the creating call (``TagSpecification``): no untagged window. Creates look the tag up
  first (``CreateSubnet``/``CreateNetworkInterface``/``CreateSecurityGroup``/``AllocateAddress``
  take no client token), so a retried apply finds what an earlier attempt made.
- **Security groups** are VPC security groups named ``overcast-<id>``; applying one replaces its
  whole rule set (authorize what is missing, revoke what is no longer asked for, EC2's default
  egress rule included). A rule's backend id names its EC2 permission (direction, protocol, ports,
  peer): two Overcast rules EC2 holds as one permission share it.

See ``docs/decisions/0063-libcloud-network-family.md``.
"""

from __future__ import annotations

import builtins
import ipaddress
import threading
from typing import Any, Iterable

from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest, NotFound
from overcast.drivers.libcloud.compute import TAG_KEY, TAG_PROJECT
from overcast.drivers.libcloud.errors import translated
from overcast.drivers.libcloud.providers import DriverPool, LibcloudSettings
from overcast.drivers.network import (AddressOwner, BackendObject, Capability, FixedIp, FloatingIpRealised,
                                      FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding, PortSpec,
                                      ProviderSubnet, Realised, Ref, SecurityGroupRealised, SecurityGroupRuleSpec, SecurityGroupSpec,
                                      SubnetSpec)

#: the backend id of an external network: the provider's Elastic IP pool
PUBLIC = "ec2-elastic-ips"
#: and of its subnet (Amazon's ranges, not visible to the account)
PUBLIC_SUBNET = "ec2-elastic-ips-subnet"
#: the tag naming the Overcast network a subnet belongs to
TAG_NETWORK = "overcast:network"
#: Neutron's protocol names -> EC2's IpProtocol
_PROTOCOLS = {None: "-1", "any": "-1", "tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "58",
              "ipv6-icmp": "58", "6": "tcp", "17": "udp", "1": "icmp", "58": "58"}
#: DescribeX action -> (the answer's set element, its id field, TagSpecification's resource type)
_KINDS = {"subnet": ("DescribeSubnets", "subnetSet", "subnetId"),
          "port": ("DescribeNetworkInterfaces", "networkInterfaceSet", "networkInterfaceId"),
          "security_group": ("DescribeSecurityGroups", "securityGroupInfo", "groupId"),
          "floating_ip": ("DescribeAddresses", "addressesSet", "allocationId")}
_PAGED = frozenset({"DescribeSubnets", "DescribeNetworkInterfaces", "DescribeSecurityGroups"})


def _tags(resource: str, spec_id: str, project_id: str, **more: str) -> dict[str, str]:
    params = {"TagSpecification.1.ResourceType": resource}
    tags = {TAG_KEY: spec_id, TAG_PROJECT: project_id or "-", **more}
    for n, (key, value) in enumerate(tags.items(), start=1):
        params[f"TagSpecification.1.Tag.{n}.Key"] = key
        params[f"TagSpecification.1.Tag.{n}.Value"] = value
    return params


def permission(rule: SecurityGroupRuleSpec, group_id: str) -> tuple[str, str, int, int, str, str]:
    """The EC2 permission a Neutron rule is: (direction, protocol, from, to, peer kind, peer).

    :raises InvalidRequest: EC2 cannot express it (a protocol it has no name or number for)."""
    protocol = _PROTOCOLS.get(rule.protocol.lower() if rule.protocol else None)
    if protocol is None:
        if not (rule.protocol or "").isdigit():
            raise InvalidRequest(f"EC2 security groups take no protocol {rule.protocol!r}")
        protocol = rule.protocol or "-1"
    low, high = -1, -1
    if protocol in ("tcp", "udp"):
        low, high = rule.port_range_min or 0, rule.port_range_max or 65535
    elif protocol in ("icmp", "58"):  # Neutron: min = ICMP type, max = code
        low = -1 if rule.port_range_min is None else rule.port_range_min
        high = -1 if rule.port_range_max is None else rule.port_range_max
    if rule.remote_group is not None:
        peer_kind, peer = "group", rule.remote_group.backend_id or group_id
    elif rule.ethertype == "IPv6":
        peer_kind, peer = "ipv6", rule.remote_ip_prefix or "::/0"
    else:
        peer_kind, peer = "ipv4", rule.remote_ip_prefix or "0.0.0.0/0"
    return (rule.direction, protocol, low, high, peer_kind, peer)


def permission_id(perm: tuple[str, str, int, int, str, str]) -> str:
    return "{}:{}:{}:{}:{}:{}".format(*perm)


def _permission_params(perms: Iterable[tuple[str, str, int, int, str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for n, (_direction, protocol, low, high, kind, peer) in enumerate(perms, start=1):
        root = f"IpPermissions.{n}."
        params[root + "IpProtocol"] = protocol
        if protocol != "-1":
            params[root + "FromPort"], params[root + "ToPort"] = str(low), str(high)
        if kind == "group":
            params[root + "Groups.1.GroupId"] = peer
        elif kind == "ipv6":
            params[root + "Ipv6Ranges.1.CidrIpv6"] = peer
        else:
            params[root + "IpRanges.1.CidrIp"] = peer
    return params


class LibcloudEc2NetworkDriver(NetworkDriver):
    """Subnets, ENIs, security groups and Elastic IPs of one VPC, through libcloud's EC2 connection."""

    capabilities = frozenset({Capability.SECURITY_GROUPS, Capability.FLOATING_IPS})
    addresses = AddressOwner.PROVIDER

    def __init__(self, settings: LibcloudSettings, pool: DriverPool) -> None:
        self.settings = settings
        self._pool = pool
        self._vpc: str | None = settings.vpc
        self._lock = threading.Lock()

    # -- EC2 calls ---------------------------------------------------------------------------
    def _call(self, what: str) -> Any:
        return translated(what, self.settings.secrets())

    def _request(self, params: dict[str, Any]) -> Any:
        driver = self._pool.get()
        return driver.connection.request(driver.path, params=params).object

    def _describe(self, kind: str, filters: dict[str, Any]) -> builtins.list[Any]:
        """Every item of ``kind`` matching ``filters``, all pages."""
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall, findtext

        action, set_name, _ = _KINDS[kind]
        params: dict[str, Any] = {"Action": action, **self._pool.get()._build_filters(filters)}
        if action in _PAGED:
            params["MaxResults"] = str(self.settings.page_size)
        items: builtins.list[Any] = []
        while True:
            elem = self._request(params)
            items += findall(element=elem, xpath=f"{set_name}/item", namespace=NAMESPACE)
            token = findtext(element=elem, xpath="nextToken", namespace=NAMESPACE)
            if action not in _PAGED or not token:
                return items
            params["NextToken"] = token

    @staticmethod
    def _text(elem: Any, path: str) -> str | None:
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findtext

        return findtext(element=elem, xpath=path, namespace=NAMESPACE)

    @staticmethod
    def _first(elem: Any, path: str) -> Any:
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall

        found = findall(element=elem, xpath=path, namespace=NAMESPACE)
        if not found:
            raise InvalidRequest(f"the provider's answer has no {path}")
        return found[0]

    def _tag_of(self, elem: Any, key: str) -> str | None:
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall

        for item in findall(element=elem, xpath="tagSet/item", namespace=NAMESPACE):
            if self._text(item, "key") == key:
                return self._text(item, "value")
        return None

    def _found(self, kind: str, spec_id: str, backend_id: str | None) -> Any | None:
        """The object made for ``spec_id``: by its backend id, else by its ``overcast:key`` tag."""
        id_field = _KINDS[kind][2]
        if backend_id:
            try:
                found = self._describe(kind, {_filter_name(id_field): backend_id})
            except NotFound:
                found = []
            if found:
                return found[0]
        found = self._describe(kind, {f"tag:{TAG_KEY}": spec_id})
        return found[0] if found else None

    def vpc(self) -> str:
        """The configured VPC, else the account's default VPC (looked up once)."""
        with self._lock:
            if self._vpc is None:
                from libcloud.compute.drivers.ec2 import NAMESPACE
                from libcloud.utils.xml import findall

                answer = self._request({"Action": "DescribeVpcs", "Filter.1.Name": "isDefault",
                                        "Filter.1.Value.1": "true"})
                vpcs = findall(element=answer, xpath="vpcSet/item", namespace=NAMESPACE)
                if not vpcs:
                    raise InvalidRequest("the account has no default VPC: configure the region's 'vpc'")
                self._vpc = self._text(vpcs[0], "vpcId")
            return str(self._vpc)

    # -- networks, subnets, ports ------------------------------------------------------------
    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        if network.external:
            return Realised(backend_id=PUBLIC, extra={"provider_external": True})
        with self._call("network apply"):
            return Realised(backend_id=self.vpc(), extra={"vpc": True})

    def provider_subnets(self, ctx: CallContext) -> builtins.list[ProviderSubnet]:
        """The VPC's subnets Overcast did not make, with AWS's addressing: the VPC router at the
        network's first address, the first four and the last address reserved."""
        with self._call("provider subnets"):
            vpc = self.vpc()
            found = self._describe("subnet", {"vpc-id": vpc})
        out = []
        for item in found:
            if self._tag_of(item, TAG_KEY) is not None:
                continue
            cidr = ipaddress.ip_network(str(self._text(item, "cidrBlock")))
            backend_id = str(self._text(item, "subnetId"))
            out.append(ProviderSubnet(backend_id=backend_id, network_backend_id=vpc,
                                      name=self._tag_of(item, "Name") or backend_id, cidr=str(cidr),
                                      gateway_ip=str(cidr[1]),
                                      allocation_pools=((str(cidr[4]), str(cidr[-2])),),
                                      availability_zone=self._text(item, "availabilityZone")))
        return out

    def takes_range(self, ctx: CallContext, cidr: str) -> bool:
        """Whether ``cidr`` lies inside one of the VPC's IPv4 blocks (EC2 refuses a subnet
        outside them: the default VPC is 172.31.0.0/16, so the seed's 10.0.0.0/26 is not made there)."""
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall

        wanted = ipaddress.ip_network(cidr, strict=False)
        with self._call("vpc blocks"):
            answer = self._request({"Action": "DescribeVpcs", "VpcId.1": self.vpc()})
        blocks: set[str] = set()
        for vpc in findall(element=answer, xpath="vpcSet/item", namespace=NAMESPACE):
            blocks.add(str(self._text(vpc, "cidrBlock") or ""))
            for item in findall(element=vpc, xpath="cidrBlockAssociationSet/item", namespace=NAMESPACE):
                if self._text(item, "cidrBlockState/state") in (None, "associated"):
                    blocks.add(str(self._text(item, "cidrBlock") or ""))
        for block in filter(None, blocks):
            network = ipaddress.ip_network(block, strict=False)
            if network.version == wanted.version and wanted.subnet_of(network):  # type: ignore[arg-type]
                return True
        return False

    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        """Nothing to remove: the VPC is configured, not made (its subnets go with their records)."""

    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        network = subnet.network.backend_id
        if network == PUBLIC:
            return Realised(backend_id=PUBLIC_SUBNET, extra={"provider_external": True, "cidr": None})
        with self._call("subnet apply"):
            if network != self.vpc():
                raise NotFound(f"No network {subnet.network.id} in the region's VPC")
            found = self._found("subnet", subnet.id, subnet.backend_id)
            if found is None:
                params = {"Action": "CreateSubnet", "VpcId": network, "CidrBlock": subnet.cidr,
                          **_tags("subnet", subnet.id, subnet.project_id, **{TAG_NETWORK: subnet.network.id})}
                if subnet.ip_version == 6:
                    params = {**params, "Ipv6CidrBlock": subnet.cidr, "Ipv6Native": "true"}
                    del params["CidrBlock"]
                answer = self._request(params)
                return Realised(backend_id=str(self._text(answer, "subnet/subnetId")),
                                extra={"availability_zone": self._text(answer, "subnet/availabilityZone")})
            return Realised(backend_id=str(self._text(found, "subnetId")),
                            extra={"availability_zone": self._text(found, "availabilityZone")})

    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        if subnet.backend_id == PUBLIC_SUBNET:
            return
        self._delete("subnet", subnet, lambda backend_id: {"Action": "DeleteSubnet", "SubnetId": backend_id})

    def _delete(self, kind: str, ref: Ref, params: Any) -> None:
        with self._call(f"{kind} remove"):
            found = self._found(kind, ref.id, ref.backend_id)
            if found is None or self._tag_of(found, TAG_KEY) != ref.id:
                return  # gone, or not what Overcast made for this object
            try:
                self._request(params(str(self._text(found, _KINDS[kind][2]))))
            except Exception as exc:  # noqa: BLE001 - gone meanwhile
                if "NotFound" not in str(exc):
                    raise

    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        subnets = [a.subnet for a in port.fixed_ips if a.subnet.backend_id != PUBLIC_SUBNET]
        if not subnets:
            raise InvalidRequest("an EC2 network interface needs a subnet of the VPC")
        if len({s.backend_id for s in subnets}) > 1:
            raise InvalidRequest("an EC2 network interface has addresses of one subnet only")
        subnet = subnets[0]
        if not subnet.backend_id:
            raise NotFound(f"The provider has no subnet for {subnet.id} yet")
        groups = sorted(self._group_id(g) for g in port.security_groups) if port.port_security_enabled else []
        with self._call("port bind"):
            found = self._found("port", port.id, port.backend_id)
            if found is None:
                params: dict[str, Any] = {"Action": "CreateNetworkInterface", "SubnetId": subnet.backend_id,
                                          **_tags("network-interface", port.id, port.project_id)}
                wanted = [a.ip_address for a in port.fixed_ips if a.ip_address]
                if wanted:
                    params["PrivateIpAddress"] = wanted[0]
                for n, group in enumerate(groups, start=1):
                    params[f"SecurityGroupId.{n}"] = group
                found = self._first(self._request(params), "networkInterface")
            elif groups and sorted(self._port_groups(found)) != groups:
                params = {"Action": "ModifyNetworkInterfaceAttribute",
                          "NetworkInterfaceId": self._text(found, "networkInterfaceId")}
                params.update({f"SecurityGroupId.{n}": g for n, g in enumerate(groups, start=1)})
                self._request(params)
            backend_id = str(self._text(found, "networkInterfaceId"))
            address = self._text(found, "privateIpAddress")
            mac = self._text(found, "macAddress")
        return PortBinding(backend_id=backend_id, host=port.host or "ec2", vif_type="ec2-eni", active=True,
                           mac_address=mac,
                           fixed_ips=(FixedIp(subnet=subnet, ip_address=address),) if address else (),
                           extra={"subnet_id": subnet.backend_id})

    @staticmethod
    def _group_id(ref: Ref) -> str:
        if not ref.backend_id:
            raise NotFound(f"The provider has no security group for {ref.id} yet")
        return ref.backend_id

    def _port_groups(self, eni: Any) -> builtins.list[str]:
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall

        return [str(self._text(g, "groupId")) for g in findall(element=eni, xpath="groupSet/item",
                                                               namespace=NAMESPACE)]

    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        self._delete("port", port, lambda backend_id: {"Action": "DeleteNetworkInterface",
                                                       "NetworkInterfaceId": backend_id})

    def list_objects(self, ctx: CallContext, kind: str) -> builtins.list[BackendObject]:
        if kind == "network":  # the networks that have a subnet in the VPC (a network is no EC2 object)
            with self._call("network list"):
                subnets, vpc = self._describe("subnet", {"tag-key": TAG_NETWORK}), self.vpc()
            seen = sorted({str(n) for n in (self._tag_of(s, TAG_NETWORK) for s in subnets) if n is not None})
            return [BackendObject(kind="network", id=n, backend_id=vpc) for n in seen]
        if kind not in _KINDS:
            raise InvalidRequest(f"No kind {kind!r} on EC2 (routers are the VPC's own)")
        with self._call(f"{kind} list"):
            items = self._describe(kind, {"tag-key": TAG_KEY})
        return [BackendObject(kind=kind, id=str(self._tag_of(i, TAG_KEY)),
                              backend_id=str(self._text(i, _KINDS[kind][2]))) for i in items]

    # -- floating IPs: Elastic IPs ------------------------------------------------------------
    def apply_floating_ip(self, ctx: CallContext, floating_ip: FloatingIpSpec) -> FloatingIpRealised:
        with self._call("floating ip apply"):
            found = self._found("floating_ip", floating_ip.id, floating_ip.backend_id)
            if found is None:
                params: dict[str, Any] = {"Action": "AllocateAddress", "Domain": "vpc",
                                          **_tags("elastic-ip", floating_ip.id, floating_ip.project_id)}
                if floating_ip.floating_ip_address:
                    params["Address"] = floating_ip.floating_ip_address
                answer = self._request(params)
                allocation, address = self._text(answer, "allocationId"), self._text(answer, "publicIp")
                association, eni = None, None
            else:
                allocation, address = self._text(found, "allocationId"), self._text(found, "publicIp")
                association, eni = self._text(found, "associationId"), self._text(found, "networkInterfaceId")
            if floating_ip.port is not None:
                target = floating_ip.port.backend_id
                if not target:
                    raise NotFound(f"The provider has no port for {floating_ip.port.id} yet")
                if eni != target:
                    params = {"Action": "AssociateAddress", "AllocationId": allocation, "NetworkInterfaceId": target,
                              "AllowReassociation": "true"}
                    if floating_ip.fixed_ip_address:
                        params["PrivateIpAddress"] = floating_ip.fixed_ip_address
                    self._request(params)
            elif association:
                self._request({"Action": "DisassociateAddress", "AssociationId": association})
        return FloatingIpRealised(backend_id=str(allocation), floating_ip_address=address)

    def remove_floating_ip(self, ctx: CallContext, floating_ip: Ref) -> None:
        with self._call("floating ip remove"):
            found = self._found("floating_ip", floating_ip.id, floating_ip.backend_id)
            if found is None or self._tag_of(found, TAG_KEY) != floating_ip.id:
                return
            association = self._text(found, "associationId")
            if association:
                self._request({"Action": "DisassociateAddress", "AssociationId": association})
            self._request({"Action": "ReleaseAddress", "AllocationId": self._text(found, "allocationId")})

    # -- security groups ----------------------------------------------------------------------
    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        with self._call("security group apply"):
            found = self._found("security_group", group.id, group.backend_id)
            if found is None:
                answer = self._request({"Action": "CreateSecurityGroup", "GroupName": f"overcast-{group.id}",
                                        "GroupDescription": f"Overcast security group {group.name}"[:255],
                                        "VpcId": self.vpc(),
                                        **_tags("security-group", group.id, group.project_id)})
                group_id = str(self._text(answer, "groupId"))
                found = self._describe("security_group", {"group-id": group_id})[0]
            group_id = str(self._text(found, "groupId"))
            wanted = {r.id: permission(r, group_id) for r in group.rules}
            held = self._permissions(found)
            missing = set(wanted.values()) - held
            extra = held - set(wanted.values())
            for direction, action in (("ingress", "SecurityGroupIngress"), ("egress", "SecurityGroupEgress")):
                revoke = sorted(p for p in extra if p[0] == direction)
                if revoke:
                    self._request({"Action": f"Revoke{action}", "GroupId": group_id,
                                   **_permission_params(revoke)})
                add = sorted(p for p in missing if p[0] == direction)
                if add:
                    self._request({"Action": f"Authorize{action}", "GroupId": group_id, **_permission_params(add)})
        return SecurityGroupRealised(backend_id=group_id, rules={k: permission_id(v) for k, v in wanted.items()})

    def _permissions(self, group: Any) -> set[tuple[str, str, int, int, str, str]]:
        """The permissions an EC2 security group holds, one per peer."""
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall

        out = set()
        for direction, path in (("ingress", "ipPermissions/item"), ("egress", "ipPermissionsEgress/item")):
            for item in findall(element=group, xpath=path, namespace=NAMESPACE):
                protocol = str(self._text(item, "ipProtocol") or "-1")
                low = int(self._text(item, "fromPort") or -1) if protocol != "-1" else -1
                high = int(self._text(item, "toPort") or -1) if protocol != "-1" else -1
                for kind, xpath, field in (("ipv4", "ipRanges/item", "cidrIp"),
                                           ("ipv6", "ipv6Ranges/item", "cidrIpv6"),
                                           ("group", "groups/item", "groupId")):
                    for peer in findall(element=item, xpath=xpath, namespace=NAMESPACE):
                        out.add((direction, protocol, low, high, kind, str(self._text(peer, field))))
        return out

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        self._delete("security_group", group, lambda backend_id: {"Action": "DeleteSecurityGroup",
                                                                 "GroupId": backend_id})


def _filter_name(id_field: str) -> str:
    """EC2's filter for an id field (``subnetId`` -> ``subnet-id``)."""
    return {"subnetId": "subnet-id", "networkInterfaceId": "network-interface-id", "groupId": "group-id",
            "allocationId": "allocation-id"}[id_field]
