#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_publish
short_description: Publish the ports of standalone containers when Docker keeps out of iptables
version_added: 0.2.0
description:
  - On a Kubernetes node Docker runs with C(iptables) set to C(false) in C(daemon.json), and a container started outside
    Kubernetes with C(-p) publishes nothing. This module writes the NAT and filter rules for the
    ports the listed containers asked for (their C(-p), read from C(docker inspect)), to the
    addresses they have now.
  - The rules live in chains the collection owns, C(NETOPS-DFW-PUBLISH) in the C(nat) and
    C(filter) tables, reached by one jump each from C(PREROUTING), C(OUTPUT) and C(FORWARD).
    KUBE-* chains, Docker's chains and every other rule stay byte-identical.
  - Each family is read once and written in one atomic C(iptables-restore --noflush), tested first,
    then read back; the task fails when what is read back is not what was written.
  - It also reports every standalone container whose published ports cannot work under the
    daemon's settings, with the fix (see RV(findings)).
  - A container that restarts gets a new address; the C(netops.docker_firewall.docker_beside_kube_proxy) role
    installs a watcher that re-publishes it then. This module publishes the addresses of now.
requirements:
  - iptables (C(iptables-nft-save) and C(iptables-nft-restore), or the legacy ones), with the C(conntrack),
    C(comment) and C(addrtype) matches
  - the C(docker) CLI, to inspect the containers
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
options:
  containers:
    description:
      - Names of the containers to publish. A listed container that is not running, or has no
        address, is reported in RV(waiting) and publishes nothing until it runs.
      - Containers not listed lose the rules of an earlier run.
    type: list
    elements: str
    default: []
  state:
    description: V(absent) removes the collection's chains and jumps (O(containers) is ignored).
    type: str
    choices: [present, absent]
    default: present
  iptables_variant:
    description:
      - The iptables variant to write to (C(iptables-nft) or C(iptables-legacy)). V(auto) picks the one holding
        kube-proxy's C(KUBE-*) chains, else the one the C(iptables) command uses.
      - The alias C(backend) is deprecated and will be removed in netops.docker_firewall 0.4.0.
    aliases: [backend]
    type: str
    choices: [auto, nft, legacy]
    default: auto
  daemon_json:
    description: daemon.json to read Docker's settings from, for RV(findings).
    type: path
    default: /etc/docker/daemon.json
  warn:
    description:
      - Show each finding, and Docker rules left from before C(iptables) was set to C(false), as
        warnings. RV(findings) and RV(docker_rules) are returned either way.
    type: bool
    default: true
notes:
  - Only host ports given with C(-p HOST:CONTAINER) are published; a port Docker would choose
    (none given, or a range such as C(-p 8080-8090:80)) cannot be known here.
  - Connections to C(127.0.0.1:PORT) from the host itself are not published (that needs
    C(route_localnet)); connections to the host's other addresses are.
  - Concurrent writers are serialised by the collection's host lock (C(/run/netops-docker-firewall.lock)), which
    the module holds from its reads of Docker and iptables to the read-back, as the publisher watcher does for
    each of its syncs. It waits up to 30 seconds for another writer, then fails naming it (program, pid, since
    when), with nothing changed. In check mode, which writes nothing, it reads without taking the lock.
seealso:
  - module: netops.docker_firewall.daemon_json
'''

EXAMPLES = r'''
- name: Publish the ports of two standalone containers on a Kubernetes node
  netops.docker_firewall.docker_publish:
    containers: [registry-mirror, node-exporter]

- name: Only report standalone containers whose -p publishes nothing
  netops.docker_firewall.docker_publish:
    containers: []
  check_mode: true
  register: unpublished

- name: Remove everything the module wrote
  netops.docker_firewall.docker_publish:
    state: absent
'''

RETURN = r'''
backend:
  description: The iptables backend read and written.
  returned: always
  type: str
  sample: nft
published:
  description: The host ports published, one entry per family.
  returned: always
  type: list
  elements: dict
  sample:
    - {container: registry-mirror, family: ipv4, address: 198.51.100.130, host_ip: null,
       host_port: "5000", container_port: "5000", protocol: tcp}
waiting:
  description: Listed containers that are not running or have no address; nothing is published for them.
  returned: always
  type: list
  elements: str
  sample: [node-exporter]
findings:
  description: Standalone containers whose published ports do not work, each with the problem and the fix; each is also a warning.
  returned: always
  type: list
  elements: dict
  sample:
    - container: web
      ports: 8080/tcp->80
      network: default
      problem: 'web publishes 8080/tcp->80 but has no address on the default network, which does not exist under "bridge: none"'
      fix: run it on a user-defined network and list it in docker_beside_kube_proxy_publish
rules:
  description:
    - The collection's jumps and rules in effect (after the change; planned in check mode), per
      family and table. A family that holds nothing of ours and has nothing to publish is absent.
  returned: always
  type: dict
  sample: {ipv4: {nat: ["-A PREROUTING -m addrtype --dst-type LOCAL ...", "-A NETOPS-DFW-PUBLISH ..."], filter: []}}
docker_rules:
  description:
    - Per family, the rules Docker writes when it manages iptables (its chains' rules and the jumps
      to them), found in the backend. Empty on a host where Docker never wrote rules since boot;
      rules left from before C(iptables) was set to C(false) stay until the next reboot, or until
      M(netops.docker_firewall.docker_leftovers) removes them.
  returned: always
  type: dict
  sample: {ipv4: [], ipv6: []}
