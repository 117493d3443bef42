#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_user_chain
short_description: Declare the collection's complete content of Docker's DOCKER-USER chain
version_added: 0.2.0
description:
  - Whole-chain mode for roles and fleets. Declares every router pair, every allowlist and routed
    access in one task, written in one atomic C(iptables-restore) per address family.
  - With O(purge=true) (the default) blocks of this collection that are not declared here are
    removed. Rules the collection did not write are always kept, in their order.
  - Router pairs, allowlists and routed access behave exactly as in M(netops.docker_firewall.docker_user_accept),
    M(netops.docker_firewall.docker_user_allowlist) and M(netops.docker_firewall.docker_user_routed).
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.docker_user
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_USER
  - netops.docker_firewall.attributes.ACTION_PLUGIN
options:
  accept:
    description: Router pairs to forward between.
    type: list
    elements: dict
    default: []
    suboptions:
      in_interface:
        description: Interface the forwarded traffic arrives on.
        type: str
        required: true
      out_interface:
        description: Interface the forwarded traffic leaves on.
        type: str
        required: true
      bidirectional:
        description: Also accept new connections from O(accept[].out_interface) to O(accept[].in_interface).
        type: bool
        default: true
  allowlists:
    description: Source allowlists, at most one per external interface.
    type: list
    elements: dict
    default: []
    suboptions:
      interface:
        description: The external interface clients arrive on (not C(docker0), C(br-*) or C(veth*)).
        type: str
        required: true
      sources:
        description:
          - Addresses, CIDR networks and ranges C(a-b), IPv4 and IPv6 mixed. Empty (and no
            O(allowlists[].sources_text) or O(allowlists[].sources_file) entry) denies all.
          - O(allowlists[].sources), O(allowlists[].sources_text) or O(allowlists[].sources_file) or several (their
            union) are required.
          - Overlapping, adjacent and duplicate entries are merged per family; see RV(sources_count).
        type: list
        elements: str
      sources_text:
        description:
          - More sources as the lines of a sources file in one string, added to O(allowlists[].sources), as
            O(netops.docker_firewall.docker_user_allowlist#module:sources_text) in
            M(netops.docker_firewall.docker_user_allowlist). The action plugin passes the entries of
            O(allowlists[].sources_file) on in it.
        type: str
        version_added: 0.2.0
      sources_file:
        description:
          - A file B(on the controller) with more sources, one entry a line; blank lines and C(#)
            comments are ignored. Added to O(allowlists[].sources).
          - Read and checked on the controller by the action plugin of this module, as in
            M(netops.docker_firewall.docker_user_allowlist); a bad line fails the task naming the file, the
            line number and the entry. Its entries are passed on in O(allowlists[].sources_text).
        type: path
        version_added: 0.2.0
      ports:
        description: Restrict only these published ports or ranges.
        type: list
        elements: str
      protocol:
        description: Protocol of O(allowlists[].ports).
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      source_sets:
        description:
          - Where the sources of a family are kept on Docker's iptables backend, as O(netops.docker_firewall.docker_user_allowlist#module:source_sets)
            in M(netops.docker_firewall.docker_user_allowlist) - V(never) one rule per entry and port, V(always) an
            ipset of the collection matched by one rule per port, V(auto) a set above 64 merged entries in the family.
        type: str
        choices: [auto, always, never]
        default: auto
        version_added: 0.2.0
  routed:
    description:
      - Who may reach a container's own address (routed straight to it, no DNAT), per interface, as
        O(netops.docker_firewall.docker_user_routed#module:routed) in M(netops.docker_firewall.docker_user_routed).
      - Unset, this task writes no routed-access block (with O(purge=true) it removes one). A list, even an
        empty one, writes the block with its guard - every new connection routed to a container address from
        an interface that is not declared is dropped, on every Docker generation.
    type: list
    elements: dict
    version_added: 0.2.0
    suboptions:
      interface:
        description: The interface the clients arrive on (not C(docker0), C(br-*) or C(veth*)); C(+) ends a wildcard.
        type: str
        required: true
      sources:
        description:
          - Who may, as allowlist sources - addresses, CIDR networks and ranges C(a-b), IPv4 and IPv6 mixed, merged
            per family. Unset (and no O(routed[].sources_text) or O(routed[].sources_file)) means every source; an
            empty list, none.
          - A family without sources is denied for this declaration.
        type: list
        elements: str
      sources_text:
        description: More sources as the lines of a sources file in one string, as for allowlists.
        type: str
      sources_file:
        description:
          - A file B(on the controller) with more sources, one a line, read by the action plugin as for allowlists
            and passed on in O(routed[].sources_text).
        type: path
      source_sets:
        description: Where the sources of a family are kept on Docker's iptables backend, as for allowlists (C(netops-dfwr-INTERFACE-v4)).
        type: str
        choices: [auto, always, never]
        default: auto
      networks:
        description:
          - To which container addresses - addresses or CIDR networks. Unset means every container address.
          - A family without networks is denied for this declaration.
        type: list
        elements: str
      ports:
        description: To which container ports or ranges (C(8000-8100)); unset means every port.
        type: list
        elements: str
      protocol:
        description: Protocol of O(routed[].ports).
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
  purge:
    description: Remove blocks of this collection that are not declared in this task.
    type: bool
    default: true
seealso:
  - module: netops.docker_firewall.docker_user_accept
  - module: netops.docker_firewall.docker_user_allowlist
  - module: netops.docker_firewall.docker_user_routed
'''

EXAMPLES = r'''
- name: A router that runs Docker, with published ports open to the office only
  netops.docker_firewall.docker_user_chain:
    accept:
      - in_interface: wg0
        out_interface: eth0
      - in_interface: lan0
        out_interface: eth0
        bidirectional: false
    allowlists:
      - interface: eth0
        sources: [198.51.100.0/24, 2001:db8:10::/48]
        ports: [443, 8000-8100]
      - interface: eth1
        sources_file: "{{ inventory_dir }}/allowlists/partners.txt"
    # The VPN may reach container addresses; every other interface may not.
    routed:
      - interface: wg0
        networks: [172.18.0.0/16]

- name: Remove every rule this collection wrote
  netops.docker_firewall.docker_user_chain:
    accept: []
    allowlists: []
'''

RETURN = r'''
ipsets:
  description:
    - The collection's ipsets the declared blocks match, with the number of networks each holds (on Docker's
      iptables backend; see O(netops.docker_firewall.docker_user_allowlist#module:source_sets)).
  returned: success
  type: dict
  sample: {"netops-dfw-eth0-v4": 9120}
ipset_payload:
  description: The C(ipset restore) input that creates those sets (the docker_on_router role keeps it for boot).
  returned: success
  type: str
host_lock:
  description:
    - How this run held the collection's host lock, from its first read to its read-back; null in check mode, which
      takes no lock.
    - C(waited) is how long it waited for another writer (seconds), C(taken_at) when it took the lock (seconds since
      the epoch); of two runs at the same moment, the one that took it later wrote last.
  returned: success
  type: dict
  sample: {waited: 0.0, taken_at: 1796600000.123}
backend:
  description:
    - The iptables variant that was read and written (C(nft) or C(legacy), see O(iptables_variant)), or C(nftables)
      for the collection's nftables table.
  returned: success
  type: str
  sample: nft
families:
  description: Address families whose C(DOCKER-USER) chain was managed.
  returned: success
  type: list
  elements: str
  sample: [ipv4, ipv6]
rules:
  description:
    - C(DOCKER-USER) per family after the run (planned content in check mode), as iptables-save prints it.
    - Under Docker's nftables firewall backend, C(nftables) holds the collection's table instead.
  returned: success
  type: dict
  sample:
    ipv4:
      - -A DOCKER-USER -i eth1 -o eth0 -m comment --comment "netops.docker_firewall/accept:eth1:eth0" -j ACCEPT
      - -A DOCKER-USER -j RETURN
blocks:
  description: Names of the collection's blocks in C(DOCKER-USER) per family, in chain order.
  returned: success
  type: dict
  sample:
    ipv4: ["accept:eth1:eth0", "allowlist:eth0"]
commands:
  description: The iptables-restore commands that wrote a chain; empty when nothing was written.
  returned: success
  type: list
  elements: list
  sample: [["/usr/sbin/iptables-nft-restore", "-w", "10", "--noflush"]]
removed_blocks:
  description: Blocks of this collection that were removed (in check mode, would be removed).
  returned: success
  type: list
  elements: str
  sample: ["allowlist:eth1"]
payload:
  description: The C(nft -f) input that recreates the collection's table as it is after the run (the docker_on_router role keeps it for boot).
  returned: when Docker runs its nftables firewall backend
  type: str
firewall_backend:
  description: C(nftables) when the collection's nftables table was written (the same as RV(backend) then).
  returned: when Docker runs its nftables firewall backend
  type: str
  sample: nftables
routed_access:
  description:
    - Per routed-access declaration, by interface, the families it lets through (a family its sources or networks
      leave out is denied for it) and the ipsets that hold its sources; empty without O(routed).
  returned: success
  type: dict
  sample: {"wg0": {families: [ipv4], ipsets: {}}}
sources_count:
  description:
    - Per allowlist block, how many entries it was given (V(declared), duplicates included) and how
      many went in per family after duplicates, overlaps and adjacent entries were merged (V(ipv4),
      V(ipv6)), each one rule per port in C(DOCKER-USER) or one or more networks of an ipset (V(ipsets), by set
      name, with its networks), and one interval in the nftables set.
  returned: success
  type: dict
  sample:
    "allowlist:eth0": {declared: 12043, ipv4: 9120, ipv6: 311, ipsets: {"netops-dfw-eth0-v4": 9120}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    ROUTED,
    declared_blocks,
    routed_summary,
    sources_count,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._docker_user_module import (
    COMMON_ARGUMENT_SPEC,
    ROUTED_OPTIONS,
    run,
)


def main():
    argument_spec = dict(
        accept=dict(type='list', elements='dict', default=[], options=dict(
            in_interface=dict(type='str', required=True),
            out_interface=dict(type='str', required=True),
            bidirectional=dict(type='bool', default=True),
        )),
        allowlists=dict(type='list', elements='dict', default=[], options=dict(
            interface=dict(type='str', required=True),
            sources=dict(type='list', elements='str'),
            sources_text=dict(type='str'),
            sources_file=dict(type='path'),
            ports=dict(type='list', elements='str'),
            protocol=dict(type='str', default='tcp', choices=['tcp', 'udp', 'sctp']),
            source_sets=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
        ), required_one_of=[('sources', 'sources_text', 'sources_file')]),
        routed=dict(type='list', elements='dict', options=ROUTED_OPTIONS),
        purge=dict(type='bool', default=True),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    def build():
        blocks = declared_blocks(p['accept'], p['allowlists'], p['routed'])
        counts = dict((name, sources_count(block)) for name, block in blocks.items() if name.startswith('allowlist:'))
        routed = routed_summary(blocks[ROUTED]) if ROUTED in blocks else {}
        return blocks, dict(sources_count=counts, routed_access=routed)

    run(module, 'docker_user_chain', build, allowlists=bool(p['allowlists']), purge=p['purge'])


if __name__ == '__main__':
    main()
