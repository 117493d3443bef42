# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kept policy put back on a host without Ansible: the program behind
netops-docker-user-restore, which netops-docker-user.service runs before dockerd starts (at boot
and at every docker.service restart) and the firewalld watcher runs after firewalld reloads.

It loads the collection's nftables table where one is kept (the policy under Docker's nftables
firewall backend, the backstop beside DOCKER-USER under its iptables backend) as the modules write it
(_iptables_converge.converge_table: `nft -c`, `nft -f`, a read-back that must list the kept table; it is
reported in place only then), puts the kept ipsets
in place (created when missing, a differing one swapped for the kept content), then puts the kept
rules at the top of DOCKER-USER, one iptables-restore per family, with the same engine the modules
write with and the same converge (_iptables_converge: a dry run, the write, a read-back that finds
the family in place as --if-needed tells it, below; a family is reported in place only then): rules
of others stay, a missing chain is created with its FORWARD jump, and FORWARD is
left with exactly one jump to DOCKER-USER as its first rule (an accepting rule above the jump would
bypass it: Docker 28 and later briefly put their DOCKER-FORWARD jump there while they follow a
firewalld reload).

With --if-needed (the watcher), only what is not in place is written: the table when it is gone, a
kept ipset when it is gone (by name: nothing but the collection writes them), a
family whose kept rules are not the first rules of DOCKER-USER or whose FORWARD reaches a rule other
than Docker's drop-only isolation jumps before DOCKER-USER; and a missing DOCKER-USER is not created
while dockerd is starting (dockerd creates it, and fails when it appears between its check and its
own -N). A run holds the host lock (_host_lock) from its first read to its last read-back, as every
writer of the collection does: the boot unit, the watcher and a module may start together. A family
or a table that fails is reported and the others are still put back; the exit status is then 1.
Kept rules that match an ipset that could not be put in place are left out, so that their allowlist
denies every source until the set is back: a family is never left open for a missing set.

