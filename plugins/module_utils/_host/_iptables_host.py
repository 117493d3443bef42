# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the firewall tools on the host: iptables-save and iptables-restore for the nft and
legacy backends, ipset for the collection's sets, and nft for the collection's own nftables table.

Private to this collection. The only place that runs these commands; everything it returns is
text for the pure engines (_rules, _chain_plan, _nft).
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

    def save(self, family, backend, table=None):
        """Save output of every table, or of `table` alone for a caller that writes that table anyway
        (asking iptables-legacy for a table creates it)."""
        if backend == 'legacy' and not self.legacy_tables_exist(family):
            return ''
        path = self.binary(family, backend, 'save')
        if path is None:
            raise CommandError('%s-%s-save is not installed' % (_COMMAND[family], backend), [], None, '', '')
        cmd = [path] + (['-t', table] if table else [])
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


class IpsetHost:
    """ipset save and ipset restore, in the C locale."""

    def __init__(self, module):
        self._module = module
        self._ipset = None

    def _run(self, args, what, data=None):
        if self._ipset is None:
            self._ipset = self._module.get_bin_path('ipset')
        if self._ipset is None:
            raise CommandError('ipset is not installed: install the ipset package, or keep the sources as plain '
                               'rules (source_sets: never)', ['ipset'] + args, None, '', '')
        cmd = [self._ipset] + args
        rc, stdout, stderr = self._module.run_command(
            cmd, data=data, binary_data=True, environ_update={'LC_ALL': 'C', 'LANG': 'C'})
        if rc != 0:
            raise CommandError(what, cmd, rc, stdout, stderr)
        return cmd, stdout

    def save(self):
        """`ipset save`: every set of this network namespace."""
        return self._run(['save'], 'reading the ipsets failed')[1]

    def names(self):
        """The names of every set (`ipset list -n`): cheap, for a check that runs often."""
        return self._run(['list', '-n'], 'listing the ipsets failed')[1].split()

    def restore(self, payload):
        """One `ipset restore` run. Not a transaction: it stops at the first failing line, so the payloads
        of the engine (_ipset.plan) change a live set only by a swap."""
        return self._run(['restore'], 'writing the ipsets failed', payload)[0]


class NftHost:
    """nft commands on one table (the collection's inet netops-docker-firewall; kube-proxy's and
    Docker's, which are only read or deleted whole), in the C locale."""

    def __init__(self, module, family, table):
        self._module = module
        self._name = [family, table]
        self._nft = None

    @property
    def name(self):
        """The table, as 'FAMILY NAME' (inet netops-docker-firewall)."""
        return ' '.join(self._name)

    def _run(self, args, data=None):
        if self._nft is None:
            self._nft = self._module.get_bin_path('nft', required=True)
        cmd = [self._nft] + args
        rc, stdout, stderr = self._module.run_command(
            cmd, data=data, binary_data=True, environ_update={'LC_ALL': 'C', 'LANG': 'C'})
        return cmd, rc, stdout, stderr

    def list_table(self, terse=False):
        """`nft list table` of the table ('' when it does not exist); terse: sets without elements."""
        cmd, rc, stdout, stderr = self._run((['-t'] if terse else []) + ['list', 'table'] + self._name)
        if rc != 0:
            if 'No such file or directory' in stderr:
                return ''
            raise CommandError('reading the nftables table %s failed' % self.name, cmd, rc, stdout, stderr)
        return stdout

    def list_ruleset(self):
        """`nft list ruleset`: every table of the host, sets with their elements (the reachability engine
        walks it); not only this object's table."""
        cmd, rc, stdout, stderr = self._run(['list', 'ruleset'])
        if rc != 0:
            raise CommandError('listing the nftables ruleset failed', cmd, rc, stdout, stderr)
        return stdout

    def list_tables(self):
        """`nft list tables`: every table of the host, one `table FAMILY NAME` line each."""
        cmd, rc, stdout, stderr = self._run(['list', 'tables'])
        if rc != 0:
            raise CommandError('listing the nftables tables failed', cmd, rc, stdout, stderr)
        return stdout

    def apply(self, payload, test=False):
        """One `nft -f` transaction (with test: `nft -c`, which changes nothing)."""
        cmd, rc, stdout, stderr = self._run((['-c'] if test else []) + ['-f', '-'], data=payload)
        if rc != 0:
            raise CommandError('%s the nftables table %s failed; nothing was changed'
                               % ('checking' if test else 'applying', self.name), cmd, rc, stdout, stderr)
        return cmd
