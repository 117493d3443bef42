# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The restore program (_restore: netops-docker-user-restore on the host), which puts the kept
policy back at boot, at every dockerd restart and after a firewalld reload.

Most tests run restore() and main() in this process against a fake runner with the HostRunner
interface that holds an ordered script of the exact commands the program must run: their argv, the
exact stdin each `*-restore -w 10 --noflush` and `nft -f -` is fed, and what each answers. Every
command, every message said or warned and the exit status are asserted exactly. The iptables
listings are full iptables-save output built from the captures under
tests/unit/fixtures/docker-iptables and the engine's rules.

Two black-box tests run the launcher the docker_firewall_engine module installs, as a subprocess,
against stand-ins for every tool the program calls. Nothing on the host is read or written: the
kept files and the lock live in the test's directory."""

import contextlib
import copy
import errno
import fcntl
import os
import subprocess
import sys
import threading
import time

import pytest

from captures import capture
from conftest import ROOT
from fake_runner import Call, FakeRunner, record_host_lock
from plugins.module_utils.test_host_lock import free, other_holder
from plugins.module_utils.test_iptables_converge import PAIR, PAIR_PAYLOAD
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import declared_blocks
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import plan_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import FAMILIES
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import IptablesHost
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._kept_state import KeptPolicy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import parse_save

COMMAND = dict(ipv4='iptables', ipv6='ip6tables')
TOOLS = tuple('%s-%s-%s' % (COMMAND[family], backend, action) for family in FAMILIES
              for backend in ('nft', 'legacy') for action in ('save', 'restore')) + ('nft', 'systemctl')
# Where the FakeRunner finds them.
TOOL_PATHS = dict((name, '/usr/sbin/' + name) for name in TOOLS)
TABLE = 'inet netops-docker-firewall'


# ---------------------------------------------------------------------------------------------
# The script of exact commands, run by the shared FakeRunner (plugins.module_utils.conftest);
# every iptables and nft command is run with binary_data, in the C locale


def run_restore(kept, script, if_needed=False, missing=()):
    """restore() against `script`: every command of it is run, in order, and nothing else."""
    runner = FakeRunner(script, TOOL_PATHS, _restore.NAME, missing)
    status = _restore.restore(runner, kept, if_needed)
    assert runner.ran == [call.expected for call in script]
    return status, runner


def saved(family, save, backend='nft', rc=0, stderr='', table='filter'):
    return Call(['/usr/sbin/%s-%s-save' % (COMMAND[family], backend)] + (['-t', table] if table else []), rc=rc,
                stdout=save.text(), stderr=stderr, binary_data=True)


def failed_read(family):
    """A read that fails for the filter table and then for every table."""
    return [saved(family, NO_TABLES, rc=4, stderr=READ_FAILED),
            saved(family, NO_TABLES, rc=4, stderr=READ_FAILED, table=None)]


def restored(family, payload_text, backend='nft', rc=0, stderr='', test=False):
    return Call(['/usr/sbin/%s-%s-restore' % (COMMAND[family], backend), '-w', '10', '--noflush'] + (['--test'] if test else []),
                data=payload_text, rc=rc, stderr=stderr, binary_data=True)


def written(family, payload_text, after, backend='nft'):
    """A family put back: the dry run of `payload_text`, its write, and the read-back of the filter table,
    which answers `after` (a Save)."""
    return [restored(family, payload_text, backend, test=True), restored(family, payload_text, backend),
            saved(family, after, backend)]


def table_listed(stdout, rc=0, stderr=''):
    return Call(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], rc=rc, stdout=stdout, stderr=stderr,
                binary_data=True)


def table_checked(rc=0, stderr='', data=None):
    """The dry run of a table load (`nft -c`), of KEPT_TABLE unless `data` says."""
    return Call(['/usr/sbin/nft', '-c', '-f', '-'], data=KEPT_TABLE if data is None else data, rc=rc, stderr=stderr,
                binary_data=True)


def table_loaded(rc=0, stderr='', data=None):
    return Call(['/usr/sbin/nft', '-f', '-'], data=KEPT_TABLE if data is None else data, rc=rc, stderr=stderr,
                binary_data=True)


def table_put_back(listed=None, data=None):
    """The kept table loaded as the modules write it: its dry run, its load and the read-back, which lists
    `listed` (LISTED_TABLE, the kept table as nft lists it, unless given)."""
    return [table_checked(data=data), table_loaded(data=data), table_listed(LISTED_TABLE if listed is None else listed)]


def dockerd_asked(rc):
    return Call(['/usr/sbin/systemctl', 'is-active', '--quiet', 'docker.service'], rc=rc, binary_data=False,
                environ_update=None)


@pytest.fixture(autouse=True)
def legacy_tables(monkeypatch):
    """The kernel holds legacy tables (IptablesHost reads /proc for that): iptables-legacy-save is run."""
    monkeypatch.setattr(IptablesHost, 'legacy_tables_exist', staticmethod(lambda family: True))


# ---------------------------------------------------------------------------------------------
# What the hosts hold


class Save:
    """What iptables-save prints: every table of a capture in order, each with its chains and then
    their rules; the filter table can be changed."""

    def __init__(self, text):
        self.tables = [[name, [[chain, policy, [rule.line for rule in table.chain_rules(chain)]]
                               for chain, policy in table.chains.items()]]
                       for name, table in parse_save(text).items()]

    def _filter(self):
        return [chains for name, chains in self.tables if name == 'filter'][0]

    def rules(self, chain):
        return [rules for name, _policy, rules in self._filter() if name == chain][0]

    def set(self, chain, rules):
        """A copy with `chain` holding `rules` (the chain created when missing)."""
        other = copy.deepcopy(self)
        if chain not in [name for name, _policy, _rules in other._filter()]:
            other._filter().append([chain, '-', []])
        other.rules(chain)[:] = rules
        return other

    def without(self, chain):
        other = copy.deepcopy(self)
        other._filter()[:] = [entry for entry in other._filter() if entry[0] != chain]
        return other

    def text(self):
        lines = []
        for name, chains in self.tables:
            lines.append('# Generated by iptables-save v1.8.9 (nf_tables) on Wed Nov 25 12:48:05 2026')
            lines.append('*' + name)
            lines.extend(':%s %s [0:0]' % (chain, policy) for chain, policy, _rules in chains)
            lines.extend(rule for _chain, _policy, rules in chains for rule in rules)
            lines.append('COMMIT')
            lines.append('# Completed on Wed Nov 25 12:48:05 2026')
        return ''.join(line + '\n' for line in lines)