Private to this collection. Standard library and engine files only: the docker_firewall_engine
module installs this file with the others on the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import (
    CHAIN,
    jump_repair,
    restore_payload,
    same_chain,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import owner
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import FAMILIES
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import (
    PROGRAM_WAIT,
    LockError,
    host_lock,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_runner import (
    HostRunner,
    failure,
    usage,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_converge import (
    ReadBackError,
    converge,
    converge_table,
    table_in_place,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._kept_state_host import read_kept
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    CommandError,
    IpsetHost,
    IptablesHost,
    NftHost,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._nft import FAMILY as NFT_FAMILY
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._nft import TABLE as NFT_TABLE
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._nft import NftSyntaxError, parse_payload
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import (
    Rule,
    RuleSyntaxError,
    parse_save,
)

NAME = 'netops-docker-user'
HOLDER = os.path.basename(layout.PROGRAMS['restore'][0])  # who holds the host lock, as its record says
# Docker's drop-only jumps, which the watcher lets stand above the jump to DOCKER-USER (Docker puts
# them back there while it follows a firewalld reload; moving the jump again would race it).
ISOLATION_JUMPS = ('-A FORWARD -j DOCKER-ISOLATION-STAGE-1', '-A FORWARD -j DOCKER-ISOLATION-STAGE-2')


def _read(save_text):
    """(DOCKER-USER's rule lines or None when the chain does not exist, FORWARD's rule lines) of a save output."""
    tables = parse_save(save_text)
    if save_text.strip() and 'filter' not in tables:
        # iptables-nft prints a comment for a table it cannot read (written by nft or by a newer
        # iptables): that is a failed read, never "no chain", which would be written over.
        raise RuleSyntaxError('the filter table could not be read: %s' % save_text.strip().splitlines()[0])
    table = tables.get('filter')
    before = [rule.line for rule in table.chain_rules(CHAIN)] if table and CHAIN in table.chains else None
    forward = [rule.line for rule in table.chain_rules('FORWARD')] if table else []
    return before, forward


def _in_place(before, forward, kept):
    """Whether `kept` are the first rules of DOCKER-USER (`before`) and the only rules of ours there, and
    FORWARD (`forward`) jumps there once, before any rule but Docker's isolation jumps."""
    ours = [line for line in before or [] if owner(Rule(line)) is not None]
    return (before is not None and not jump_repair(forward, ISOLATION_JUMPS) and same_chain(ours, kept)
            and same_chain(before[:len(kept)], kept))


def plan_family(save_text, kept, if_needed, dockerd_active):
    """The iptables-restore --noflush payload that puts `kept` at the top of DOCKER-USER, or None
    when there is nothing to write (--if-needed: in place, or the chain is left to a starting dockerd).
    `dockerd_active`: a callable, asked only when it matters."""
    before, forward = _read(save_text)
    if if_needed:
        if before is None and not dockerd_active():
            return None
        if _in_place(before, forward, kept):
            return None
    repair = jump_repair(forward, ISOLATION_JUMPS if if_needed else ()) if before is not None else []
    others = [line for line in before or [] if owner(Rule(line)) is None]
    return restore_payload(before, kept + others, repair)


def in_place(kept):
    """The read-back of a write of `kept` (converge's read_back): the family's rules, read again, are in
    place as --if-needed tells it (_in_place)."""

    def read_back(_family, save_text):
        before, forward = _read(save_text)
        if not _in_place(before, forward, kept):
            raise ReadBackError('written, but read back otherwise: the kept rules are not the first of DOCKER-USER, '
                                'or FORWARD does not jump there first (did another tool change them at the same time?)')

    return read_back


def read_filter(iptables, family, backend):
    """The filter table's save output. Only that table is read (the firewalld watcher reads it every
    20 ms for seconds); iptables older than 1.8.7 fails `-t filter` while the table does not exist
    yet (at boot), so a failure is asked again for every table."""
    try:
        return iptables.save(family, backend, 'filter')
    except CommandError:
        return iptables.save(family, backend)


def kept_table(text):
    """The read-back of a load of the kept table `text` (table_in_place). A text _nft cannot read was not
    kept by the collection (docker_firewall_persistence keeps only its own payload): it is still loaded,
    as the policy closest to the one declared, but never reported in place."""
    try:
        wanted = parse_payload(text)
    except NftSyntaxError as exc:
        return _never_in_place('the kept table is not one the collection writes, so what was loaded cannot be read '
                               'back against it: %s' % exc)
    return table_in_place(wanted)


def _never_in_place(message):
    def read_back(_name, _listed):
        raise ReadBackError(message)

    return read_back


def load_table(nft, kept, if_needed, runner):
    """Load the kept table (with --if-needed only when it is gone) in the modules' sequence
    (_iptables_converge.converge_table: nft -c, nft -f, nft list table read back). True when the read-back
    shows it in place."""
    if if_needed:
        try:
            if nft.list_table():
                return True
        except (CommandError, OSError):
            pass  # unreadable: load it again, which replaces it whole
    try:
        converge_table(nft, kept.table, kept_table(kept.table))
    except (CommandError, ReadBackError, OSError) as exc:  # OSError: nft is not installed
        if getattr(exc, 'written', None):
            runner.warn('the nftables table %s %s was loaded, but the read-back does not show it in place: %s'
                        % (NFT_FAMILY, NFT_TABLE, failure(exc)))
        else:
            runner.warn('the nftables table %s %s could not be loaded: %s' % (NFT_FAMILY, NFT_TABLE, failure(exc)))
        return False
    runner.say('nftables table %s %s in place' % (NFT_FAMILY, NFT_TABLE))
    return True


def load_sets(sets_host, kept, if_needed, runner):
    """Put the kept ipsets in place before the rules that match them. With --if-needed only a missing
    set is created (the watcher checks often: names alone are read). Returns the names of the kept
    sets that are in place, or None when that is not known (a failed read or write)."""
    try:
        kept_sets = ipset.parse_save(kept.sets or '')
        wanted = dict(kept_sets)
        current = {}
        if if_needed:
            present = set(sets_host.names())
            wanted = dict((name, s) for name, s in wanted.items() if name not in present)
        elif wanted:
            current = ipset.parse_save(sets_host.save())
        lines = ipset.plan(current, wanted, ())[0]
        if lines:
            sets_host.restore(ipset.restore_text(lines))
            runner.say('ipsets in place: %s' % ', '.join(sorted(wanted)))
    except (CommandError, ipset.IpsetSyntaxError, OSError) as exc:
        runner.warn('the kept ipsets could not be put in place: %s' % failure(exc))
        return None
    return set(kept_sets)


def without_missing_sets(rules, present, family, runner):
    """The kept rules of a family less those that match a set not in place (iptables refuses a rule
    that names a missing set, and the whole family would go): the replies guard and the DROPs stay,
    so the allowlist (or routed access, whose guard stays) denies every source until its set is back.
    Fails closed, never open."""
    kept = [line for line in rules if set(ipset.match_sets([line])) <= present]
    if len(kept) < len(rules):
        missing = sorted(set(ipset.match_sets(rules)) - present)
        runner.warn('%s: the ipsets %s are not in place; the rules that match them are left out, so their allowlists '
                    'and routed access deny every source until the sets are back' % (family, ', '.join(missing)))
    return kept


def restore(runner, kept, if_needed):
    """Put the kept policy back. Returns the exit status: 0, or 1 when a part failed."""
    status = 0
    if kept.table is not None and not load_table(NftHost(runner, NFT_FAMILY, NFT_TABLE), kept, if_needed, runner):
        status = 1
    if kept.backend == 'nftables':
        return status
    present = None
    if ipset.match_sets(line for rules in kept.rules.values() for line in rules):
        present = load_sets(IpsetHost(runner), kept, if_needed, runner)
        if present is None:
            status, present = 1, set()
    iptables = IptablesHost(runner)

    def dockerd_active():
        systemctl = runner.get_bin_path('systemctl')
        return bool(systemctl) and runner.run_command([systemctl, 'is-active', '--quiet', 'docker.service'])[0] == 0

    for family in FAMILIES:
        if family not in kept.rules:
            continue
        try:
            rules = kept.rules[family]
            if present is not None:
                rules = without_missing_sets(rules, present, family, runner)
                status = 1 if len(rules) < len(kept.rules[family]) else status
            payload = plan_family(read_filter(iptables, family, kept.backend), rules, if_needed, dockerd_active)
            if payload is None:
                continue
            converge(iptables, kept.backend, {family: payload}, in_place(rules), table='filter')
        except (CommandError, ReadBackError, RuleSyntaxError, OSError) as exc:
            runner.warn('%s DOCKER-USER rules not put back: %s' % (family, failure(exc)))
            status = 1
            continue
        runner.say('%s DOCKER-USER rules in place (%s)' % (family, kept.backend))
    return status


def put_back(runner, directory, if_needed, lock_path=None):
    """Under the host lock (re-entered when this process holds it already): read the kept policy in
    `directory` and put it back. Returns the exit status."""
    try:
        with host_lock(HOLDER, PROGRAM_WAIT, lock_path):
            try:
                kept = read_kept(directory)
            except (IOError, OSError) as exc:
                runner.warn('the kept policy could not be read, nothing was written: %s' % exc)
                return 1
            return restore(runner, kept, if_needed)
    except LockError as exc:
        runner.warn('%s; nothing was written' % exc)
        return 1


def main(argv, environ=None):
    environ = os.environ if environ is None else environ
    if argv not in ([], ['--if-needed']):
        return usage('netops-docker-user-restore [--if-needed]')
    # The state directory and the lock can be moved by the environment, for the unit tests only;
    # on a host they are always the layout's.
    directory = environ.get('NETOPS_DOCKER_FIREWALL_DIR', layout.STATE_DIR)
    lock_path = environ.get('NETOPS_DOCKER_FIREWALL_LOCK', layout.HOST_LOCK)
    return put_back(HostRunner(NAME, environ), directory, argv == ['--if-needed'], lock_path)
