#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_user_allowlist
short_description: Restrict who reaches published container ports through an external interface
version_added: 0.2.0
description:
  - Manages one allowlist block in Docker's C(DOCKER-USER) chain, for IPv4 and IPv6 at once.
  - "Traffic arriving on O(interface) is handled in this order: replies to connections already
    allowed (C(RELATED,ESTABLISHED)) go on to Docker's rules; connections from O(sources) go on
    to Docker's rules; everything else is dropped."
  - With O(ports), only connections whose original destination port (before Docker's DNAT, matched
    with C(-m conntrack --ctorigdstport)) is listed are restricted.
  - A family without sources is denied on O(interface); an empty allowlist never means "allow
    everything".
  - One block per interface; other blocks (other interfaces, router pairs) are left as they are.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.docker_user
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_USER
  - netops.docker_firewall.attributes.ACTION_PLUGIN
options:
  interface:
    description:
      - The external interface clients arrive on, for example C(eth0).
      - Container-side interfaces (C(docker0), C(br-*), C(veth*)) are refused, because dropping
        there would cut the containers' own outgoing traffic.
    type: str
    required: true
  sources:
    description:
      - Who may connect. Single addresses (V(198.51.100.7)), CIDR networks (V(198.51.100.0/24),
        V(2001:db8::/48)) and inclusive ranges (V(198.51.100.10-198.51.100.20), written with
        C(-m iprange)), IPv4 and IPv6 mixed; each family gets its own rules.
      - Overlapping, adjacent and duplicate entries are merged per family before the rules are
        written; see RV(sources_count).
      - With O(state=present), O(sources), O(sources_text) or O(sources_file) or several (their union) are
        required. An empty list (and no O(sources_text) or O(sources_file) entry) denies everything on O(interface).
    type: list
    elements: str
  sources_text:
    description:
      - More sources as the lines of a sources file (see O(sources_file)) in one string, for example a list kept
        in a variable or read by a lookup. Added to O(sources); a bad line fails the task with its line number,
        before the host is read.
      - The action plugin of this module passes the entries of O(sources_file) on in it, after any given here - a
        long list costs far less to send to the host, check and return as one string than as a list.
    type: str
    version_added: 0.2.0
  sources_file:
    description:
      - A file B(on the controller) with more sources, one entry a line as in O(sources); blank
        lines and C(#) comments (whole lines, or after an entry) are ignored. Added to O(sources).
      - The action plugin of this module reads it, checks every line (a bad line fails the task
        with the file, the line number and the entry, before the host is contacted) and passes the
        entries on in O(sources_text).
      - A relative path is looked up in the role's and the playbook's C(files/), then in the
        playbook's directory (as M(ansible.builtin.copy) looks up its source).
    type: path
    version_added: 0.2.0
  ports:
    description:
      - Restrict only these published ports (the port clients connect to, not the container's
        port). Ports or inclusive ranges (V(8000-8100)).
      - Without it, everything forwarded in from O(interface) is restricted.
    type: list
    elements: str
  protocol:
    description: Protocol of O(ports).
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  source_sets:
    description:
      - Where the sources of a family are kept on Docker's iptables backend.
      - V(never) writes one C(DOCKER-USER) rule per merged entry and port.
      - V(always) keeps them in an ipset of the collection (C(netops-dfw-INTERFACE-v4) and C(-v6), C(hash:net))
        matched by one rule per port, so that the chain holds the same few rules whatever the number of
        sources and a new connection costs one set lookup instead of a walk through every source.
      - V(auto) is V(never) for a family of at most 64 merged entries and V(always) above.
      - A changed set is filled aside and swapped in (C(ipset swap)), so the rules never see it half
        filled; a set no rule matches any more is destroyed. Needs the C(ipset) command on the host.
      - Docker's nftables firewall backend always keeps the sources in nftables sets; this option does
        not apply there.
    type: str
    choices: [auto, always, never]
    default: auto
    version_added: 0.2.0
  state:
    description: Whether the allowlist block exists.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netops.docker_firewall.docker_user_accept
  - module: netops.docker_firewall.docker_user_chain
'''

EXAMPLES = r'''
- name: Only the office network and the monitoring range reach published ports on eth0
  netops.docker_firewall.docker_user_allowlist:
    interface: eth0
    sources:
      - 198.51.100.0/24
      - 192.0.2.10-192.0.2.20
      - 2001:db8:10::/48

- name: Restrict only the published HTTPS port, leave other published ports open
  netops.docker_firewall.docker_user_allowlist:
    interface: eth0
    sources: [198.51.100.0/24]
    ports: [443]

- name: Partner and cloud ranges from a file on the controller, plus the office
  netops.docker_firewall.docker_user_allowlist:
    interface: eth0
    sources: [198.51.100.0/24]
    sources_file: "{{ inventory_dir }}/allowlists/partners.txt"
    ports: [443]
  register: partners

- name: Show how many entries went in after merging
  ansible.builtin.debug:
    msg: "{{ partners.sources_count }}"

- name: Remove the allowlist of eth0
  netops.docker_firewall.docker_user_allowlist:
    interface: eth0
    state: absent

# Ad hoc:
#   ansible HOSTS -m netops.docker_firewall.docker_user_allowlist \
#     -a 'interface=eth0 sources=198.51.100.0/24,192.0.2.10-192.0.2.20' --check --diff
#   ansible HOSTS -m netops.docker_firewall.docker_user_allowlist \
#     -a 'interface=eth0 sources_file=allowlists/partners.txt' --check --diff
#
# A sources file:
#   # partners (updated 2026-01)
#   203.0.113.0/24
#   192.0.2.10-192.0.2.20   # monitoring
#   2001:db8:20::/48
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
sources_count:
  description:
    - How many entries the allowlist was given and how many went in after merging.
    - V(declared) counts the entries of O(sources), O(sources_text) and O(sources_file), duplicates included.
      V(ipv4) and V(ipv6) count the entries per family after duplicates, overlaps and adjacent
      entries were merged, each one rule per port in C(DOCKER-USER) (a network with C(-s), or a
      range with C(-m iprange)) or one or more networks of an ipset (a range is split into networks),
      and one interval in the nftables set.
  returned: with O(state=present)
  type: dict
  contains:
    declared:
      description: Entries given, duplicates included.
      type: int
    ipv4:
      description: IPv4 entries after merging.
      type: int
    ipv6:
      description: IPv6 entries after merging.
      type: int
    ipsets:
      description: The families kept in an ipset, by set name, with the number of networks it holds.
      type: dict
  sample: {declared: 12043, ipv4: 9120, ipv6: 311, ipsets: {"netops-dfw-eth0-v4": 9120}}
block:
  description: Name of the block this task manages.
  returned: always
  type: str
  sample: allowlist:eth0
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    allowlist_block,
    allowlist_block_name,
    sources_count,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import (
    UNREAD_SOURCES_FILE,
    InputError,
    check_interface,
    declared_sources,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._docker_user_module import (
    COMMON_ARGUMENT_SPEC,
    run,
)


def main():
    argument_spec = dict(
        interface=dict(type='str', required=True),
        sources=dict(type='list', elements='str'),
        sources_text=dict(type='str'),
        sources_file=dict(type='path'),
        ports=dict(type='list', elements='str'),
        protocol=dict(type='str', default='tcp', choices=['tcp', 'udp', 'sctp']),
        source_sets=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[('state', 'present', ('sources', 'sources_text', 'sources_file'), True)],
        supports_check_mode=True,
    )
    p = module.params
    name = allowlist_block_name(p['interface'])

    def build():
        if p['state'] == 'absent':
            check_interface('interface', p['interface'])
            return {name: None}, dict(block=name)
        if p['sources_file'] is not None:
            raise InputError('sources_file', p['sources_file'], UNREAD_SOURCES_FILE)
        sources = declared_sources('', p['sources'], p['sources_text'])
        block = allowlist_block(p['interface'], sources, p['ports'], p['protocol'], p['source_sets'])
        return {name: block}, dict(block=name, sources_count=sources_count(block))

    run(module, 'docker_user_allowlist', build, allowlists=p['state'] == 'present', scope=name)


if __name__ == '__main__':
    main()