# Before dockerd: the built-in chains only; or no table at all (iptables-nft-save prints nothing).
BOOT = Save('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
NO_TABLES = Save('')
# The bookworm capture: FORWARD jumps to DOCKER-USER, then to Docker's DOCKER-ISOLATION-STAGE-1;
# DOCKER-USER holds rules of others.
ISOLATION = Save(capture('bookworm', 'q4a-after-restart.iptables-save'))
JUMP = '-A FORWARD -j DOCKER-USER'
# Docker re-inserts its isolation jump above the jump to DOCKER-USER when it follows a firewalld reload.
ISOLATION_FIRST = ISOLATION.set('FORWARD', ISOLATION.rules('FORWARD')[1:2] + [JUMP] + ISOLATION.rules('FORWARD')[2:])
# The Docker 29 captures (raw, filter and nat tables): FORWARD jumps to DOCKER-USER, then to
# DOCKER-FORWARD; DOCKER-USER is empty.
DOCKER29 = {'ipv4': Save(capture('docker29', 'q4a-after-restart.iptables-save')),
            'ipv6': Save(capture('docker29', 'q4a-after-restart.ip6tables-save'))}

# The kept rules, as the role keeps them: the engine's chain for the declaration, ours only.
DECLARED = declared_blocks([{'in_interface': 'int0', 'out_interface': 'ext0'}],
                           [{'interface': 'ext0', 'sources': ['198.51.100.0/24', '2001:db8:10::/48'],
                             'ports': [443]}])
OURS = dict((family, plan_chain([], family, DECLARED, purge=True)) for family in FAMILIES)
# An earlier declaration of ours: another allowlist, and a pair since removed.
EARLIER = declared_blocks([{'in_interface': 'int0', 'out_interface': 'ext0'},
                           {'in_interface': 'int1', 'out_interface': 'ext0'}],
                          [{'interface': 'ext0', 'sources': ['203.0.113.0/24']}])
STALE = dict((family, plan_chain([], family, EARLIER, purge=True)) for family in FAMILIES)
OTHERS = ISOLATION.rules('DOCKER-USER')
# The kept table as the role keeps it (nft -f input that replaces ours), and as nft lists it.
KEPT_TABLE = nft.payload(nft.plan_table(None, DECLARED))
LISTED_TABLE = nft.render(nft.plan_table(None, DECLARED))


def kept(backend='nft', rules=None, table=False):
    return KeptPolicy(backend, rules or {}, KEPT_TABLE if table else None)


def payload(*lines):
    return '\n'.join(('*filter',) + lines + ('COMMIT',)) + '\n'


def inserted(rules):
    """Kept rules as they are put at the top of DOCKER-USER: 1..n, in their order."""
    return tuple('-I DOCKER-USER %d %s' % (position, rule[len('-A DOCKER-USER '):])
                 for position, rule in enumerate(rules, 1))


def deleted(rules):
    return tuple('-D' + rule[2:] for rule in rules)


def created(rules):
    """A chain that does not exist: created, jumped to as FORWARD's first rule, and the kept rules
    appended in their order (in the same transaction)."""
    return (':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER') + tuple(rules)


MOVED = ('-D FORWARD -j DOCKER-USER', '-I FORWARD 1 -j DOCKER-USER')
# FORWARD of the Docker 29 captures once the jump to DOCKER-USER is put first.
FORWARD_FIRST = [JUMP, '-A FORWARD -j DOCKER-FORWARD']
# BOOT once the kept rules are put back: DOCKER-USER created with them, FORWARD jumping there.
BOOTED = dict((family, BOOT.set('FORWARD', [JUMP]).set('DOCKER-USER', OURS[family])) for family in FAMILIES)
TABLE_IN_PLACE = 'nftables table %s in place' % TABLE


def in_place(family, backend='nft'):
    return '%s DOCKER-USER rules in place (%s)' % (family, backend)


# ---------------------------------------------------------------------------------------------
# Boot and dockerd restarts: every kept family is written


@pytest.mark.parametrize('backend', ['nft', 'legacy'])
@pytest.mark.parametrize('listing', [pytest.param(BOOT, id='built-in-chains'), pytest.param(NO_TABLES, id='no-table-yet')])
def test_at_boot_the_chain_is_created_with_the_jump_and_our_rules_in_both_families(backend, listing):
    status, runner = run_restore(kept(backend, OURS), [saved('ipv4', listing, backend)] + written(
        'ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4'], backend) + [saved('ipv6', listing, backend)] + written(
        'ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6'], backend))
    assert runner.ran[2][1].splitlines()[3] == ('-A DOCKER-USER -i int0 -o ext0 -m comment --comment '
                                                '"netops.docker_firewall/accept:int0:ext0" -j ACCEPT')
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4', backend), in_place('ipv6', backend)], [])


def test_legacy_tables_that_do_not_exist_are_not_read_and_the_chain_is_created(monkeypatch):
    # iptables-legacy-save would create the tables it reads: without legacy tables nothing is read
    # before the write, which creates them; the read-back reads them.
    script = [call for family in FAMILIES
              for call in written(family, payload(*created(OURS[family])), BOOTED[family], 'legacy')]
    runner = FakeRunner(script, TOOL_PATHS, _restore.NAME)
    monkeypatch.setattr(IptablesHost, 'legacy_tables_exist', staticmethod(
        lambda family: ['/usr/sbin/%s-legacy-restore' % COMMAND[family], '-w', '10', '--noflush'] in
        [argv for argv, _data, _binary_data, _environ_update in runner.ran]))
    status = _restore.restore(runner, kept('legacy', OURS), False)
    assert runner.ran == [call.expected for call in script]
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4', 'legacy'), in_place('ipv6', 'legacy')], [])


