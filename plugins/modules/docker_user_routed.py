#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_user_routed
short_description: Declare who may route straight to container addresses, and drop everyone else
version_added: 0.2.0
description:
  - Manages the collection's routed-access block, for IPv4 and IPv6 at once - one block for every declaration,
    written in Docker's C(DOCKER-USER) chain (or, under Docker's nftables firewall backend, in the collection's
    nftables table).
  - A router that routes clients to container addresses (a WireGuard or Tailscale subnet router, a routed LAN
    segment) declares here which interfaces may do so, optionally from which sources, to which container
    networks and ports. Each declaration's new connections go on to Docker's rules (C(RETURN)), which still
    decide what a network lets in - on a NAT-mode network only published container ports.
  - Everything not declared may not route to a container address - the block ends with a guard that drops every
    new connection arriving on a non-container interface for a container bridge (C(docker+), C(br-+)) without
    Docker's DNAT, on every Docker generation. Docker 20.10 and 26 have no such drop of their own (a client that
    routes to a container address reaches its published container ports from any interface); Docker 28 and
    later drop it in C(raw PREROUTING) unless the daemon option C(allow-direct-routing) is set (see
    M(netops.docker_firewall.daemon_json)), which the C(docker_on_router) role pairs with this guard.
  - Traffic from the host itself, between containers, published ports (DNAT, the allowlists' business) and
    replies are never matched.
  - With O(state=absent) the block goes, guard included - on Docker 20.10 and 26 every interface then reaches
    container addresses again.
  - Router pairs and allowlists are left as they are;
    M(netops.docker_firewall.docker_user_chain) declares all blocks in one task (its O(netops.docker_firewall.docker_user_chain#module:routed)).
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.docker_user
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_USER
  - netops.docker_firewall.attributes.ACTION_PLUGIN
options:
  routed:
    description:
      - The declarations, at most one per interface (wildcards that overlap are refused). An empty list writes
        the guard alone - no interface may route to a container address.
      - Per family, a declaration's C(RETURN) rules match its merged sources (C(-s), C(-m iprange), or one ipset),
        its networks (C(-d)), its ports (C(-p PROTO --dport PORT)) and C(-i INTERFACE -o docker+) and C(-o br-+),
        new connections without DNAT only. A declaration whose sources or networks are all of one family lets
        nothing through in the other.
    type: list
    elements: dict
    default: []
    suboptions:
      interface:
        description:
          - The interface the clients arrive on, for example C(wg0), C(tailscale0) or C(lan0); C(+) ends a wildcard
            (C(wg+)).
          - Container-side interfaces (C(docker0), C(br-*), C(veth*)) are refused.
        type: str
        required: true
      sources:
        description:
          - Who may - addresses, CIDR networks and inclusive ranges C(a-b), IPv4 and IPv6 mixed, merged per family
            as allowlist sources are.
          - Unset (and no O(routed[].sources_text) or O(routed[].sources_file)) means every source; an empty list
            means none.
        type: list
        elements: str
      sources_text:
        description:
          - More sources as the lines of a sources file in one string, added to O(routed[].sources), as
            O(netops.docker_firewall.docker_user_allowlist#module:sources_text) in
            M(netops.docker_firewall.docker_user_allowlist).
        type: str
      sources_file:
        description:
          - A file B(on the controller) with more sources, one entry a line (blank lines and C(#) comments
            ignored), added to O(routed[].sources). Read and checked by the action plugin of this module, as
            for M(netops.docker_firewall.docker_user_allowlist), and passed on in O(routed[].sources_text).
        type: path
      source_sets:
        description:
          - Where the sources of a family are kept on Docker's iptables backend - V(never) one rule per merged
            entry, network, port and bridge; V(always) an ipset of the collection (C(netops-dfwr-INTERFACE-v4) and
            C(-v6)); V(auto) a set above 64 merged entries in the family. As for
            O(netops.docker_firewall.docker_user_allowlist#module:source_sets).
        type: str
        choices: [auto, always, never]
        default: auto
      networks:
        description:
          - To which container addresses - addresses or CIDR networks (V(172.18.0.0/16), V(2001:db8:18::/64)).
            Unset means every container address.
        type: list
        elements: str
      ports:
        description: To which container ports (the real destination port, no DNAT happened) or ranges (V(8000-8100)).
        type: list
        elements: str
      protocol:
        description: Protocol of O(routed[].ports).
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
  state:
    description: Whether the routed-access block (its guard included) exists.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The block comes after the router pairs and before the allowlists. A declared connection leaves the collection's
    rules there (C(RETURN)), so an allowlist of the same interface, which concerns published ports, does not see
    it. Under Docker's nftables backend the same is an C(accept) in the collection's table, which ends only that
    table's verdict.
  - New connections between C(docker+) and C(br-+) bridges (containers of two networks) are returned to Docker's
    rules before the guard, untouched.
seealso:
  - module: netops.docker_firewall.docker_user_chain
  - module: netops.docker_firewall.docker_user_allowlist
  - module: netops.docker_firewall.daemon_json
'''

EXAMPLES = r'''
- name: The WireGuard peers may reach the app network directly; no other interface may
  netops.docker_firewall.docker_user_routed:
    routed:
      - interface: wg0
        networks: [172.18.0.0/16]

- name: A Tailscale subnet router - the tailnet may reach containers' HTTPS, the office LAN any port
  netops.docker_firewall.docker_user_routed:
    routed:
      - interface: tailscale0
        sources: [100.64.0.0/10, "fd7a:115c:a1e0::/48"]
        ports: [443]
      - interface: lan0
        sources_file: "{{ inventory_dir }}/routed/office.txt"

- name: No interface may route to a container address (the guard alone)
  netops.docker_firewall.docker_user_routed:
    routed: []

- name: Remove the block and its guard
  netops.docker_firewall.docker_user_routed:
    state: absent

# Ad hoc (JSON arguments):
#   ansible HOSTS -m netops.docker_firewall.docker_user_routed \
#     -a '{"routed": [{"interface": "wg0", "networks": ["172.18.0.0/16"]}]}' --check --diff
'''

RETURN = r'''
ipsets:
  description:
    - The collection's ipsets the declared blocks match, with the number of networks each holds (on Docker's
      iptables backend; see O(routed[].source_sets)).
  returned: success
  type: dict
  sample: {"netops-dfwr-wg0-v4": 9120}
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
      - -A DOCKER-USER -i wg0 -o docker+ -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT
        -m comment --comment "netops.docker_firewall/routed" -j RETURN
      - -A DOCKER-USER ! -i docker+ -o docker+ -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT
        -m comment --comment "netops.docker_firewall/routed" -j DROP
blocks:
  description: Names of the collection's blocks in C(DOCKER-USER) per family, in chain order.
  returned: success
  type: dict
  sample:
    ipv4: ["accept:wg0:eth0", "routed", "allowlist:eth0"]
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
  sample: ["routed"]
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
    - Per declaration, by interface, the families it lets through (a family its sources or networks leave out
      is denied for it) and the ipsets that hold its sources.
  returned: with O(state=present)
  type: dict
  sample: {"tailscale0": {families: [ipv4, ipv6], ipsets: {}}, "wg0": {families: [ipv4], ipsets: {}}}
block:
  description: Name of the block this task manages.
  returned: always
  type: str
  sample: routed
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    ROUTED,
    routed_block,
    routed_summary,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._docker_user_module import (
    COMMON_ARGUMENT_SPEC,
    ROUTED_OPTIONS,
    run,
)


def main():
    argument_spec = dict(
        routed=dict(type='list', elements='dict', default=[], options=ROUTED_OPTIONS),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    def build():
        if p['state'] != 'present':
            return {ROUTED: None}, dict(block=ROUTED)
        block = routed_block(p['routed'])
        return {ROUTED: block}, dict(block=ROUTED, routed_access=routed_summary(block))

    run(module, 'docker_user_routed', build, allowlists=False, scope=ROUTED)


if __name__ == '__main__':
    main()
