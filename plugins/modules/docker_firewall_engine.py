#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_firewall_engine
short_description: Install the collection's engine for the programs that run on a host without Ansible
version_added: 0.2.0
description:
  - Some of the policy is kept in force between Ansible runs by programs on the host itself; the
    boot-time restore (C(netops-docker-user-restore)), the firewalld watcher, and the publisher
    watcher for standalone containers. They run the collection's own engine, the same
    files the modules run, never a copy of its logic.
  - This module installs a program's launcher and the engine files under
    C(/usr/local/lib/netops-docker-firewall/), byte for byte as they are in the payload Ansible sends
    it, so a host always runs the engine of the collection version that configured it. Engine files
    of an older version that are no longer part of it are removed.
  - It also installs the program's systemd unit, defined by the collection's layout
    (C(netops-docker-user.service), C(netops-docker-firewalld-watch.service), C(netops-docker-publish.service)),
    reloads systemd when the unit file changed and enables the unit. It does not start or restart it - the
    roles do, by the name in RV(unit), when the task changed something (RV(unit_changed) for the unit file).
  - With O(state=absent) the unit is stopped and disabled, then the unit file and the program's launcher are
    removed (the engine with them when no other program of the collection is installed), and systemd reloaded.
  - Check mode reports what would be written, removed and run (RV(commands)), and runs nothing.
  - The roles C(netops.docker_firewall.docker_on_router) and C(netops.docker_firewall.docker_beside_kube_proxy)
    call it; it is rarely needed on its own.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
requirements:
  - Python 3 on the managed host (the programs run with O(python), by default C(python3) from C(PATH))
  - systemd (C(systemctl))
options:
  program:
    description:
      - C(restore) is C(/usr/local/sbin/netops-docker-user-restore), which puts the kept policy back
        (C(netops-docker-user.service) at boot and at each dockerd restart, and the firewalld watcher);
        M(netops.docker_firewall.docker_firewall_persistence) keeps what it reads.
      - C(firewalld_watch) is C(/usr/local/sbin/netops-docker-firewalld-watch), which follows firewalld on
        D-Bus and runs the restore after its reloads and restarts (C(netops-docker-firewalld-watch.service)).
      - C(publish) is C(/usr/local/lib/netops-docker-firewall/netops_docker_publish.py), the publisher
        watcher of C(netops-docker-publish.service), which publishes the containers
        M(netops.docker_firewall.docker_firewall_persistence) keeps the list of.
    type: str
    required: true
    choices: [firewalld_watch, publish, restore]
  state:
    description: Whether the program and its unit are installed (and the unit enabled).
    type: str
    choices: [present, absent]
    default: present
  python:
    description:
      - The Python 3 interpreter the launcher runs the program with (with C(-I)), a command name
        looked up in C(PATH) when the program starts, or an absolute path.
      - The default, C(python3) from C(PATH), survives a Python upgrade that removes the
        interpreter Ansible ran this module with (a versioned path such as C(/usr/bin/python3.11)
        would leave the boot without the policy once it is gone).
    type: str
    default: python3
seealso:
  - module: netops.docker_firewall.docker_firewall_persistence
  - module: netops.docker_firewall.docker_firewall_info
'''

EXAMPLES = r'''
- name: Install the restore program and its unit (the docker_on_router role does this)
  netops.docker_firewall.docker_firewall_engine:
    program: restore
  register: restore_program

- name: Run the restore unit once, now that it or its program changed
  ansible.builtin.systemd_service:
    name: "{{ restore_program.unit }}"
    state: restarted
  when: restore_program is changed

- name: Stop and remove the publisher watcher (the engine stays while the restore program uses it)
  netops.docker_firewall.docker_firewall_engine:
    program: publish
    state: absent

# Ad hoc, in check mode with a diff: is the host running this collection version's engine?
#   ansible HOSTS -m netops.docker_firewall.docker_firewall_engine -a program=restore --check --diff
'''

RETURN = r'''
path:
  description: Where the program's launcher is.
  returned: success
  type: str
  sample: /usr/local/sbin/netops-docker-user-restore
