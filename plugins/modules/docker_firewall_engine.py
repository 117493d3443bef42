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
  - With O(state=absent) the program's launcher is removed, and the engine with it when no other
    program of the collection is installed.
  - The roles C(netops.docker_firewall.docker_on_router) and C(netops.docker_firewall.docker_beside_kube_proxy)
    call it; it is rarely needed on its own.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
requirements:
  - Python 3 on the managed host (the programs run with O(python), by default C(python3) from C(PATH))
options:
  program:
    description:
      - C(restore) is C(/usr/local/sbin/netops-docker-user-restore), which puts the kept policy back
        (C(netops-docker-user.service) at boot and at each dockerd restart, and the firewalld watcher).
      - C(firewalld_watch) is C(/usr/local/sbin/netops-docker-firewalld-watch), which follows firewalld on
        D-Bus and runs the restore after its reloads and restarts (C(netops-docker-firewalld-watch.service)).
      - C(publish) is C(/usr/local/lib/netops-docker-firewall/netops_docker_publish.py), the publisher
        watcher of C(netops-docker-publish.service).
    type: str
    required: true
    choices: [firewalld_watch, publish, restore]
  state:
    description: Whether the program is installed.
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
  - module: netops.docker_firewall.docker_firewall_info
'''

EXAMPLES = r'''
- name: Install the restore program (the docker_on_router role does this)
  netops.docker_firewall.docker_firewall_engine:
    program: restore

- name: Remove the publisher watcher's program (the engine stays while the restore program uses it)
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
  description: Files written (in check mode, that would be written), launcher and engine files.
  returned: success
  type: list
  elements: str
  sample: [/usr/local/lib/netops-docker-firewall/ansible_collections/netops/docker_firewall/plugins/module_utils/_rules.py]
removed:
  description: Files removed (in check mode, that would be removed).
  returned: success
  type: list
  elements: str
  sample: [/usr/local/lib/netops-docker-firewall/netops_publish.py]
engine_files:
  description: The engine files the programs run, as installed under the engine directory.
  returned: success
  type: list
  elements: str
  sample: [_docker_user.py, _rules.py]
'''

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils import _engine_files as engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._daemon_host import (
    WriteError,
    install_staged,
    stage_file,
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
    """Engine files on the host that are no longer part of the engine (compiled caches aside)."""
    try:
        names = os.listdir(engine_files.ENGINE_PACKAGE_DIR)
    except OSError:
        return []
    return [os.path.join(engine_files.ENGINE_PACKAGE_DIR, name) for name in names
            if name.endswith('.py') and name not in layout.ENGINE_FILES]


def other_programs_installed(program):
    return [name for name, (path, _module, _what) in layout.PROGRAMS.items()
            if name != program and os.path.exists(path)]


def desired(module):
    """(wanted {path: (text, mode)}, paths to remove) for the program's state."""
    program = module.params['program']
    removed = stale_engine_files() + list(layout.RETIRED_FILES)
    if module.params['state'] == 'present':
        return engine_files.wanted_files(program, module.params['python']), removed
    removed.append(layout.PROGRAMS[program][0])
    if not other_programs_installed(program):
        removed.extend(engine_files.engine_paths())
    return {}, removed


def diff_of(path, before, after):
    return dict(before_header=path, after_header=path,
                before=before[0] if before else '', after=after[0] if after else '')


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
    wanted, removed = desired(module)
    current = dict((path, read_file(path)) for path in list(wanted) + removed)
    write, remove = engine_files.plan(wanted, current, removed)
    result = dict(changed=bool(write or remove), path=layout.PROGRAMS[module.params['program']][0],
                  written=write, removed=remove, engine_files=list(layout.ENGINE_FILES))
    if module._diff:
        result['diff'] = [diff_of(path, current[path], wanted[path]) for path in write] + \
                         [diff_of(path, current[path], None) for path in remove]
    if module.check_mode or not result['changed']:
        module.exit_json(**result)
    # Every file is staged before the first is installed: a failed write leaves the engine as it was,
    # never half of one version and half of another.
    staged = []
    try:
        for path in write:
            staged.append((stage_file(path, *wanted[path]), path))
    except WriteError as exc:
        for tmp, _path in staged:
            os.unlink(tmp)
        module.fail_json(msg='%s; no file was changed' % exc, **result)
    installed = []
    for tmp, path in staged:
        try:
            install_staged(module, tmp, path, wanted[path][1])
        except (IOError, OSError) as exc:  # a rename in the file's own directory: not expected to fail
            for left, _path in staged[len(installed):]:
                if os.path.exists(left):
                    os.unlink(left)
            module.fail_json(msg='installing %s failed: %s; replaced before it: %s (run the task again)'
                                 % (path, exc, ', '.join(installed) or 'nothing'), **result)
        installed.append(path)
    for path in remove:
        try:
            os.unlink(path)
        except OSError as exc:
            module.fail_json(msg='removing %s failed: %s' % (path, exc), **result)
    if module.params['state'] == 'absent' and not other_programs_installed(module.params['program']):
        # Nothing of ours runs from the engine directory any more: compiled caches and empty
        # directories go with it.
        for cache in (layout.ENGINE_PACKAGE.split('.', maxsplit=1)[0], '__pycache__'):
            shutil.rmtree(os.path.join(layout.ENGINE_DIR, cache), ignore_errors=True)
        if os.path.isdir(layout.ENGINE_DIR) and not os.listdir(layout.ENGINE_DIR):
            os.rmdir(layout.ENGINE_DIR)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
