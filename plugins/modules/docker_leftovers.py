#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_leftovers
short_description: Remove what Docker left in the firewall once it keeps out of it (a Kubernetes node)
version_added: 0.2.0
description:
  - On a node where Docker once managed iptables (the usual install starts dockerd before the k8s preset of
    C(daemon.json) is written), its chains, the jumps to them, the rules it wrote in the built-in chains and the
    C(FORWARD DROP) policy it set stay until the next reboot, although Docker now runs with C(iptables) set to
    C(false). Beside kube-proxy in nftables mode, which adds no accept to get past a host firewall, that policy
    drops the traffic the node forwards. This module removes them, now.
  - What goes, per iptables backend (C(nft) and C(legacy)) and address family - Docker's chains (C(DOCKER),
    C(DOCKER-FORWARD), C(DOCKER-ISOLATION-STAGE-1) ...; C(DOCKER-USER) when it holds nothing but Docker's
    C(RETURN)), the built-in chains' jumps to them and the rules Docker wrote there (naming its interfaces, its
    masquerades), and, where Docker left anything, the C(FORWARD DROP) policy (set to C(ACCEPT), see
    O(forward_policy)). On Docker 29's nftables firewall backend, also its tables C(ip docker-bridges) and
    C(ip6 docker-bridges).
  - Never a rule of kube-proxy's or of another tool - a Docker chain holding one (in C(DOCKER-USER), any rule but
    Docker's C(RETURN)) is kept, with the jumps to it, and reported in RV(kept). Every other rule stays
    byte-identical - the payload holds only the policy line, a C(-D) of each removed rule exactly as it was saved,
    and C(-F) and C(-X) of each removed chain.
  - It refuses (fails, changing nothing) while Docker would write its rules again - unless C(daemon.json) says
    C(iptables) is C(false) (and C(ip6tables) too on Docker 27 and later) and the running dockerd started after
    C(daemon.json) last changed. In check mode it reports what it would remove, and the refusal as a warning.
  - Each family is read once and written in one C(iptables-restore --noflush); every payload (the C(nft) deletes
    too) is tested first, then written, then read back - the task fails when the read back still shows a leftover.
    The whole read, test, write and read back holds the collection's host lock.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
options:
  state:
    description: V(absent) - Docker's leftovers are removed (the only state).
    type: str
    choices: [absent]
    default: absent
  forward_policy:
    description:
      - V(accept) sets the C(FORWARD) policy of a family where Docker left anything back to C(ACCEPT), if it is
        C(DROP). Docker sets C(DROP) when it switches forwarding on; what the node had before cannot be read back,
        and C(ACCEPT) is the kernel's default.
      - V(keep) leaves the policy as it is (a node whose own firewall wants C(DROP), with its own accepts).
    type: str
    choices: [accept, keep]
    default: accept
  daemon_json:
    description: daemon.json to check that Docker keeps out of the firewall.
    type: path
    default: /etc/docker/daemon.json
notes:
  - A family that holds nothing of Docker's is not written. Rules Docker wrote in another tool's chain are not
    Docker's as far as this module is concerned (Docker only jumps from the built-in chains), nor is any rule with a
    comment (Docker writes none).
  - The FORWARD policy of a family is changed only where Docker left chains or rules in it.
requirements:
  - iptables (C(iptables-nft-save)/C(-restore) and/or the legacy ones)
  - nftables (C(nft)), where Docker 29's nftables backend left its tables
seealso:
  - module: netops.docker_firewall.docker_firewall_info
  - module: netops.docker_firewall.daemon_json
'''

EXAMPLES = r'''
- name: Remove what Docker left in iptables before the k8s preset (FORWARD DROP included)
  netops.docker_firewall.docker_leftovers:
    state: absent

- name: Show what would go, and keep the FORWARD policy as it is
  netops.docker_firewall.docker_leftovers:
    forward_policy: keep
  check_mode: true
  diff: true
'''

RETURN = r'''
cleared:
  description:
    - Per iptables variant and family, what was removed (planned in check mode) - C(chains) as C(TABLE CHAIN), C(rules) (the
      built-in chains' rules, as saved), C(kept) (Docker chains kept, with why) and C(forward_policy) (C(DROP -> ACCEPT)
      or null). A family Docker left nothing in is absent.
  returned: always
  type: dict
  sample: {nft: {ipv4: {chains: [filter DOCKER, nat DOCKER], rules: ["-A FORWARD -o docker0 -j DOCKER"], kept: [],
                        forward_policy: DROP -> ACCEPT}}}
nftables:
  description: Docker's nftables tables removed (planned in check mode).
  returned: always
  type: list
  elements: str
  sample: [ip docker-bridges, ip6 docker-bridges]
kept:
  description:
    - "Docker chains kept because they hold a rule of another tool (or another tool jumps to them), as
      C(BACKEND FAMILY TABLE CHAIN: why); each is also a warning."
  returned: always
  type: list
  elements: str
refused:
  description: Why a real run would refuse now (see the description), or null.
  returned: always
  type: str
commands:
  description: The commands that changed the host (none when nothing changed or in check mode).
  returned: always
  type: list
  elements: list
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._leftovers import docker_leftovers


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['absent'], default='absent'),
            forward_policy=dict(type='str', choices=list(leftovers.POLICIES), default='accept'),
            daemon_json=dict(type='path', default='/etc/docker/daemon.json'),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**docker_leftovers(module))


if __name__ == '__main__':
    main()
