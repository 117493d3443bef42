# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the collection keeps things on a host: files, scripts and systemd units.

Private to this collection. The one definition: the modules read these names, and a unit test
(tests/unit/test_layout.py) holds every role, script and scenario to them, so that a rename in
one place cannot make compliance report "not installed"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STATE_DIR = '/etc/netops-docker-firewall'
# Files in STATE_DIR.
KEPT_RULES = 'docker-user.%s.rules'  # per family (ipv4, ipv6)
KEPT_BACKEND = 'backend'
KEPT_TABLE = 'docker-firewall.nft'
KEPT_SETS = 'docker-user.ipsets'  # `ipset restore` input of the sets the kept rules match
PUBLISH_CONFIG = 'publish.json'
STATE_FILES = (KEPT_RULES % 'ipv4', KEPT_RULES % 'ipv6', KEPT_BACKEND, KEPT_TABLE, KEPT_SETS, PUBLISH_CONFIG)

# The engine the host programs run: these files of plugins/module_utils (paths relative to it, the
# subpackages' __init__.py included), byte for byte, under ENGINE_DIR in their package layout
# (ENGINE_DIR/ansible_collections/netops/docker_firewall/...). The docker_firewall_engine module
# installs them from its own payload; a unit test holds the list to what the programs import.
ENGINE_DIR = '/usr/local/lib/netops-docker-firewall'
ENGINE_PACKAGE = 'ansible_collections.netops.docker_firewall.plugins.module_utils'
ENGINE_FILES = ('_engine/__init__.py', '_engine/_blocks.py', '_engine/_chain_plan.py', '_engine/_decisions.py',
                '_engine/_ipset.py', '_engine/_kept_state.py', '_engine/_layout.py', '_engine/_nft.py',
                '_engine/_publish.py', '_engine/_rules.py', '_engine/_sources.py',
                '_host/__init__.py', '_host/_docker_host.py', '_host/_host_lock.py', '_host/_host_runner.py',
                '_host/_iptables_converge.py', '_host/_iptables_host.py', '_host/_kept_state_host.py',
                '_programs/__init__.py', '_programs/_firewalld_watch.py', '_programs/_publish_watcher.py',
                '_programs/_restore.py')
# Host programs: name -> (path, the engine module whose main(argv) it runs, what it does).
PROGRAMS = {
    'restore': ('/usr/local/sbin/netops-docker-user-restore', '_programs._restore',
                'puts the kept policy back (boot, dockerd restarts, firewalld reloads)'),
    'firewalld_watch': ('/usr/local/sbin/netops-docker-firewalld-watch', '_programs._firewalld_watch',
                        'follows firewalld and puts the kept policy back after its reloads and restarts'),
    'publish': (ENGINE_DIR + '/netops_docker_publish.py', '_programs._publish_watcher',
                'keeps the listed standalone containers published'),
}
# The lock every writer of the collection's state holds for its read, plan, write and read-back (_host_lock).
HOST_LOCK = '/run/netops-docker-firewall.lock'
# What the DOCKER-USER modules last proved in force, one record per module and scope (_converged): in /run,
# so that a reboot, which rebuilds the firewall, leaves none.
CONVERGED_DIR = '/run/netops-docker-firewall/converged'
# Files of earlier versions that the docker_firewall_engine module removes.
RETIRED_FILES = (ENGINE_DIR + '/netops_publish.py',)

SCRIPTS = (
    PROGRAMS['restore'][0],
    PROGRAMS['firewalld_watch'][0],
    PROGRAMS['publish'][0],
)

UNIT_DIR = '/etc/systemd/system'
RESTORE_UNIT = 'netops-docker-user.service'
FIREWALLD_WATCH_UNIT = 'netops-docker-firewalld-watch.service'
PUBLISHER_UNIT = 'netops-docker-publish.service'
UNITS = (RESTORE_UNIT, FIREWALLD_WATCH_UNIT, PUBLISHER_UNIT)
# Which unit each of ours is wanted by (its [Install] WantedBy=).
WANTED_BY = {RESTORE_UNIT: 'docker.service', FIREWALLD_WATCH_UNIT: 'firewalld.service',
             PUBLISHER_UNIT: 'multi-user.target'}
