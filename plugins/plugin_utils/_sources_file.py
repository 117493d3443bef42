# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sources kept in files on the controller (`sources_file`, of an allowlist or a routed-access
declaration): read there and passed on to the module as `sources_text`, its entries one a line in
one string (a long list costs far less to send, check and return as one string than as a list), by
the action plugins of the DOCKER-USER modules and by the compliance filter. Private to this
collection. The file's lines are checked by the engine (module_utils/_engine/_sources.py), so a bad line fails
before any module runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import (
    InputError,
    parse_sources_text,
)

display = Display()


def read_text(field, path):
    """(path, text) of a file on the controller; unreadable or not UTF-8 is an InputError naming it."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise InputError(field, path, 'the file cannot be read on the controller: %s' % exc)
    try:
        return path, data.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        raise InputError(field, path, 'the file is not UTF-8 text: %s' % exc)


def with_file_entries(params, prefix, read, warn):
    """One allowlist's (or routed-access declaration's) parameters with the entries of its sources_file in
    its sources_text, one a line, after any it had (its sources are a union of both and of `sources`: the
    module merges duplicates and overlaps), and no sources_file. `prefix` names it in messages ('',
    'allowlists[0].' or 'routed[0].'); `read(field, path)` returns (path read, text)."""
    path = params.get('sources_file')
    if path is None:
        return params
    field = prefix + 'sources_file'
    if not isinstance(path, str) or not path:
        raise InputError(field, path, 'the path of a file on the controller is required')
    found, text = read(field, path)
    entries = [entry for entry, _source in parse_sources_text(field, found, text)]
    if not entries:
        warn('%s %s holds no entry: it adds no source' % (field, found))
    given = params.get('sources_text')
    if given is not None and not isinstance(given, str):
        raise InputError(prefix + 'sources_text', given, 'a text, one entry a line, is required')
    expanded = dict(params)
    del expanded['sources_file']
    expanded['sources_text'] = '\n'.join(([given.rstrip('\n')] if given else []) + entries)
    return expanded


def with_file_entries_each(items, read, warn, option='allowlists'):
    """`items`, the list `option` (allowlists or routed, of docker_user_chain, docker_user_routed, the
    docker_on_router role), with every sources_file read; anything that is not a list of dicts is left
    for the module's argument spec to refuse."""
    if not isinstance(items, list):
        return items
    return [with_file_entries(item, '%s[%d].' % (option, index), read, warn) if isinstance(item, dict) else item
            for index, item in enumerate(items)]


# The options of a task that hold lists of declarations with sources files, by module.
LISTS_WITH_FILES = ('allowlists', 'routed')


def with_file_entries_in(args, read, warn):
    """A task's arguments with the sources files of every list in LISTS_WITH_FILES read."""
    expanded = dict(args)
    for option in LISTS_WITH_FILES:
        if option in expanded:
            expanded[option] = with_file_entries_each(expanded[option], read, warn, option)
    return expanded


class SourcesFileAction(ActionBase):
    """Runs MODULE with the task's sources files read on the controller. A relative path is looked
    up as ansible.builtin.copy looks up `src`: the role's and the playbook's files/, then the
    playbook's directory."""

    TRANSFERS_FILES = False
    MODULE = None

    def expand(self, args):
        """The module's arguments with every sources_file read (subclasses)."""
        raise NotImplementedError()

    def read(self, field, path):
        try:
            found = self._find_needle('files', path)
        except AnsibleError as exc:
            searched = getattr(exc, 'paths', None)
            raise InputError(field, path, 'no such file on the controller' +
                             (' (searched %s)' % ', '.join(searched) if searched else ''))
        return read_text(field, found)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = True
        result = super(SourcesFileAction, self).run(tmp, task_vars)
        del tmp
        try:
            args = self.expand(dict(self._task.args))
        except InputError as exc:
            result.update(failed=True, msg=str(exc), field=exc.field, value=exc.value)
            return result
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name=self.MODULE, module_args=args,
                                                         task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
