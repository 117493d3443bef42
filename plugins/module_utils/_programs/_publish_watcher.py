# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The publisher watcher: keeps the ports of the standalone containers listed in the publish config
published while Docker keeps out of iptables (netops-docker-publish.service).

  netops_docker_publish.py sync    write the rules for the containers' current addresses, once
  netops_docker_publish.py watch   sync, then again whenever a listed container starts or dies

Private to this collection. It reads the host and writes the rules through the same layers and
engine as the docker_publish module (_docker_host, _iptables_host, _publish); the
docker_firewall_engine module installs it with them. Each sync holds the host lock (_host_lock) from
its reads of Docker and iptables to its read-back, as the module does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import (
    DockerError,
    running_containers,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import (
    PROGRAM_WAIT,
    LockError,
    host_lock,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_runner import (
    HostRunner,
    failure,
    usage,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_converge import (
    ReadBackError,
    publish,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    CommandError,
    IptablesHost,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import (
    FAMILIES,
    bindings,
    container_name,
    plan_family,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import RuleSyntaxError

NAME = 'netops_docker_publish'
# What a sync can fail on; the rules are then left as they are.
FAILURES = (CommandError, DockerError, LockError, ReadBackError, RuleSyntaxError, OSError, ValueError)


def _left_as_they_were(runner, exc):
    runner.warn('%s; the published rules were left as they were' % failure(exc))
    return 1


def read_config(path):
    """The config the docker_beside_kube_proxy role writes: {'backend': 'nft'|'legacy', 'containers': [names]}."""
    with open(path) as handle:
        config = json.load(handle)
    if not (isinstance(config, dict) and config.get('backend') in ('nft', 'legacy')
            and isinstance(config.get('containers'), list)):
        raise ValueError('expected {"backend": "nft" or "legacy", "containers": [names]}')
    return config


def sync(runner, iptables, config, lock_path=None):
    """Under the host lock: converge each family that differs from its plan, one after the other
    (_iptables_converge.publish: dry run, write, read-back, where a replan must find nothing to do). A
    failed read raises before anything is written: it never reads as "no containers"."""
    with host_lock(NAME, PROGRAM_WAIT, lock_path):
        _sync(runner, iptables, config)


def _sync(runner, iptables, config):
    names = set(config['containers'])
    docker = runner.get_bin_path('docker', required=True)
    wanted = [binding for inspect in running_containers(runner, docker) if container_name(inspect) in names
              for binding in bindings(inspect)]
    backend = config['backend']
    for family in FAMILIES:
        planned = plan_family(iptables.save(family, backend), wanted, family)
        if planned is None or not planned[2]:
            continue
        publish(iptables, backend, {family: planned[2]}, wanted)
        published = ', '.join('%s %s->%s:%s' % (b.container, b.host_port, b.address, b.container_port)
                              for b in wanted if b.family == family) or 'nothing'
        runner.say('%s: published %s' % (family, published))


def watch(runner, iptables, config, lock_path=None):
    """Sync, then again at each start or death of a listed container. Returns the exit status: the
    watcher exits when a sync fails (the rules stay as they are) or the event stream ends (dockerd
    stopped or restarted), and systemd starts it again, which syncs afresh."""
    names = set(config['containers'])
    try:
        docker = runner.get_bin_path('docker', required=True)
        # A stream for the life of the program, which runs without Ansible: run_command cannot give it.
        events = subprocess.Popen(  # pylint: disable=ansible-bad-function
            [docker, 'events', '--format', '{{.Actor.Attributes.name}}',
             '--filter', 'type=container', '--filter', 'event=start', '--filter', 'event=die'],
            stdout=subprocess.PIPE, universal_newlines=True)
    except OSError as exc:
        return _left_as_they_were(runner, exc)
    try:
        sync(runner, iptables, config, lock_path)  # after subscribing: a start in between is seen by one of the two
        for line in events.stdout:
            if line.strip() in names:
                sync(runner, iptables, config, lock_path)
    except FAILURES as exc:
        events.kill()
        return _left_as_they_were(runner, exc)
    runner.warn('the Docker event stream ended (rc %s)' % events.wait())
    return 1


def main(argv, environ=None):
    environ = os.environ if environ is None else environ
    if argv not in (['sync'], ['watch']):
        return usage('netops_docker_publish.py sync|watch')
    runner = HostRunner(NAME, environ)
    path = environ.get('NETOPS_PUBLISH_CONFIG', os.path.join(layout.STATE_DIR, layout.PUBLISH_CONFIG))
    try:
        config = read_config(path)
    except (IOError, OSError, ValueError) as exc:
        runner.warn('%s cannot be read: %s' % (path, exc))
        return 1
    iptables = IptablesHost(runner)
    # The lock can be moved by the environment, for the unit tests only.
    lock_path = environ.get('NETOPS_DOCKER_FIREWALL_LOCK', layout.HOST_LOCK)
    if argv == ['watch']:
        return watch(runner, iptables, config, lock_path)
    try:
        sync(runner, iptables, config, lock_path)
    except FAILURES as exc:
        return _left_as_they_were(runner, exc)
    return 0