commands:
  description: The commands that changed the host (none when nothing changed or in check mode).
  returned: always
  type: list
  elements: list
'''

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _docker_host as docker_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _iptables_converge as iptables_converge
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _iptables_host as iptables_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import module_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import (
    FAMILIES,
    TABLES,
    bindings,
    container_name,
    docker_rules,
    finding,
    plan_family,
)

_CONTAINER_NAME = re.compile(r'[a-zA-Z0-9][a-zA-Z0-9_.-]+')


def check_names(module, names):
    for index, name in enumerate(names):
        if not _CONTAINER_NAME.fullmatch(name):
            module.fail_json(msg='containers[%d]: %r is not a container name (letters, digits, _ . -; at least '
                                 'two characters)' % (index, name), field='containers[%d]' % index, value=name)


def _text(family, backend, table, lines):
    return '# %s (%s) %s\n' % (family, backend, table) + ''.join(line + '\n' for line in lines)


def read_wanted(module, names):
    """(the running containers' inspects, the bindings of those listed in `names`)."""
    try:
        inspects = docker_host.running_containers(module, module.get_bin_path('docker', required=True))
    except docker_host.DockerError as exc:
        module.fail_json(msg=str(exc))
    by_name = dict((container_name(i), i) for i in inspects)
    return inspects, [b for name in names if name in by_name for b in bindings(by_name[name])]


def plan_families(host, backend, ipv4_save, wanted, present):
    """Each family read once: ({family: (before, after, payload)}, {family: Docker's rules}). A family
    that holds nothing of ours and has nothing to publish is not planned."""
    plans, written_by_docker = {}, {}
    for family in FAMILIES:
        save_text = ipv4_save if family == 'ipv4' and ipv4_save is not None else host.save(family, backend)
        written_by_docker[family] = docker_rules(save_text)
        planned = plan_family(save_text, wanted, family, present)
        if planned is not None:
            plans[family] = planned
    return plans, written_by_docker


def publish(module, host, wanted, present):
    """Choose the variant, plan each family, and write what changes (_iptables_converge.publish: dry run,
    write, read-back). Returns (the variant, the plans, Docker's rules per family, the writes run)."""
    try:
        backend, ipv4_save = iptables_converge.publish_variant(host, module, module.params['iptables_variant'])
        if backend is None:
            module.fail_json(msg=decisions.NO_IPTABLES)
        plans, written_by_docker = plan_families(host, backend, ipv4_save, wanted, present)
        payloads = dict((family, planned[2]) for family, planned in plans.items() if planned[2])
        commands = [] if module.check_mode else iptables_converge.publish(host, backend, payloads, wanted, present)
    except iptables_converge.ReadBackError as exc:
        module.fail_json(msg=str(exc), changed=True, commands=exc.commands)
    except iptables_host.CommandError as exc:
        commands = getattr(exc, 'commands', [])
        msg = str(exc)
        if commands and 'already written' not in msg:  # the read-back failed, after every write
            msg = '%s; %s was written before it' % (msg, ' and '.join(exc.written))
        module.fail_json(msg=msg, cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
                         changed=bool(getattr(exc, 'written', None)), commands=commands)
    return backend, plans, written_by_docker, commands


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type='list', elements='str', default=[]),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            iptables_variant=dict(type='str', choices=['auto'] + list(iptables_host.BACKENDS), default='auto',
                                  aliases=['backend'], deprecated_aliases=[
                                      dict(name='backend', version='0.4.0', collection_name='netops.docker_firewall')]),
            daemon_json=dict(type='path', default='/etc/docker/daemon.json'),
            warn=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    present = params['state'] == 'present'
    names = sorted(set(params['containers'])) if present else []
    check_names(module, names)
    host = iptables_host.IptablesHost(module)

    # Docker and iptables are read, the rules planned, written and read back under the host lock.
    with module_lock(module, 'docker_publish'):
        inspects, wanted = read_wanted(module, names)
        backend, plans, written_by_docker, commands = publish(module, host, wanted, present)

    published_names = set(b.container for b in wanted)
    settings, settings_error = docker_host.read_daemon_json(params['daemon_json'])
    if settings_error:
        module.warn('%s: findings assume Docker defaults' % settings_error)
    findings = [f for f in (finding(i, settings, published_names) for i in inspects) if f]
    for item in findings if params['warn'] else []:
        module.warn('%s. Fix: %s.' % (item['problem'], item['fix']))
    stale = sum(len(lines) for lines in written_by_docker.values())
    if params['warn'] and stale and settings.get('iptables') is False:
        module.warn('Docker runs with "iptables": false but its chains still hold %d rules, left from when it '
                    'managed iptables; they stay until the next reboot, or until netops.docker_firewall.docker_leftovers '
                    'removes them (docker_beside_kube_proxy_clear_docker_leftovers).' % stale)
    before = dict((family, planned[0]) for family, planned in plans.items())
    after = dict((family, planned[1]) for family, planned in plans.items())
    result = dict(
        changed=any(planned[2] for planned in plans.values()),
        backend=backend,
        published=[b.as_dict() for b in wanted],
        waiting=sorted(set(names) - published_names),
        findings=findings,
        rules=after,
        docker_rules=written_by_docker,
        commands=commands,
    )
    if module._diff:
        result['diff'] = dict(
            before=''.join(_text(f, backend, t, before[f][t]) for f in sorted(before) for t in TABLES),
            after=''.join(_text(f, backend, t, after[f][t]) for f in sorted(after) for t in TABLES),
        )
    module.exit_json(**result)


if __name__ == '__main__':
    main()
