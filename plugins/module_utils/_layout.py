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
PUBLISH_CONFIG = 'publish.json'
STATE_FILES = (KEPT_RULES % 'ipv4', KEPT_RULES % 'ipv6', KEPT_BACKEND, KEPT_TABLE, PUBLISH_CONFIG)

SCRIPTS = (
    '/usr/local/sbin/netops-docker-user-restore',
    '/usr/local/sbin/netops-docker-firewalld-watch',
    '/usr/local/lib/netops-docker-firewall/netops_docker_publish.py',
    '/usr/local/lib/netops-docker-firewall/netops_publish.py',
)

UNIT_DIR = '/etc/systemd/system'
RESTORE_UNIT = 'netops-docker-user.service'
FIREWALLD_WATCH_UNIT = 'netops-docker-firewalld-watch.service'
PUBLISHER_UNIT = 'netops-docker-publish.service'
UNITS = (RESTORE_UNIT, FIREWALLD_WATCH_UNIT, PUBLISHER_UNIT)
# Which unit each of ours is wanted by (its [Install] WantedBy=).
WANTED_BY = {RESTORE_UNIT: 'docker.service', FIREWALLD_WATCH_UNIT: 'firewalld.service',
             PUBLISHER_UNIT: 'multi-user.target'}
