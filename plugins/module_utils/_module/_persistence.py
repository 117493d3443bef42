# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the docker_firewall_persistence module does, under the host lock: read the program's kept
files once (_kept_state_host), plan what to write and remove (_kept_state), write them as one set
(_host_files) unless in check mode or unchanged, and read them back.

Private to this collection. The module only declares its options and returns this."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kept_state as kept_state
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_files import (
    FilesError,
    install_files,
    left_empty,
    remove_empty_directory,
    remove_files,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import module_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._kept_state_host import read_files

HOLDER = 'docker_firewall_persistence'  # who holds the host lock, as its record says


def firewall_persistence(module):
    """The module's result: the program's kept files as the parameters say, or the task failed (nothing
    written where the parameters are not valid)."""
    try:
        wanted = kept_state.wanted(module.params)
    except kept_state.KeptStateError as exc:
        module.fail_json(msg='%s; nothing was written' % exc)
    with module_lock(module, HOLDER):  # none in check mode, which writes nothing
        try:
            result = converge(module, wanted)
        except (FilesError, IOError, OSError) as exc:
            module.fail_json(msg=str(exc), changed=getattr(exc, 'changed', False))
    return result


def planned(module, wanted):
    """(result, {path: (text, mode)} to write) from the files on the host now."""
    directory, program = layout.STATE_DIR, module.params['program']
    current = read_files(directory, kept_state.FILES[program])
    write, remove = kept_state.plan(program, wanted, current)

    def path(name):
        return os.path.join(directory, name)

    result = dict(changed=bool(write or remove), directory=directory, written=[path(n) for n in write],
                  removed=[path(n) for n in remove], kept=[path(n) for n in kept_state.FILES[program] if wanted[n]],
                  kept_rules=kept_state.parse_policy(wanted).rules if program == 'restore' else {})
    if module.params['state'] == 'absent' and left_empty(directory, remove):
        result.update(changed=True, removed=result['removed'] + [directory])
    if module._diff:
        result['diff'] = [dict(before_header=path(n), after_header=path(n), before=(current[n] or ('',))[0],
                               after=wanted[n] or '') for n in write + remove]
    return result, dict((path(n), (wanted[n], kept_state.MODE)) for n in write)


def converge(module, wanted):
    result, files = planned(module, wanted)
    if module.check_mode or not result['changed']:
        return result
    install_files(module, files, result['written'])
    remove_files([path for path in result['removed'] if path != result['directory']])
    if result['directory'] in result['removed']:
        remove_empty_directory(result['directory'])
    again, _files = planned(module, wanted)
    if again['written'] or [path for path in again['removed'] if path != again['directory']]:
        raise FilesError('the kept files differ from what was written (did another tool change them at the same '
                         'time?): %s' % ', '.join(again['written'] + again['removed']), changed=True)
    return result
