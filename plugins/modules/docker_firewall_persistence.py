#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_firewall_persistence
short_description: Keep what the collection's host programs put back without Ansible
version_added: 0.2.0
description:
  - The collection's host programs (see M(netops.docker_firewall.docker_firewall_engine)) read what they
    keep in force from the collection's state directory, C(/etc/netops-docker-firewall). This module owns
    that directory - it alone writes the files there.
  - O(program=restore) keeps the policy the restore program puts back at boot, at each dockerd restart and
    after firewalld reloads - the firewall backend, the collection's C(DOCKER-USER) rules per address family
    (taken from the RV(netops.docker_firewall.docker_user_chain#module:rules) result of a DOCKER-USER module;
    rules the collection did not write are never kept), the ipsets they match, and the collection's nftables table.
  - O(program=publish) keeps the list of containers the publisher watcher publishes.
  - Every file is written under the collection's host lock (the one its other writers and the host programs
    take) and atomically - all files are staged before the first is replaced, so a failed write (disk full,
    read-only file system) changes no file. What was written is read back.
  - O(state=absent) removes the program's files, and the directory when nothing is left in it.
  - Check mode reports what would be written and removed, with a diff per file, and writes nothing.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
options:
  program:
    description:
      - Whose kept state - C(restore) (the restore program and the firewalld watcher) or C(publish) (the publisher watcher).
    type: str
    required: true
    choices: [publish, restore]
  state:
    description: Whether the program's kept state is on the host.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description:
      - The backend the kept state is for - the iptables backend (C(nft) or C(legacy)), or C(nftables)
        (O(program=restore) only), Docker's nftables firewall backend, where the table alone holds the policy.
      - The RV(netops.docker_firewall.docker_user_chain#module:backend) result of the DOCKER-USER module, or that of
        M(netops.docker_firewall.docker_publish).
      - Required with O(state=present).
    type: str
    choices: [legacy, nft, nftables]
  rules:
    description:
      - O(program=restore) - the C(DOCKER-USER) rules per address family (C(ipv4), C(ipv6)), as the
        RV(netops.docker_firewall.docker_user_chain#module:rules) result of a DOCKER-USER module has them.
      - Each family given is kept with the collection's rules only, in their order (a family without any is
        kept empty, so the restore removes stale ones); the kept rules of a family not given are removed.
      - Not kept with O(backend=nftables) (ignored, as are the keys the modules return then).
    type: dict
    default: {}
  ipsets:
    description:
      - O(program=restore) - the C(ipset restore) input of the collection's ipsets that the rules match, the
        RV(netops.docker_firewall.docker_user_chain#module:ipset_payload) result. Empty keeps none.
      - Not kept with O(backend=nftables).
    type: str
    default: ''
  table:
    description:
      - O(program=restore) - the C(nft -f) input of the collection's nftables table, the
        RV(netops.docker_firewall.docker_user_chain#module:payload) result (Docker's nftables backend, or the
        backstop beside C(DOCKER-USER)). Empty keeps none.
    type: str
    default: ''
  containers:
    description: O(program=publish) - the containers the publisher watcher publishes.
    type: list
    elements: str
    default: []
notes:
  - The restore program loads the kept table first (dry-run with C(nft -c), loaded, and reported in place only once
    C(nft list table) reads it back), then the kept ipsets, then the rules; files are installed in that order too
    (the backend last).
seealso:
  - module: netops.docker_firewall.docker_firewall_engine
  - module: netops.docker_firewall.docker_user_chain
  - module: netops.docker_firewall.docker_firewall_info
'''

EXAMPLES = r'''
- name: Write the collection's DOCKER-USER rules
  netops.docker_firewall.docker_user_chain:
    allowlists:
      - interface: eth0
        sources: [198.51.100.0/24]
  register: chain

- name: Keep them for the restore program (ours only)
  netops.docker_firewall.docker_firewall_persistence:
    program: restore
    backend: "{{ chain.backend }}"
    rules: "{{ chain.rules }}"
    ipsets: "{{ chain.ipset_payload }}"
    table: "{{ chain.payload | default(omit) }}"

- name: Keep the publisher's list
  netops.docker_firewall.docker_firewall_persistence:
    program: publish
    backend: nft
    containers: [registry-mirror]

- name: Forget the kept policy
  netops.docker_firewall.docker_firewall_persistence:
    program: restore
    state: absent
'''

RETURN = r'''
directory:
  description: The state directory.
  returned: success
  type: str
  sample: /etc/netops-docker-firewall
written:
  description: Files written (in check mode, that would be written), in the order they are installed.
  returned: success
  type: list
  elements: str
  sample: [/etc/netops-docker-firewall/docker-user.ipv4.rules, /etc/netops-docker-firewall/backend]
removed:
  description: Files removed (in check mode, that would be removed), and the directory when it is left empty.
  returned: success
  type: list
  elements: str
  sample: [/etc/netops-docker-firewall/docker-user.ipsets]
kept:
  description: The program's files in the state directory after the run.
  returned: success
  type: list
  elements: str
  sample: [/etc/netops-docker-firewall/docker-user.ipv4.rules, /etc/netops-docker-firewall/backend]
kept_rules:
  description: The kept C(DOCKER-USER) rules per family after the run (O(program=restore)); empty for other programs.
  returned: success
  type: dict
  sample:
    ipv4: ['-A DOCKER-USER -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j DROP']
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kept_state as kept_state
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._persistence import firewall_persistence


def main():
    module = AnsibleModule(
        argument_spec=dict(
            program=dict(type='str', required=True, choices=sorted(kept_state.FILES)),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            backend=dict(type='str', choices=sorted(kept_state.BACKENDS['restore'])),  # publish: a part of it
            rules=dict(type='dict', default={}),
            ipsets=dict(type='str', default=''),
            table=dict(type='str', default=''),
            containers=dict(type='list', elements='str', default=[]),
        ),
        required_if=[('state', 'present', ('backend',))],
        supports_check_mode=True,
    )
    module.exit_json(**firewall_persistence(module))


if __name__ == '__main__':
    main()