def test_at_boot_only_the_kept_family_is_written():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4']))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_ours_are_deleted_as_read_and_inserted_at_the_top_and_others_rules_stay():
    # A stale copy of ours at the top, and one of its rules below a rule another tool inserted.
    user = STALE['ipv4'][:-1] + OTHERS[:1] + STALE['ipv4'][-1:] + OTHERS[1:]
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', ISOLATION.set('DOCKER-USER', user))] + written(
        'ipv4', payload(*deleted(STALE['ipv4']) + inserted(OURS['ipv4'])), ISOLATION.set('DOCKER-USER', OURS['ipv4'] + OTHERS)))
    assert not any(rule[3:] in runner.ran[2][1] for rule in OTHERS)
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_a_kept_family_without_rules_deletes_ours():
    status, runner = run_restore(kept('nft', {'ipv4': []}), [
        saved('ipv4', ISOLATION.set('DOCKER-USER', STALE['ipv4'] + OTHERS))] + written(
        'ipv4', payload(*deleted(STALE['ipv4'])), ISOLATION.set('DOCKER-USER', OTHERS)))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


@pytest.mark.parametrize('forward, deletes', [
    pytest.param([JUMP, '-A FORWARD -j DOCKER-FORWARD', JUMP], 2, id='two-jumps'),
    pytest.param(['-A FORWARD -j DOCKER-FORWARD', JUMP], 1, id='DOCKER-FORWARD-above'),
    pytest.param(['-A FORWARD -j DOCKER-FORWARD'], 0, id='no-jump'),
])
def test_every_jump_is_deleted_and_one_inserted_first_in_the_same_payload(forward, deletes):
    jumps = ('-D FORWARD -j DOCKER-USER',) * deletes + ('-I FORWARD 1 -j DOCKER-USER',)
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].set('FORWARD', forward).set('DOCKER-USER', OURS['ipv4']))] + written(
        'ipv4', payload(*jumps + deleted(OURS['ipv4']) + inserted(OURS['ipv4'])),
        DOCKER29['ipv4'].set('FORWARD', FORWARD_FIRST).set('DOCKER-USER', OURS['ipv4'])))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_without_if_needed_the_jump_is_put_above_docker_s_isolation_jump():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', ISOLATION_FIRST.set('DOCKER-USER', OURS['ipv4'] + OTHERS))] + written(
        'ipv4', payload(*MOVED + deleted(OURS['ipv4']) + inserted(OURS['ipv4'])),
        ISOLATION.set('DOCKER-USER', OURS['ipv4'] + OTHERS)))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_without_if_needed_a_family_in_place_is_written_again():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4']))] + written(
        'ipv4', payload(*deleted(OURS['ipv4']) + inserted(OURS['ipv4'])), DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'])))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


# A failing family is reported and the other family is still put back (the shell script stopped
# at the first failure); the status is then 1.

READ_FAILED = 'Another app is currently holding the xtables lock. Perhaps you want to use the -w option?\n'
RESTORE_FAILED = 'iptables-restore: line 3 failed\n'


