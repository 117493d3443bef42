#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: daemon_json
short_description: Manage Docker's daemon.json by key, validated before it reaches disk
version_added: 0.2.0
description:
  - Merges O(settings) (and an optional O(preset)) into C(/etc/docker/daemon.json), key by key.
    Objects such as C(log-opts) are merged by their own keys. Keys nobody mentioned are kept.
  - Compares parsed JSON, so a file that only differs in layout is left alone.
  - "Nothing reaches disk unless every check passes, in this order: JSON types of the keys this
    module knows (and unknown keys in O(settings)); contradictions (C(bridge) with C(bip), a key
    the C(docker.service) unit already sets as a flag, a key the installed Docker is too old
    for); C(dockerd --validate) where the installed Docker has it (23 and later; on 20.10 the
    module's own checks are the gate)."
  - Writes a temporary file in the same directory and moves it into place atomically, mode
    C(0644), owner C(root).
  - Does not restart Docker. RV(restart) says whether the change needs a restart or a reload;
    the C(netops.docker_firewall.docker_daemon) role restarts safely and rolls back.
  - "C(allow-direct-routing) (Docker 28 and later): Docker 28 drops, in C(raw PREROUTING), every packet addressed to
    a container that arrives on an interface other than the container's bridge; C(true) lifts that drop for every
    bridge network, so that any interface that routes to a container address reaches the published container ports
    of NAT-mode networks (Docker's filter still drops the others). The C(docker_on_router) role sets it only with
    routed access declared, and only after its guard (M(netops.docker_firewall.docker_user_routed)) is in force, which
    drops direct routing from every interface that is not declared."
requirements:
  - Docker's engine (C(dockerd)) on the host, for its version and C(dockerd --validate) (23 and later)
  - systemd (C(systemctl)), optional, to read the flags the C(docker.service) unit passes to dockerd
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description:
      - Keys to set, with their JSON values (booleans as booleans, C(log-opts) values as strings).
      - They override the O(preset) key by key.
    type: dict
    default: {}
  preset:
    description:
      - V(k8s) sets the settings a Kubernetes node needs so that Docker keeps out of iptables,
        each overridable through O(settings).
      - "The k8s preset: C(bridge=none), C(data-root=/var/lib/docker), C(debug=false),
        C(experimental=false), C(ip-forward=true), C(ip-masq=false), C(iptables=false),
        C(ipv6=false), C(live-restore=true), C(log-driver=json-file), C(log-level=warn),
        C(log-opts) with C(max-file=10) and C(max-size=100m), and on Docker 27 and later, which
        writes ip6tables rules by default, also C(ip6tables=false)."
    type: str
    choices: [none, k8s]
    default: none
  remove_keys:
    description: Top-level keys to remove from the file.
    type: list
    elements: str
    default: []
  exclusive:
    description: Make the file exactly O(preset) plus O(settings); every other key is removed.
    type: bool
    default: false
  allow_unknown_keys:
    description:
      - Accept keys in O(settings) that this module does not know (for example from a newer Docker).
        Unknown keys already in the file are always kept and only reported.
    type: bool
    default: false
  replace_invalid:
    description:
      - Replace an existing file that is not a JSON object. Without it such a file is never
        overwritten and the task fails, naming the problem.
    type: bool
    default: false
  validate:
    description: Run C(dockerd --validate) on the new content where the installed Docker supports it.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the previous file.
    type: bool
    default: false
seealso:
  - module: netops.docker_firewall.docker_user_chain
'''

EXAMPLES = r'''
- name: Kubernetes node - Docker keeps out of iptables, bigger log files
  netops.docker_firewall.daemon_json:
    preset: k8s
    settings:
      log-opts:
        max-size: 200m
    backup: true
  register: daemon_json

- name: Add a registry mirror, keep everything else
  netops.docker_firewall.daemon_json:
    settings:
      registry-mirrors: [https://mirror.example.net]

- name: Drop a setting
  netops.docker_firewall.daemon_json:
    remove_keys: [debug]

# Ad hoc, check mode with a diff:
#   ansible HOSTS -m netops.docker_firewall.daemon_json -a 'preset=k8s' --check --diff
'''

RETURN = r'''
path:
  description: The daemon.json managed (O(path)).
  returned: success
  type: str
  sample: /etc/docker/daemon.json
config:
  description: The configuration after the run (planned content in check mode).
  returned: success
  type: dict
  sample: {"iptables": false, "live-restore": true, "log-opts": {"max-file": "10", "max-size": "100m"}}
previous_config:
  description: The configuration before the run (V({}) when the file did not exist or was replaced).
  returned: success
  type: dict
changed_keys:
  description: Top-level keys whose value changed.
  returned: success
  type: list
  elements: str
  sample: [iptables, live-restore]
restart:
  description: What dockerd needs to apply the change.
  returned: success
  type: str
  choices: [none, reload, restart]
  sample: restart
restart_needed:
  description: Whether dockerd must be restarted (not only reloaded) to apply the change.
  returned: success
  type: bool
existed:
  description: Whether the file existed before the run.
  returned: success
  type: bool
backup_file:
  description: The copy of the previous file, when O(backup=true) and the file changed.
  returned: changed and backup requested
  type: str
  sample: /etc/docker/daemon.json.1234.2026-11-25@13:00:00~
unknown_keys:
  description: Keys in the configuration that this module does not know (kept as they are).
  returned: success
  type: list
  elements: str
docker_version:
  description: C(dockerd --version) of the host, when dockerd is installed.
  returned: success
  type: str
  sample: Docker version 26.1.5+dfsg1, build a72d7cd
docker_major:
  description:
    - The major version of that Docker (the one the version checks used), or null when dockerd is not installed or
      its version cannot be read. Roles decide from it (the C(docker_on_router) role sets C(allow-direct-routing) from 28 on).
  returned: success
  type: int
  sample: 28
validated_by:
  description: The checks the new content passed.
  returned: success
  type: list
  elements: str
  sample: [types, conflicts, dockerd --validate]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._module._daemon_json import daemon_json


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/docker/daemon.json'),
            settings=dict(type='dict', default={}),
            preset=dict(type='str', default='none', choices=['none', 'k8s']),
            remove_keys=dict(type='list', elements='str', default=[], no_log=False),
            exclusive=dict(type='bool', default=False),
            allow_unknown_keys=dict(type='bool', default=False),
            replace_invalid=dict(type='bool', default=False),
            validate=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**daemon_json(module))


if __name__ == '__main__':
    main()
