# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way the collection writes iptables and its nftables table: choose the variant, dry-run
every payload (`iptables-restore --test` per family, `nft -c`), write each once (`iptables-restore`,
`nft -f`), read each back (`iptables-save`, `nft list table`) and compare it with what was written.
The DOCKER-USER modules, docker_publish, the publisher watcher and the restore program all write
iptables through `converge`; the DOCKER-USER modules and the restore program write the table through
`converge_table`, the same sequence (`_converge`). docker_leftovers' removal of Docker's leftovers
is the one writer outside it.

Private to this collection. Takes an IptablesHost or NftHost over an AnsibleModule or a host
program's runner (_host_runner), so that a module and a host program run the very same commands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import CHAIN as PUBLISH_CHAIN
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import plan_family as plan_publish
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import run_c
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import CommandError


class ReadBackError(Exception):
    """What was read back after a write is not what was written."""


# --- the variant -----------------------------------------------------------------------------------

def choose_variant(iptables, requested, holds, default=None):
    """The iptables variant to read and write (_decisions.iptables_variant): each candidate's IPv4 rules
    are read once (every installed variant with 'auto', else the one asked for) and `holds(save_text)`
    tells whether they hold the chains the caller follows. `default`: as iptables_variant takes it.

    Returns (the Decision, the variants holding the chains, {variant: its IPv4 save output})."""
    candidates = iptables.backends('ipv4') if requested == 'auto' else [requested]
    saves = dict((variant, iptables.save('ipv4', variant)) for variant in candidates)
    holding = [variant for variant in candidates if holds(saves[variant])]
    return decisions.iptables_variant(candidates, holding, requested, default=default), holding, saves


def command_variant(runner):
    """The variant the `iptables` command runs (`iptables --version`), or None when it does not say.
    `runner`: an AnsibleModule or a HostRunner."""
    iptables = runner.get_bin_path('iptables')
    if not iptables:
        return None
    rc, out, _err = run_c(runner, [iptables, '--version'])
    return decisions.iptables_default(out) if rc == 0 else None


def publish_variant(iptables, runner, requested):
    """(the variant docker_publish writes: the one holding kube-proxy's KUBE-* chains, else the one the
    `iptables` command runs; None when no iptables is installed, its IPv4 save output)."""
    decision, _holding, saves = choose_variant(iptables, requested, lambda text: ':KUBE-' in text,
                                               default=lambda: command_variant(runner))
    return decision.value, saves.get(decision.value)


# --- the write -------------------------------------------------------------------------------------

class _IptablesWrites:
    """converge's payloads as iptables takes them: one iptables-restore --noflush input per family, with
    one variant."""

    def __init__(self, iptables, backend, what, table):
        self._iptables, self._backend, self._what, self._table = iptables, backend, what, table

    def test(self, family, payload):
        self._iptables.restore(family, self._backend, payload, test=True, what=self._what)

    def write(self, family, payload):
        return self._iptables.restore(family, self._backend, payload, what=self._what)

    def read(self, family):
        return self._iptables.save(family, self._backend, self._table)


class _TableWrites:
    """converge_table's payload as nft takes it: one `nft -f` input that replaces the table whole."""

    def __init__(self, nft_host):
        self._nft = nft_host

    def test(self, _name, payload):
        self._nft.apply(payload, test=True)

    def write(self, _name, payload):
        return self._nft.apply(payload)

    def read(self, _name):
        return self._nft.list_table()


def _converge(writes, payloads, read_back, after_test):
    """The one sequence, for converge and converge_table: dry-run every payload, call `after_test()`, write
    each once, read each back (see converge). `writes`: _IptablesWrites or _TableWrites."""
    names = sorted(payloads)
    for name in names:
        writes.test(name, payloads[name])
    if after_test is not None:
        after_test()
    commands = []
    for name in names:
        try:
            commands.append(writes.write(name, payloads[name]))
        except CommandError as exc:
            written = exc.written = names[:len(commands)]
            exc.commands = commands
            if written:
                exc.args = ('%s; %s was already written: run the task again to finish (the next run '
                            'writes only what differs)' % (exc, ' and '.join(written)),)
            raise
    in_effect = {}
    try:
        for name in names:
            in_effect[name] = read_back(name, writes.read(name))
    except (CommandError, ReadBackError) as exc:
        exc.written, exc.commands = names, commands
        raise
    return commands, in_effect


def converge(iptables, backend, payloads, read_back, what='DOCKER-USER chain', after_test=None, table=None):
    """Write `payloads` ({family: iptables-restore --noflush payload}) with the `backend` variant, family
    by family in their order (ipv4, ipv6):

    1. dry-run every family (`--test`): a rejected payload raises CommandError, and nothing was changed;
    2. call `after_test()`, when given, once every dry run passed;
    3. write each family once (one transaction each): a write that fails raises its CommandError with
       `written`, the families already written, which its message names;
    4. read each family back (`iptables-save`, of `table` alone when given) and pass the text to
       `read_back(family, save_text)`, which returns what is in effect or raises ReadBackError when it
       is not what was written. A failed read-back carries `written`, every family.

    An exception raised after a write also carries `commands`, the writes run. `what` names the
    payload in the errors of iptables-restore.

    Returns (the writes run, {family: what read_back returned})."""
    return _converge(_IptablesWrites(iptables, backend, what, table), payloads, read_back, after_test)


def converge_table(nft_host, payload, read_back, after_test=None):
    """Replace the table of `nft_host` (an NftHost) with `payload` (`nft -f` input), in converge's sequence
    and with its errors, the table's name (nft_host.name) standing for a family: `nft -c` (a rejected
    payload raises CommandError, and nothing was changed); `after_test()`; `nft -f`, one transaction (a
    failure raises CommandError, `written` empty); `nft list table`, passed to `read_back(name, listed)`
    (table_in_place), which raises ReadBackError when the table is not what was written (`written`: the
    table).

    Returns (the writes run, {name: what read_back returned})."""
    return _converge(_TableWrites(nft_host), {nft_host.name: payload}, read_back, after_test)


def table_in_place(wanted):
    """The read-back of a write of the collection's table `wanted` (a _nft Table, or None when the write
    removes it): the listing must hold the same table (_nft.table_differences names what differs, a
    listing _nft cannot read is a failed read-back). Returns the listing."""

    def read_back(_name, listed):
        try:
            found = nft.parse_table(listed)
        except (nft.NftSyntaxError, ValueError, IndexError) as exc:  # a listing _nft cannot read, whatever broke
            raise ReadBackError('the nftables table cannot be read back: %s' % exc)
        differences = nft.table_differences(wanted, found)
        if differences:
            raise ReadBackError('the nftables table differs from what was written (did another tool change it at '
                                'the same time?): %s' % '; '.join(differences))
        return listed

    return read_back


def publish(iptables, backend, payloads, wanted, present=True):
    """Converge the publisher's chains (_publish) to `payloads`; read back, a replan of the bindings
    `wanted` must find nothing to do. Returns the writes run."""

    def replanned(family, save_text):
        again = plan_publish(save_text, wanted, family, present)
        if again is not None and again[2]:
            raise ReadBackError('%s: the rules read back differ from what was written (did another tool change '
                                'them at the same time?)' % family)
        return again

    return converge(iptables, backend, payloads, replanned, what='%s chains' % PUBLISH_CHAIN)[0]