def test_a_failed_read_is_warned_about_and_the_other_family_is_still_written():
    status, runner = run_restore(kept('nft', OURS), failed_read('ipv4') + [
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said) == (1, [in_place('ipv6')])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: reading the ipv4 rules failed (' + READ_FAILED.strip() + ')']


def test_an_iptables_that_cannot_save_a_missing_filter_table_is_read_whole():
    """iptables before 1.8.7 fails `-t filter` while the table does not exist yet (at boot)."""
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', NO_TABLES, rc=1, stderr="iptables-save: Table `filter' does not exist\n"),
        saved('ipv4', NO_TABLES, table=None)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4']))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_a_failed_read_of_the_second_family_fails_the_run_after_the_first_is_written():
    status, runner = run_restore(kept('nft', OURS), [
        saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4']) + failed_read('ipv6'))
    assert (status, runner.said) == (1, [in_place('ipv4')])
    assert runner.warned == ['ipv6 DOCKER-USER rules not put back: reading the ipv6 rules failed (' + READ_FAILED.strip() + ')']


def test_a_payload_the_dry_run_rejects_is_not_written_and_the_other_family_is_still_written():
    status, runner = run_restore(kept('nft', OURS), [
        saved('ipv4', BOOT), restored('ipv4', payload(*created(OURS['ipv4'])), rc=1, stderr=RESTORE_FAILED, test=True),
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said) == (1, [in_place('ipv6')])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: checking the new ipv4 DOCKER-USER chain failed; '
                             'nothing was changed (' + RESTORE_FAILED.strip() + ')']


def test_a_failed_restore_is_warned_about_and_the_other_family_is_still_written():
    status, runner = run_restore(kept('nft', OURS), [
        saved('ipv4', BOOT), restored('ipv4', payload(*created(OURS['ipv4'])), test=True),
        restored('ipv4', payload(*created(OURS['ipv4'])), rc=1, stderr=RESTORE_FAILED),
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said) == (1, [in_place('ipv6')])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: applying the new ipv4 DOCKER-USER chain failed; '
                             'it was left unchanged (' + RESTORE_FAILED.strip() + ')']


@pytest.mark.parametrize('after', [
    pytest.param(BOOT.set('FORWARD', [JUMP]).set('DOCKER-USER', OTHERS[:1] + OURS['ipv4']), id='a-rule-above-ours'),
    pytest.param(BOOT.set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD', JUMP]).set('DOCKER-USER', OURS['ipv4']),
                 id='an-accepting-jump-above'),
    pytest.param(BOOT, id='no-chain'),
])
def test_a_write_read_back_otherwise_is_warned_about_and_never_said_in_place(after):
    status, runner = run_restore(kept('nft', OURS), [saved('ipv4', BOOT)] + written(
        'ipv4', payload(*created(OURS['ipv4'])), after) + [saved('ipv6', BOOT)] + written(
        'ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said) == (1, [in_place('ipv6')])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: written, but read back otherwise: the kept rules are '
                             'not the first of DOCKER-USER, or FORWARD does not jump there first (did another tool '
                             'change them at the same time?)']


def test_a_read_back_that_fails_is_warned_about():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [saved('ipv4', BOOT)] + written(
        'ipv4', payload(*created(OURS['ipv4'])), NO_TABLES)[:2] + [saved('ipv4', NO_TABLES, rc=4, stderr=READ_FAILED)])
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: reading the ipv4 rules failed (' + READ_FAILED.strip() + ')']


def test_a_listing_that_cannot_be_parsed_is_warned_about_and_the_other_family_is_still_written():
    status, runner = run_restore(kept('nft', OURS), [
        Call(['/usr/sbin/iptables-nft-save', '-t', 'filter'], stdout='-A FORWARD -j DOCKER-USER\n', binary_data=True),
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said) == (1, [in_place('ipv6')])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: line 1 outside a table: -A FORWARD -j DOCKER-USER']


def test_a_filter_table_iptables_cannot_read_is_a_failed_read_never_a_missing_chain():
    """iptables-nft prints only a comment, rc 0, for a table nft or a newer iptables wrote: writing
    a new DOCKER-USER there would flush the one that is there."""
    incompatible = "# Table `filter' is incompatible, use 'nft' tool.\n"
    status, runner = run_restore(kept('nft', OURS), [
        Call(['/usr/sbin/iptables-nft-save', '-t', 'filter'], stdout=incompatible, binary_data=True),
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']), if_needed=False)
    assert (status, runner.said) == (1, [in_place('ipv6')])
    assert runner.warned == ["ipv4 DOCKER-USER rules not put back: the filter table could not be read: # Table `filter' "
                             "is incompatible, use 'nft' tool."]


def test_a_backend_that_is_not_installed_is_warned_about_per_family():
    status, runner = run_restore(kept('nft', OURS), [], missing=('iptables-nft-save', 'ip6tables-nft-save'))
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['ipv4 DOCKER-USER rules not put back: iptables-nft-save is not installed',
                             'ipv6 DOCKER-USER rules not put back: ip6tables-nft-save is not installed']


# ---------------------------------------------------------------------------------------------
# --if-needed (the firewalld watcher): only a family out of place is written


@pytest.mark.parametrize('ipv4', [pytest.param(DOCKER29['ipv4'], id='ours-first-one-jump-first'),
                                  pytest.param(ISOLATION_FIRST, id='docker-isolation-jump-above')])
def test_if_needed_writes_nothing_when_everything_is_in_place(ipv4):
    status, runner = run_restore(kept('nft', OURS), [
        saved('ipv4', ipv4.set('DOCKER-USER', OURS['ipv4'] + OTHERS)),
        saved('ipv6', DOCKER29['ipv6'].set('DOCKER-USER', OURS['ipv6'])),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [], [])


def test_if_needed_a_kept_family_without_rules_and_none_of_ours_is_in_place():
    status, runner = run_restore(kept('nft', {'ipv4': []}), [
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OTHERS)),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [], [])


def test_if_needed_writes_when_docker_forward_is_above_the_jump():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD', JUMP]).set('DOCKER-USER', OURS['ipv4']))
    ] + written('ipv4', payload(*MOVED + deleted(OURS['ipv4']) + inserted(OURS['ipv4'])),
                DOCKER29['ipv4'].set('FORWARD', FORWARD_FIRST).set('DOCKER-USER', OURS['ipv4'])), if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_if_needed_writes_when_the_jump_is_there_twice():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].set('FORWARD', [JUMP, '-A FORWARD -j DOCKER-FORWARD', JUMP]).set('DOCKER-USER', OURS['ipv4']))
    ] + written('ipv4', payload(*('-D FORWARD -j DOCKER-USER',) + MOVED + deleted(OURS['ipv4']) + inserted(OURS['ipv4'])),
                DOCKER29['ipv4'].set('FORWARD', FORWARD_FIRST).set('DOCKER-USER', OURS['ipv4'])), if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


@pytest.mark.parametrize('user, ours_read, others', [
    pytest.param(OTHERS[:1] + OURS['ipv4'], OURS['ipv4'], OTHERS[:1], id='a-rule-of-others-above-ours'),
    pytest.param(STALE['ipv4'] + OTHERS, STALE['ipv4'], OTHERS, id='a-stale-copy-of-ours'),
    pytest.param(OURS['ipv4'][:-1] + OTHERS, OURS['ipv4'][:-1], OTHERS, id='one-of-ours-missing'),
    pytest.param(OTHERS, [], OTHERS, id='none-of-ours'),
])
def test_if_needed_writes_when_ours_are_not_the_first_rules(user, ours_read, others):
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', user))] + written(
        'ipv4', payload(*deleted(ours_read) + inserted(OURS['ipv4'])), DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'] + others)),
        if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


@pytest.mark.parametrize('below', [
    pytest.param(STALE['ipv4'][2:3], id='a-stale-rule-of-ours'),
    pytest.param(OURS['ipv4'][:1], id='a-second-copy-of-one-of-ours'),
])
def test_if_needed_writes_when_rules_of_ours_are_left_below_others_rules(below):
    # Ours are the first rules, as kept, but a rule of ours is left further down: not in place
    # (ours must be the kept rules, and at the top); every rule of ours read is deleted.
    user = OURS['ipv4'] + OTHERS + below
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', user))] + written(
        'ipv4', payload(*deleted(OURS['ipv4'] + below) + inserted(OURS['ipv4'])),
        DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'] + OTHERS)), if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


def test_if_needed_leaves_a_missing_chain_to_a_starting_dockerd():
    status, runner = run_restore(kept('nft', OURS), [
        saved('ipv4', BOOT), dockerd_asked(3), saved('ipv6', BOOT), dockerd_asked(3),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [], [])


def test_if_needed_without_systemctl_leaves_a_missing_chain_alone():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [saved('ipv4', BOOT)], if_needed=True,
                                 missing=('systemctl',))
    assert (status, runner.said, runner.warned) == (0, [], [])


def test_if_needed_creates_a_missing_chain_when_dockerd_runs():
    # After a firewalld flush Docker put its own chains back, not DOCKER-USER nor the jump to it.
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}), [
        saved('ipv4', DOCKER29['ipv4'].without('DOCKER-USER').set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD'])),
        dockerd_asked(0)] + written('ipv4', payload(*created(OURS['ipv4'])),
                                    DOCKER29['ipv4'].set('FORWARD', FORWARD_FIRST).set('DOCKER-USER', OURS['ipv4'])),
        if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4')], [])


# ---------------------------------------------------------------------------------------------
# The kept nftables table (the backstop; the policy itself under Docker's nftables backend)


def test_the_table_is_loaded_before_any_iptables_call():
    status, runner = run_restore(kept('nft', OURS, table=True), table_put_back() + [
        saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4']) + [
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said, runner.warned) == (0, [TABLE_IN_PLACE, in_place('ipv4'), in_place('ipv6')], [])


@pytest.mark.parametrize('listing, loads', [
    pytest.param(table_listed(LISTED_TABLE), False, id='table-there'),
    pytest.param(table_listed('', rc=1, stderr='Error: No such file or directory\nlist table inet netops-docker-firewall\n'),
                 True, id='table-gone'),
    pytest.param(table_listed('', rc=1, stderr='netlink: Error: cache initialization failed: Operation not permitted\n'),
                 True, id='listing-failed'),
    pytest.param(table_listed(''), True, id='nothing-listed'),
])
def test_if_needed_loads_the_table_only_when_it_is_gone(listing, loads):
    status, runner = run_restore(kept('nft', OURS, table=True), [listing] + table_put_back() * loads + [
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'])),
        saved('ipv6', DOCKER29['ipv6'].set('DOCKER-USER', OURS['ipv6'])),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [TABLE_IN_PLACE] * loads, [])


def test_a_table_that_fails_to_load_does_not_keep_docker_user_from_being_restored():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}, table=True), [
        table_checked(rc=1, stderr='/dev/stdin:3:1-5: Error: syntax error\n'),
        saved('ipv4', DOCKER29['ipv4'])] + written(
        'ipv4', payload(*inserted(OURS['ipv4'])), DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'])))
    assert (status, runner.said) == (1, [in_place('ipv4')])
    assert runner.warned == ['the nftables table %s could not be loaded: checking the nftables table %s failed; '
                             'nothing was changed (/dev/stdin:3:1-5: Error: syntax error)' % (TABLE, TABLE)]


def test_a_kept_table_without_nft_on_the_host_does_not_keep_docker_user_from_being_restored():
    status, runner = run_restore(kept('nft', {'ipv4': OURS['ipv4']}, table=True), [
        saved('ipv4', DOCKER29['ipv4'])] + written(
        'ipv4', payload(*inserted(OURS['ipv4'])), DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'])), missing=('nft',))
    assert (status, runner.said) == (1, [in_place('ipv4')])
    assert runner.warned == ['the nftables table %s could not be loaded: netops-docker-user: nft not found in PATH or '
                             '/sbin, /usr/sbin, /usr/local/sbin' % TABLE]


@pytest.mark.parametrize('script, load_rc', [
    pytest.param(table_put_back(), 0, id='loaded'),
    pytest.param([table_checked(rc=1, stderr='/dev/stdin:3:1-5: Error: syntax error\n')], 1, id='refused'),
])
def test_under_docker_s_nftables_backend_only_the_table_is_loaded(script, load_rc):
    # Rule files left from the iptables backend are not read: iptables is not called at all.
    status, runner = run_restore(kept('nftables', OURS, table=True), script)
    assert (status, runner.said, len(runner.warned)) == (load_rc, [TABLE_IN_PLACE] if load_rc == 0 else [], load_rc)


def test_under_docker_s_nftables_backend_if_needed_only_checks_the_table():
    status, runner = run_restore(kept('nftables', table=True), [table_listed(LISTED_TABLE)], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [], [])


# The table load in the modules' sequence (dry run, load, read-back), with the kept table of a router
# pair written out by hand (PAIR_PAYLOAD, listed as PAIR).
LOADED_BUT = 'the nftables table %s was loaded, but the read-back does not show it in place: ' % TABLE
OTHERWISE = 'the nftables table differs from what was written (did another tool change it at the same time?): '


def test_the_kept_table_is_dry_run_loaded_and_read_back_before_it_is_said_in_place():
    status, runner = run_restore(KeptPolicy('nftables', {}, PAIR_PAYLOAD), [
        Call(['/usr/sbin/nft', '-c', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], stdout=PAIR, binary_data=True)])
    assert (status, runner.said, runner.warned) == (0, ['nftables table inet netops-docker-firewall in place'], [])


def test_a_kept_table_the_dry_run_refuses_is_not_loaded():
    status, runner = run_restore(KeptPolicy('nftables', {}, PAIR_PAYLOAD), [
        Call(['/usr/sbin/nft', '-c', '-f', '-'], data=PAIR_PAYLOAD, rc=1, binary_data=True,
             stderr='/dev/stdin:7:3-9: Error: Could not process rule: No such file or directory\n')])
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['the nftables table inet netops-docker-firewall could not be loaded: checking the nftables '
                             'table inet netops-docker-firewall failed; nothing was changed (/dev/stdin:7:3-9: Error: '
                             'Could not process rule: No such file or directory)']


def test_a_kept_table_whose_load_fails_after_the_dry_run_is_not_said_in_place():
    status, runner = run_restore(KeptPolicy('nftables', {}, PAIR_PAYLOAD), [
        Call(['/usr/sbin/nft', '-c', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', '-f', '-'], data=PAIR_PAYLOAD, rc=1, stderr='netlink: Error: Device or resource busy\n',
             binary_data=True)])
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['the nftables table inet netops-docker-firewall could not be loaded: applying the nftables '
                             'table inet netops-docker-firewall failed; nothing was changed (netlink: Error: Device or '
                             'resource busy)']


@pytest.mark.parametrize('listing, warned', [
    pytest.param(dict(stdout=PAIR.replace('oifname "eth0" accept', 'oifname "eth1" accept')),
                 OTHERWISE + 'chain forward holds other rules', id='another-rule'),
    pytest.param(dict(rc=1, stderr='Error: No such file or directory\nlist table inet netops-docker-firewall\n'),
                 OTHERWISE + 'the table is missing', id='gone-again'),
    pytest.param(dict(rc=1, stderr='netlink: Error: cache initialization failed: Operation not permitted\n'),
                 'reading the nftables table inet netops-docker-firewall failed (netlink: Error: cache initialization '
                 'failed: Operation not permitted)', id='not-read'),
])
def test_a_kept_table_loaded_but_read_back_otherwise_is_not_said_in_place(listing, warned):
    status, runner = run_restore(KeptPolicy('nftables', {}, PAIR_PAYLOAD), [
        Call(['/usr/sbin/nft', '-c', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], binary_data=True, **listing)])
    assert (status, runner.said, runner.warned) == (1, [], [LOADED_BUT + warned])


def test_a_kept_table_the_engine_cannot_read_is_loaded_but_never_said_in_place():
    # Not what docker_firewall_persistence keeps (it refuses such a text): edited by hand on the host.
    edited = 'table inet netops-docker-firewall\ndelete table inet netops-docker-firewall\ntable inet other {\n}\n'
    status, runner = run_restore(KeptPolicy('nftables', {}, edited), [
        Call(['/usr/sbin/nft', '-c', '-f', '-'], data=edited, binary_data=True),
        Call(['/usr/sbin/nft', '-f', '-'], data=edited, binary_data=True),
        Call(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], binary_data=True,
             stderr='Error: No such file or directory\nlist table inet netops-docker-firewall\n', rc=1)])
    assert (status, runner.said) == (1, [])
    assert runner.warned == [LOADED_BUT + "the kept table is not one the collection writes, so what was loaded cannot "
                             "be read back against it: not the collection's table: table inet other {"]


def test_a_kept_table_and_docker_user_are_each_put_back_in_the_modules_sequence():
    """The table: nft -c, nft -f, nft list table; then each family: read, --test, write, read-back."""
    status, runner = run_restore(KeptPolicy('nft', {'ipv4': OURS['ipv4']}, PAIR_PAYLOAD), [
        Call(['/usr/sbin/nft', '-c', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', '-f', '-'], data=PAIR_PAYLOAD, binary_data=True),
        Call(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], stdout=PAIR, binary_data=True),
        saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4']))
    assert [argv[1:] for argv, _data, _binary, _environ in runner.ran] == [
        ['-c', '-f', '-'], ['-f', '-'], ['list', 'table', 'inet', 'netops-docker-firewall'],
        ['-t', 'filter'], ['-w', '10', '--noflush', '--test'], ['-w', '10', '--noflush'], ['-t', 'filter']]
    assert (status, runner.said, runner.warned) == (
        0, ['nftables table inet netops-docker-firewall in place', 'ipv4 DOCKER-USER rules in place (nft)'], [])


# ---------------------------------------------------------------------------------------------
# main(): the kept files, the arguments, the environment and the lock


def keep(directory, backend='nft', rules=None, table=False):
    """The kept files as the docker_on_router role writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / layout.KEPT_BACKEND).write_text(backend + '\n')
    for family, lines in (rules or {}).items():
        (directory / (layout.KEPT_RULES % family)).write_text('\n'.join(lines) + '\n')
    if table:
        (directory / layout.KEPT_TABLE).write_text(KEPT_TABLE)


class Program:
    """main() with the kept files and the lock in the test's directory, run by a FakeRunner."""

    def __init__(self, tmp_path, monkeypatch):
        self.dir = tmp_path / 'kept'
        self.lock = tmp_path / 'run' / 'netops-docker-firewall.lock'
        self.lock.parent.mkdir()
        self.environ = {'PATH': '/nonexistent', 'NETOPS_DOCKER_FIREWALL_DIR': str(self.dir),
                        'NETOPS_DOCKER_FIREWALL_LOCK': str(self.lock)}
        self.runners = []
        self.script = []
        monkeypatch.setattr(_restore, 'HostRunner', self._runner)

    def _runner(self, name, environ=None):
        runner = FakeRunner(self.script, TOOL_PATHS, name)
        self.runners.append((name, environ, runner))
        return runner

    def run(self, argv, script=()):
        self.script = list(script)
        status = _restore.main(argv, self.environ)
        assert [(name, environ) for name, environ, _runner in self.runners] == [('netops-docker-user', self.environ)]
        runner = self.runners[0][2]
        assert runner.ran == [call.expected for call in script]
        return status, runner


@pytest.fixture
def program(tmp_path, monkeypatch):
    return Program(tmp_path, monkeypatch)


def test_main_reads_the_kept_files_takes_the_lock_and_puts_the_policy_back(program):
    keep(program.dir, 'nft', OURS, table=True)
    # Blank lines in a kept rules file are not rules.
    (program.dir / (layout.KEPT_RULES % 'ipv6')).write_text('\n' + '\n\n'.join(OURS['ipv6']) + '\n\n')
    status, runner = program.run([], table_put_back() + [
        saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4']) + [
        saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    assert (status, runner.said, runner.warned) == (0, [TABLE_IN_PLACE, in_place('ipv4'), in_place('ipv6')], [])
    assert program.lock.exists()


def test_main_holds_the_host_lock_from_its_first_command_to_its_last(program, monkeypatch):
    locks = record_host_lock(monkeypatch, lambda: program.runners[0][2].ran if program.runners else [])
    keep(program.dir, 'nft', OURS, table=True)
    script = (table_put_back() + [saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4'])
              + [saved('ipv6', BOOT)] + written('ipv6', payload(*created(OURS['ipv6'])), BOOTED['ipv6']))
    status, runner = program.run([], script)
    assert status == 0 and locks == [('taken', 'netops-docker-user-restore', 0), ('released', 11)]
    # The record it left names the restore, which has released the lock: another writer takes it at once.
    assert program.lock.read_text().split()[:2] == [str(os.getpid()), 'netops-docker-user-restore']
    assert free(program.lock)


def test_main_under_another_holder_waits_then_writes_nothing_and_names_it(program, monkeypatch):
    monkeypatch.setattr(_restore, 'PROGRAM_WAIT', 0.2)
    keep(program.dir, 'nft', OURS, table=True)
    with other_holder(program.lock, 'docker_user_allowlist') as other:
        since = program.lock.read_text().split()[2]
        status, runner = program.run([])
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['the host lock %s is held by docker_user_allowlist (pid %d, since %s); gave up after '
                             'waiting 0.2 s; nothing was written' % (program.lock, other.pid, since)]


def test_main_with_if_needed_writes_only_what_is_not_in_place(program):
    keep(program.dir, 'nft', OURS, table=True)
    status, runner = program.run(['--if-needed'], [
        table_listed(LISTED_TABLE),
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'])),
        saved('ipv6', DOCKER29['ipv6'].set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD', JUMP]).set('DOCKER-USER', OURS['ipv6']))
    ] + written('ipv6', payload(*MOVED + deleted(OURS['ipv6']) + inserted(OURS['ipv6'])),
                DOCKER29['ipv6'].set('FORWARD', FORWARD_FIRST).set('DOCKER-USER', OURS['ipv6'])))
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv6')], [])


def test_main_with_only_the_backend_kept_writes_nothing(program):
    keep(program.dir, 'nft')
    status, runner = program.run(['--if-needed'])
    assert (status, runner.said, runner.warned) == (0, [], [])


@pytest.mark.parametrize('argv', [['--bogus'], ['--if-needed', '--if-needed'], ['--if-needed', 'x'], ['if-needed']])
def test_usage_with_a_bad_argument_runs_nothing(program, capsys, argv):
    keep(program.dir, 'nft', OURS)
    assert _restore.main(argv, program.environ) == 2
    assert capsys.readouterr().out == 'usage: netops-docker-user-restore [--if-needed]\n'
    assert program.runners == [] and not program.lock.exists()


def test_a_kept_policy_that_cannot_be_read_writes_nothing(program):
    # The rules are kept, but not the backend.
    program.dir.mkdir()
    (program.dir / (layout.KEPT_RULES % 'ipv4')).write_text('\n'.join(OURS['ipv4']) + '\n')
    status, runner = program.run([])
    assert (status, runner.said) == (1, [])
    assert runner.warned == ["the kept policy could not be read, nothing was written: [Errno 2] No such file or directory: '%s'"
                             % (program.dir / layout.KEPT_BACKEND)]


def test_a_lock_that_cannot_be_opened_writes_nothing(program):
    keep(program.dir, 'nft', OURS)
    program.environ['NETOPS_DOCKER_FIREWALL_LOCK'] = str(program.lock.parent / 'missing' / 'netops-docker-firewall.lock')
    status, runner = program.run([])
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['the host lock %s cannot be opened: No such file or directory; nothing was written'
                             % program.environ['NETOPS_DOCKER_FIREWALL_LOCK']]


def test_the_paths_default_to_the_host_layout(monkeypatch):
    taken = []
    read = []

    @contextlib.contextmanager
    def lock(holder, wait, path):
        taken.append((holder, wait, path))
        yield
        taken.append('released')

    def read_kept(directory):
        read.append(directory)
        raise IOError(errno.ENOENT, 'No such file or directory')

    runner = FakeRunner([], TOOL_PATHS, _restore.NAME)
    monkeypatch.setattr(_restore, 'HostRunner', lambda name, environ=None: runner)
    monkeypatch.setattr(_restore, 'host_lock', lock)
    monkeypatch.setattr(_restore, 'read_kept', read_kept)
    assert _restore.main([], {'PATH': '/nonexistent'}) == 1
    assert (taken, read) == ([('netops-docker-user-restore', 15.0, layout.HOST_LOCK), 'released'], [layout.STATE_DIR])
    assert (runner.ran, runner.said) == ([], [])
    assert runner.warned == ['the kept policy could not be read, nothing was written: [Errno 2] No such file or directory']


def test_without_an_environ_argument_main_reads_the_process_environment(program, monkeypatch):
    keep(program.dir, 'nft', {'ipv4': OURS['ipv4']})
    for name in ('NETOPS_DOCKER_FIREWALL_DIR', 'NETOPS_DOCKER_FIREWALL_LOCK'):
        monkeypatch.setenv(name, program.environ[name])
    program.script = [saved('ipv4', BOOT)] + written('ipv4', payload(*created(OURS['ipv4'])), BOOTED['ipv4'])
    assert _restore.main([]) == 0
    assert [(name, environ is os.environ) for name, environ, _runner in program.runners] == [('netops-docker-user', True)]
    runner = program.runners[0][2]
    assert (runner.ran, runner.said) == ([call.expected for call in program.script], [in_place('ipv4')])
    assert program.lock.exists()


def test_a_run_waits_for_the_lock(program, monkeypatch):
    monkeypatch.setattr(_restore, 'PROGRAM_WAIT', 5.0)
    keep(program.dir, 'nft', {'ipv4': OURS['ipv4']})
    held = open(str(program.lock), 'a')
    fcntl.flock(held, fcntl.LOCK_EX)
    released = []

    def release():
        released.append(time.monotonic())
        held.close()

    timer = threading.Timer(0.5, release)
    started = time.monotonic()
    timer.start()
    try:
        status, runner = program.run(['--if-needed'], [saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4']))])
    finally:
        timer.cancel()
        timer.join(5)
        held.close()
    assert (status, runner.said, runner.warned) == (0, [], [])
    assert released and runner.first_call_at >= released[0] >= started + 0.5


def test_a_run_gives_up_when_the_lock_is_held_too_long(program, monkeypatch):
    monkeypatch.setattr(_restore, 'PROGRAM_WAIT', 0.3)
    keep(program.dir, 'nft', {'ipv4': OURS['ipv4']})
    with open(str(program.lock), 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write('%d docker_user_chain 2031-01-02T03:04:05+00:00\n' % os.getpid())
        held.flush()
        started = time.monotonic()
        status, runner = program.run([])
        waited = time.monotonic() - started
    assert (status, runner.said) == (1, [])
    assert runner.warned == ['the host lock %s is held by docker_user_chain (pid %d, since 2031-01-02T03:04:05+00:00); '
                             'gave up after waiting 0.3 s; nothing was written' % (program.lock, os.getpid())]
    assert 0.3 <= waited < 60  # the message names the 0.3 s it waited; the bound only catches a hang


# ---------------------------------------------------------------------------------------------
# Black box: the launcher the docker_firewall_engine module installs, run as a subprocess
# against stand-ins for every tool the program calls.

# One stand-in for all of them (called by its link's name): records its command line with the
# locale it was given, and what an *-restore or `nft [-c] -f -` is fed, then answers as scripted for
# that exact command line: the answers scripted for one command line are given once each, in the
# order scripted, and the last one again after that. An *-restore or `nft [-c] -f -` succeeds unless
# scripted; any other command nobody scripted fails.
STANDIN = r'''#!/bin/sh
state=@STATE@
call=${0##*/}
[ $# -eq 0 ] || call="$call $*"
printf 'LC_ALL=%s LANG=%s %s\n' "${LC_ALL-}" "${LANG-}" "$call" >> "$state/calls"
case $call in *-restore\ *|'nft -f -'|'nft -c -f -') cat > "$state/stdin.$(grep -c '' "$state/calls")" ;; esac
last=
for answer in "$state"/answers/*; do
    if [ -f "$answer/argv" ] && [ "$(cat "$answer/argv")" = "$call" ]; then
        last=$answer
        [ -f "$answer/given" ] && continue
        : > "$answer/given"
        cat "$answer/stdout"
        exit "$(cat "$answer/rc")"
    fi
done
if [ -n "$last" ]; then
    cat "$last/stdout"
    exit "$(cat "$last/rc")"
fi
case $call in *-restore\ *|'nft -f -'|'nft -c -f -') exit 0 ;; esac
echo "stand-in: nothing scripted for: $call" >&2
exit 127
'''


class Host:
    """The launcher, the engine it runs (this checkout), the kept files and the stand-ins."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / 'kept'
        self.lock = tmp_path / 'run' / 'netops-docker-firewall.lock'
        self.state = tmp_path / 'state'
        engine_dir = tmp_path / 'engine'
        for directory in (self.lock.parent, self.state / 'answers', tmp_path / 'bin', tmp_path / 'tools',
                          engine_dir / 'ansible_collections' / 'netops'):
            directory.mkdir(parents=True)
        os.symlink(ROOT, str(engine_dir / 'ansible_collections' / 'netops' / 'docker_firewall'))
        self.launcher = tmp_path / 'netops-docker-user-restore'
        self.launcher.write_text(_engine_files.LAUNCHER % dict(python=sys.executable, what='test', engine_dir=str(engine_dir),
                                                               package=layout.ENGINE_PACKAGE, module='_programs._restore'))
        self.launcher.chmod(0o755)
        standin = self.state / 'standin'
        standin.write_text(STANDIN.replace('@STATE@', str(self.state)))
        standin.chmod(0o755)
        for name in TOOLS:
            os.symlink(str(standin), str(tmp_path / 'bin' / name))
        # The real tools the stand-in uses; nothing else is on PATH.
        for name in ('cat', 'grep'):
            os.symlink(_which(name), str(tmp_path / 'tools' / name))
        self.environ = {'PATH': '%s:%s' % (tmp_path / 'bin', tmp_path / 'tools'), 'NETOPS_DOCKER_FIREWALL_DIR': str(self.dir),
                        'NETOPS_DOCKER_FIREWALL_LOCK': str(self.lock)}
        self.answers = 0

    def answer(self, call, stdout='', rc=0):
        self.answers += 1
        answer = self.state / 'answers' / ('%03d' % self.answers)  # in the order scripted
        answer.mkdir()
        (answer / 'argv').write_text(call)
        (answer / 'stdout').write_text(stdout)
        (answer / 'rc').write_text(str(rc))

    def calls(self):
        if not (self.state / 'calls').exists():
            return []
        calls = []
        for number, call in enumerate((self.state / 'calls').read_text().splitlines(), 1):
            stdin = self.state / ('stdin.%d' % number)
            calls.append((call, stdin.read_text() if stdin.exists() else None))
        return calls

    def run(self, *args):
        done = subprocess.run([str(self.launcher)] + list(args), env=self.environ, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                              check=False)
        return done.returncode, done.stdout, done.stderr


def _which(name):
    for directory in ('/usr/bin', '/bin'):
        if os.access(os.path.join(directory, name), os.X_OK):
            return os.path.join(directory, name)
    raise AssertionError('%s is needed by the stand-ins' % name)


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def test_the_launcher_puts_the_kept_policy_back_at_boot(host):
    keep(host.dir, 'nft', OURS, table=True)
    host.answer('nft list table inet netops-docker-firewall', LISTED_TABLE)  # the table's read-back
    for family, command in sorted(COMMAND.items()):
        host.answer('%s-nft-save -t filter' % command, BOOT.text())
        host.answer('%s-nft-save -t filter' % command, BOOTED[family].text())  # the read-back
    assert host.run() == (0, ''.join('netops-docker-user: %s\n' % said
                                     for said in (TABLE_IN_PLACE, in_place('ipv4'), in_place('ipv6'))), '')
    locale = 'LC_ALL=C LANG=C '
    assert host.calls() == [
        (locale + 'nft -c -f -', KEPT_TABLE),
        (locale + 'nft -f -', KEPT_TABLE),
        (locale + 'nft list table inet netops-docker-firewall', None),
        (locale + 'iptables-nft-save -t filter', None),
        (locale + 'iptables-nft-restore -w 10 --noflush --test', payload(*created(OURS['ipv4']))),
        (locale + 'iptables-nft-restore -w 10 --noflush', payload(*created(OURS['ipv4']))),
        (locale + 'iptables-nft-save -t filter', None),
        (locale + 'ip6tables-nft-save -t filter', None),
        (locale + 'ip6tables-nft-restore -w 10 --noflush --test', payload(*created(OURS['ipv6']))),
        (locale + 'ip6tables-nft-restore -w 10 --noflush', payload(*created(OURS['ipv6']))),
        (locale + 'ip6tables-nft-save -t filter', None),
    ]
    assert host.lock.exists()


def test_the_launcher_with_a_bad_argument_prints_the_usage_and_exits_2(host):
    keep(host.dir, 'nft', OURS, table=True)
    assert host.run('--bogus') == (2, 'usage: netops-docker-user-restore [--if-needed]\n', '')
    assert host.calls() == [] and not host.lock.exists()
