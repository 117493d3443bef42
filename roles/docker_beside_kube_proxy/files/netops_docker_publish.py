# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netops.docker_firewall: keeps the ports of the standalone containers listed in
/etc/netops-docker-firewall/publish.json published while Docker keeps out of iptables.

  python3 netops_docker_publish.py sync    write the rules for the containers' current addresses, once
  python3 netops_docker_publish.py watch   sync, then again whenever a container starts or dies

The rules come from the collection's engine, installed next to this file as netops_publish.py by
the docker_beside_kube_proxy role: the same code the docker_publish module runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import netops_publish as engine  # next to this file: Python puts the script's directory first on sys.path

CONFIG = os.environ.get('NETOPS_PUBLISH_CONFIG', '/etc/netops-docker-firewall/publish.json')
COMMAND = {'ipv4': 'iptables', 'ipv6': 'ip6tables'}
C_LOCALE = dict(os.environ, LC_ALL='C', LANG='C')


def run(cmd, data=None):
    done = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=C_LOCALE, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError('%s failed (rc %d): %s' % (' '.join(cmd), done.returncode, done.stderr.strip()))
    return done.stdout


def running_containers():
    """The running containers, inspected. A failed read raises: it never reads as "no containers",
    which would unpublish every port."""
    ids = run(['docker', 'ps', '--quiet', '--no-trunc']).split()
    if not ids:
        return []
    done = subprocess.run(['docker', 'inspect'] + ids, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=C_LOCALE, timeout=60, check=False)
    # A container gone since `docker ps` is left out ("No such object"); any other error is a failed read.
    errors = [line for line in done.stderr.splitlines() if line.strip() and 'No such object' not in line]
    if done.returncode != 0 and (errors or not done.stdout.strip()):
        raise RuntimeError('docker inspect failed (rc %d): %s' % (done.returncode, done.stderr.strip()))
    return json.loads(done.stdout or '[]')


def sync(config):
    """Write each family's plan after a dry run, then read it back: a replan must find nothing to do."""
    names = set(config['containers'])
    wanted = [binding for inspect in running_containers() if engine.container_name(inspect) in names
              for binding in engine.bindings(inspect)]
    backend = config['backend']
    for family in engine.FAMILIES:
        save = ['%s-%s-save' % (COMMAND[family], backend)]
        restore = ['%s-%s-restore' % (COMMAND[family], backend), '-w', '10', '--noflush']
        planned = engine.plan_family(run(save), wanted, family)
        if planned is None or not planned[2]:
            continue
        run(restore + ['--test'], data=planned[2])
        run(restore, data=planned[2])
        again = engine.plan_family(run(save), wanted, family)
        if again is not None and again[2]:
            raise RuntimeError('%s: the rules read back differ from what was written (did another tool change '
                               'them at the same time?)' % family)
        published = ', '.join('%s %s->%s:%s' % (b.container, b.host_port, b.address, b.container_port)
                              for b in wanted if b.family == family) or 'nothing'
        print('netops_docker_publish: %s: published %s' % (family, published), flush=True)


def watch(config):
    names = set(config['containers'])
    events = subprocess.Popen(['docker', 'events', '--format', '{{.Actor.Attributes.name}}',
                               '--filter', 'type=container', '--filter', 'event=start', '--filter', 'event=die'],
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        sync(config)  # after subscribing: a start in between is seen by one of the two
        for line in events.stdout:
            if line.strip() in names:
                sync(config)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        # The rules stay as they are; systemd starts the watcher again, which syncs afresh.
        events.kill()
        sys.exit('netops_docker_publish: %s; the published rules were left as they were' % exc)
    # dockerd stopped or restarted: exit so that systemd starts the watcher again.
    sys.exit('netops_docker_publish: the Docker event stream ended (rc %s)' % events.wait())


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ('sync', 'watch'):
        sys.exit('usage: netops_docker_publish.py sync|watch')
    with open(CONFIG) as handle:
        config = json.load(handle)
    (sync if sys.argv[1] == 'sync' else watch)(config)


if __name__ == '__main__':
    main()
