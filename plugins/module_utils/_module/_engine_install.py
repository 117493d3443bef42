# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the docker_firewall_engine module does: read the program's files on the host once (its
launcher, the engine, its unit; stale engine files), plan what to write and remove and the systemctl
commands around it (_engine_files, _units), then apply once - systemctl before, the files as one set
(_host_files), systemctl after - unless in check mode or unchanged.

Private to this collection. The module only declares its options and returns this."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _units as units
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import run_c
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_files import (
    FilesError,
    entry_exists,
    install_files,
    installed_file,
    path_exists,
    remove_directory,
    remove_files,
    unlisted_files,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files

# What the launcher may name as its interpreter: a command or a path, nothing a shell would expand.
PYTHON = re.compile(r'[A-Za-z0-9_.+/-]+\Z')


def firewall_engine(module):
    """The module's result: the program installed (or removed) with the engine and its unit, or the task failed."""
    if not PYTHON.match(module.params['python']):
        module.fail_json(msg='python: %r is not valid: a command name or an absolute path of letters, digits and '
                             '_ . / + - (it is written into the launcher)' % module.params['python'])
    result, wanted, before, after = plan_run(module)
    if module.check_mode or not result['changed']:
        return result
    run_systemctl(module, before, result)  # absent: the unit is stopped and disabled before its program goes
    try:
        install_files(module, wanted, result['written'])
        remove_files(result['removed'])
    except FilesError as exc:
        module.fail_json(msg=str(exc), **result)
    run_systemctl(module, after, result)
    if module.params['state'] == 'absent':
        remove_engine_directory(module.params['program'])
    return result


def stale_engine_files():
    """Engine files on the host that are no longer part of the engine (compiled caches aside), in its
    subpackages too: the flat files of an earlier version among them."""
    return unlisted_files(engine_files.ENGINE_PACKAGE_DIR, layout.ENGINE_FILES)


def other_programs_installed(program):
    return [name for name, (path, _module, _what) in layout.PROGRAMS.items()
            if name != program and path_exists(path)]


def desired(module):
    """(wanted {path: (text, mode)}, paths to remove) for the program's state: launcher, engine, unit."""
    program = module.params['program']
    removed = stale_engine_files() + list(layout.RETIRED_FILES)
    if module.params['state'] == 'present':
        wanted = engine_files.wanted_files(program, module.params['python'])
        wanted[units.unit_path(program)] = (units.unit_text(program), 0o644)
        return wanted, removed
    removed.extend([layout.PROGRAMS[program][0], units.unit_path(program)])
    if not other_programs_installed(program):
        removed.extend(engine_files.engine_paths())
    return {}, removed


def diff_of(path, before, after):
    return dict(before_header=path, after_header=path,
                before=before[0] if before else '', after=after[0] if after else '')


def plan_run(module):
    """(result, wanted, systemctl commands before the files change, after) of this run."""
    program, state = module.params['program'], module.params['state']
    wanted, removed = desired(module)
    current = dict((path, installed_file(path)) for path in list(wanted) + removed)
    write, remove = engine_files.plan(wanted, current, removed)
    unit_file = units.unit_path(program)
    unit_changed = unit_file in write + remove
    before, after = units.systemctl_plan(program, state, current[unit_file] is not None, unit_changed,
                                         entry_exists(units.enabled_link(program)))
    systemctl = module.get_bin_path('systemctl', required=True) if before or after else None
    before, after = [[systemctl] + args for args in before], [[systemctl] + args for args in after]
    result = dict(changed=bool(write or remove or before or after), path=layout.PROGRAMS[program][0],
                  written=write, removed=remove, engine_files=list(layout.ENGINE_FILES),
                  unit=units.UNIT_OF[program], unit_changed=unit_changed, commands=before + after)
    if module._diff:
        result['diff'] = [diff_of(path, current[path], wanted[path]) for path in write] + \
                         [diff_of(path, current[path], None) for path in remove]
    return result, wanted, before, after


def run_systemctl(module, commands, result):
    for cmd in commands:
        rc, out, err = run_c(module, cmd)
        if rc != 0:
            module.fail_json(msg='%s failed: %s' % (' '.join(cmd[1:]), err.strip() or out.strip()),
                             cmd=cmd, rc=rc, stdout=out, stderr=err, **result)


def remove_engine_directory(program):
    """Once no program of ours runs from the engine directory: its compiled caches and empty directories go."""
    if other_programs_installed(program):
        return
    remove_directory(layout.ENGINE_DIR, (layout.ENGINE_PACKAGE.split('.', maxsplit=1)[0], '__pycache__'))
