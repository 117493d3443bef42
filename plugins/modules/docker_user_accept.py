#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_user_accept
short_description: Let a router forward between two interfaces on a host that runs Docker
version_added: 0.2.0
description:
  - When Docker switches IP forwarding on, it sets the C(FORWARD) policy to C(DROP), and a host
    that also routes (VPN gateway, router) stops forwarding. This module adds the documented fix,
    C(-i IN -o OUT -j ACCEPT) in Docker's C(DOCKER-USER) chain, as one block for IPv4 and IPv6.
  - With O(bidirectional=true) both directions are accepted. With O(bidirectional=false) only
    O(in_interface) may open connections; replies from O(out_interface) are accepted.
  - One block per interface pair; other blocks are left as they are.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.docker_user
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_USER
options:
  in_interface:
    description: Interface the forwarded traffic arrives on, for example the LAN or VPN side.
    type: str
    required: true
  out_interface:
    description: Interface the forwarded traffic leaves on, for example the uplink.
    type: str
    required: true
  bidirectional:
    description: Also accept new connections from O(out_interface) to O(in_interface).
    type: bool
    default: true
  state:
    description: Whether the block for this pair exists.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netops.docker_firewall.docker_user_allowlist
  - module: netops.docker_firewall.docker_user_chain
'''

EXAMPLES = r'''
- name: Route between the VPN and the uplink although Docker set FORWARD to DROP
  netops.docker_firewall.docker_user_accept:
    in_interface: wg0
    out_interface: eth0

- name: LAN clients may go out; the uplink may only answer
  netops.docker_firewall.docker_user_accept:
    in_interface: lan0
    out_interface: eth0
    bidirectional: false

- name: Stop routing between wg0 and eth0
  netops.docker_firewall.docker_user_accept:
    in_interface: wg0
    out_interface: eth0
    state: absent

# Ad hoc:
#   ansible HOSTS -m netops.docker_firewall.docker_user_accept -a 'in_interface=wg0 out_interface=eth0'
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
block:
  description: Name of the block this task manages.
  returned: always
  type: str
  sample: accept:wg0:eth0
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    accept_block,
    accept_block_name,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._docker_user_module import (
    COMMON_ARGUMENT_SPEC,
    run,
)


def main():
    argument_spec = dict(
        in_interface=dict(type='str', required=True),
        out_interface=dict(type='str', required=True),
        bidirectional=dict(type='bool', default=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    name = accept_block_name(p['in_interface'], p['out_interface'])

    def build():
        # Built for absent too: the same names are validated either way.
        block = accept_block(p['in_interface'], p['out_interface'], p['bidirectional'])
        return {name: block if p['state'] == 'present' else None}, dict(block=name)

    run(module, 'docker_user_accept', build, allowlists=False, scope=name)


if __name__ == '__main__':
    main()
