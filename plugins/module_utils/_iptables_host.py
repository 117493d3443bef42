# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running iptables-save and iptables-restore on the host, for the nft and legacy backends.

Private to this collection. The only place that runs iptables commands; everything it returns
is text for the pure engine (_rules, _docker_user).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BACKENDS = ('nft', 'legacy')
_COMMAND = {'ipv4': 'iptables', 'ipv6': 'ip6tables'}
_LEGACY_TABLES = {'ipv4': '/proc/net/ip_tables_names', 'ipv6': '/proc/net/ip6_tables_names'}
# Seconds iptables-restore waits for the xtables lock (legacy) before giving up.
LOCK_WAIT = '10'


class CommandError(Exception):
    """An iptables command failed: carries what the module reports."""

    def __init__(self, msg, cmd, rc, stdout, stderr):
        super(CommandError, self).__init__(msg)
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class IptablesHost:
    """iptables commands through an AnsibleModule's run_command, in the C locale."""

    def __init__(self, module):
        self._module = module
        self._paths = {}

    def binary(self, family, backend, action):
        """Path of e.g. ip6tables-nft-save, or None when this backend is not installed."""
        name = '%s-%s-%s' % (_COMMAND[family], backend, action)
        if name not in self._paths:
            self._paths[name] = self._module.get_bin_path(name)
        return self._paths[name]

    def backends(self, family):
        return [backend for backend in BACKENDS if self.binary(family, backend, 'save')]

    @staticmethod
    def legacy_tables_exist(family):
        """Whether the kernel holds legacy tables in this network namespace (read without running
        iptables-legacy, which would create the table it is asked about)."""
        try:
            with open(_LEGACY_TABLES[family]) as handle:
                return bool(handle.read().strip())
        except (IOError, OSError):
            return False

    def _run(self, cmd, data=None):
        rc, stdout, stderr = self._module.run_command(
            cmd, data=data, binary_data=True, environ_update={'LC_ALL': 'C', 'LANG': 'C'})
        return rc, stdout, stderr

    def save(self, family, backend):
        """Full save output (all tables: asking for one table could create it)."""
        if backend == 'legacy' and not self.legacy_tables_exist(family):
            return ''
        path = self.binary(family, backend, 'save')
        if path is None:
            raise CommandError('%s-%s-save is not installed' % (_COMMAND[family], backend), [], None, '', '')
        cmd = [path]
        rc, stdout, stderr = self._run(cmd)
        if rc != 0:
            raise CommandError('reading the %s rules failed' % family, cmd, rc, stdout, stderr)
        return stdout

    def restore(self, family, backend, payload, test=False, what='DOCKER-USER chain'):
        path = self.binary(family, backend, 'restore')
        if path is None:
            raise CommandError('%s-%s-restore is not installed' % (_COMMAND[family], backend), [], None, '', '')
        cmd = [path, '-w', LOCK_WAIT, '--noflush'] + (['--test'] if test else [])
        rc, stdout, stderr = self._run(cmd, data=payload)
        if rc != 0:
            # A failed restore changes nothing (one transaction); the caller says what earlier
            # restores of the same run changed.
            raise CommandError('checking the new %s %s failed; nothing was changed' % (family, what) if test else
                               'applying the new %s %s failed; it was left unchanged' % (family, what),
                               cmd, rc, stdout, stderr)
        return cmd
