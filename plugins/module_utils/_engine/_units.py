# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The systemd unit of each host program, as data of the layout, and the systemctl commands that
install or remove one.

Private to this collection. No host access, no Ansible imports: the docker_firewall_engine module
writes the unit with the program and runs the commands planned here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout

# Unit name of each program of layout.PROGRAMS.
UNIT_OF = {
    'restore': layout.RESTORE_UNIT,
    'firewalld_watch': layout.FIREWALLD_WATCH_UNIT,
    'publish': layout.PUBLISHER_UNIT,
}

# The unit file of each unit: %(program)s (the program's path) and %(wanted_by)s come from the layout.
_TEXTS = {
    layout.RESTORE_UNIT: '''\
# netops.docker_firewall: puts the collection's DOCKER-USER rules back before dockerd starts
# (at boot, and whenever docker.service is restarted), so that they are in force before any
# container with a restart policy can be reached.
[Unit]
Description=netops.docker_firewall DOCKER-USER rules
Before=docker.service
PartOf=docker.service
After=local-fs.target firewalld.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%(program)s

[Install]
WantedBy=%(wanted_by)s
''',
    layout.FIREWALLD_WATCH_UNIT: '''\
# netops.docker_firewall: puts the collection's DOCKER-USER rules back within a second when a
# firewalld reload or restart has flushed iptables (firewalld's iptables backend). Started with
# firewalld, so a host without firewalld runs nothing.
[Unit]
Description=netops.docker_firewall rules after firewalld reloads
After=dbus.service
Before=firewalld.service
ConditionPathExists=/usr/bin/dbus-monitor
# Started again however often dbus-monitor ends (a dbus restart, for one).
StartLimitIntervalSec=0

[Service]
ExecStart=%(program)s
Restart=always
RestartSec=1

[Install]
WantedBy=%(wanted_by)s
''',
    layout.PUBLISHER_UNIT: '''\
# netops.docker_firewall: re-publishes the ports of the listed standalone containers whenever one
# of them starts or stops (a restarted container can get a new address).
[Unit]
Description=netops.docker_firewall publisher for standalone containers
After=docker.service
Wants=docker.service
StartLimitIntervalSec=0

[Service]
ExecStart=%(program)s watch
Restart=always
RestartSec=2

[Install]
WantedBy=%(wanted_by)s
''',
}


def unit_path(program):
    return os.path.join(layout.UNIT_DIR, UNIT_OF[program])


def enabled_link(program):
    """The symlink `systemctl enable` makes for the unit (its [Install] WantedBy=)."""
    unit = UNIT_OF[program]
    return os.path.join(layout.UNIT_DIR, layout.WANTED_BY[unit] + '.wants', unit)


def unit_text(program):
    unit = UNIT_OF[program]
    return _TEXTS[unit] % dict(program=layout.PROGRAMS[program][0], wanted_by=layout.WANTED_BY[unit])


def systemctl_plan(program, state, installed, unit_changed, enabled):
    """(commands before the files are written or removed, commands after), each a systemctl argument list.

    `installed`: the unit file is on the host now; `unit_changed`: it is written or removed by this
    run; `enabled`: its enablement link exists. Present: reload systemd when the file changed, enable
    the unit when it is not. Absent: stop and disable an installed unit before its files go, then reload."""
    unit = UNIT_OF[program]
    if state == 'present':
        return [], ([['daemon-reload']] if unit_changed else []) + ([] if enabled else [['enable', unit]])
    before = [['stop', unit], ['disable', unit]] if installed else []
    return before, [['daemon-reload']] if unit_changed else []