written:
  description: Files written (in check mode, that would be written), launcher, engine files and unit file.
  returned: success
  type: list
  elements: str
  sample: [/usr/local/lib/netops-docker-firewall/ansible_collections/netops/docker_firewall/plugins/module_utils/_engine/_rules.py]
removed:
  description: Files removed (in check mode, that would be removed).
  returned: success
  type: list
  elements: str
  sample: [/usr/local/lib/netops-docker-firewall/netops_publish.py]
engine_files:
  description: The engine files the programs run, as installed under the engine directory (paths in its package).
  returned: success
  type: list
  elements: str
  sample: [_engine/__init__.py, _engine/_rules.py]
unit:
  description: The program's systemd unit, for the tasks that start or restart it.
  returned: success
  type: str
  sample: netops-docker-user.service
unit_changed:
  description: Whether the unit file was written or removed (in check mode, would be).
  returned: success
  type: bool
commands:
  description: The systemctl commands run (in check mode, that would be run), in order.
  returned: success
  type: list
  elements: list
  sample: [["/usr/bin/systemctl", "daemon-reload"], ["/usr/bin/systemctl", "enable", "netops-docker-user.service"]]
'''

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _units as units
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import run_c
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_files import (
    FilesError,
    install_files,
    remove_files,
    remove_empty_directory,
)


# What the launcher may name as its interpreter: a command or a path, nothing a shell would expand.
PYTHON = re.compile(r'[A-Za-z0-9_.+/-]+\Z')


def read_file(path):
    """(text, mode) of a file on the host, or None when there is none (or it is not text)."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
        return text, os.stat(path).st_mode & 0o7777
    except (IOError, OSError, UnicodeDecodeError):
        return None


def stale_engine_files():
    """Engine files on the host that are no longer part of the engine (compiled caches aside), in its
    subpackages too: the flat files of an earlier version among them."""
    stale = []
    for directory, subdirectories, names in os.walk(engine_files.ENGINE_PACKAGE_DIR):
        subdirectories[:] = sorted(name for name in subdirectories if name != '__pycache__')
        relative = os.path.relpath(directory, engine_files.ENGINE_PACKAGE_DIR)
        for name in sorted(names):
            path = name if relative == os.curdir else '/'.join(relative.split(os.sep) + [name])
            if name.endswith('.py') and path not in layout.ENGINE_FILES:
                stale.append(os.path.join(directory, name))
    return stale


def other_programs_installed(program):
    return [name for name, (path, _module, _what) in layout.PROGRAMS.items()
            if name != program and os.path.exists(path)]


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
    current = dict((path, read_file(path)) for path in list(wanted) + removed)
    write, remove = engine_files.plan(wanted, current, removed)
    unit_file = units.unit_path(program)
    unit_changed = unit_file in write + remove
    before, after = units.systemctl_plan(program, state, current[unit_file] is not None, unit_changed,
                                         os.path.lexists(units.enabled_link(program)))
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
    for cache in (layout.ENGINE_PACKAGE.split('.', maxsplit=1)[0], '__pycache__'):
        shutil.rmtree(os.path.join(layout.ENGINE_DIR, cache), ignore_errors=True)
    remove_empty_directory(layout.ENGINE_DIR)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            program=dict(type='str', required=True, choices=sorted(layout.PROGRAMS)),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            python=dict(type='str', default=engine_files.DEFAULT_PYTHON),
        ),
        supports_check_mode=True,
    )
    if not PYTHON.match(module.params['python']):
        module.fail_json(msg='python: %r is not valid: a command name or an absolute path of letters, digits and '
                             '_ . / + - (it is written into the launcher)' % module.params['python'])
    result, wanted, before, after = plan_run(module)
    if module.check_mode or not result['changed']:
        module.exit_json(**result)
    run_systemctl(module, before, result)  # absent: the unit is stopped and disabled before its program goes
    try:
        install_files(module, wanted, result['written'])
        remove_files(result['removed'])
    except FilesError as exc:
        module.fail_json(msg=str(exc), **result)
    run_systemctl(module, after, result)
    if module.params['state'] == 'absent':
        remove_engine_directory(module.params['program'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
