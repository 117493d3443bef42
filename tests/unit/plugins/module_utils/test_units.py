# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The units (_units, pure): each program's unit is wanted by what the layout says and runs the
program's path; the systemctl commands that install or remove one, for every state of the host."""

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _units as units


@pytest.mark.parametrize('program', sorted(layout.PROGRAMS))
def test_each_programs_unit_runs_its_path_and_is_wanted_by_what_the_layout_says(program):
    unit = units.UNIT_OF[program]
    text = units.unit_text(program)
    assert unit in layout.UNITS
    assert '\nWantedBy=%s\n' % layout.WANTED_BY[unit] in text
    assert '\nExecStart=%s' % layout.PROGRAMS[program][0] in text
    assert units.enabled_link(program) == '%s/%s.wants/%s' % (layout.UNIT_DIR, layout.WANTED_BY[unit], unit)


def test_every_unit_of_the_layout_belongs_to_one_program():
    assert sorted(units.UNIT_OF.values()) == sorted(layout.UNITS) and sorted(units.UNIT_OF) == sorted(layout.PROGRAMS)


UNIT = 'netops-docker-user.service'


@pytest.mark.parametrize('state, installed, unit_changed, enabled, before, after', [
    # present: a fresh host; a unit file changed by hand; a unit disabled by hand; converged
    ('present', False, True, False, [], [['daemon-reload'], ['enable', UNIT]]),
    ('present', True, True, True, [], [['daemon-reload']]),
    ('present', True, False, False, [], [['enable', UNIT]]),
    ('present', True, False, True, [], []),
    # absent: installed (stopped and disabled before its files go, then systemd reloaded); never installed
    ('absent', True, True, True, [['stop', UNIT], ['disable', UNIT]], [['daemon-reload']]),
    ('absent', False, False, False, [], []),
])
def test_the_systemctl_commands(state, installed, unit_changed, enabled, before, after):
    assert units.systemctl_plan('restore', state, installed, unit_changed, enabled) == (before, after)
