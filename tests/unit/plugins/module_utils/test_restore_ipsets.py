# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The restore program (_restore) with kept ipsets (docker-user.ipsets, the `ipset restore` input
the docker_on_router role keeps): the sets are put in place before the DOCKER-USER rules that match
them (created when missing, swapped for the kept content when they differ); with --if-needed only
their names are read and a missing one is created. A part that fails is warned about, the others are
still put back, and the exit status is 1.

Run against the shared FakeRunner (plugins.module_utils.conftest): every command, its stdin, every
message said or warned and the exit status are asserted exactly."""

import pytest

from fake_runner import Call, FakeRunner
from plugins.module_utils.test_ipset import saved_by_ipset
from plugins.module_utils.test_restore import (
    BOOT,
    DOCKER29,
    JUMP,
    KEPT_TABLE,
    TABLE_IN_PLACE,
    TOOL_PATHS,
    Program,
    created,
    deleted,
    in_place,
    inserted,
    keep,
    payload,
    saved,
    table_put_back,
    written,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._kept_state import KeptPolicy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    declared_blocks,
    routed_block,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import plan_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import FAMILIES
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._docker_user_module import SetPlan

TOOLS = dict(TOOL_PATHS, ipset='/usr/sbin/ipset')
V4 = 'netops-dfw-ext0-v4'
V6 = 'netops-dfw-ext0-v6'

# The declaration the role kept: a router pair and an allowlist whose sources are in sets.
DECLARED = declared_blocks([{'in_interface': 'int0', 'out_interface': 'ext0'}],
                           [{'interface': 'ext0', 'sources': ['198.51.100.0/24', '192.0.2.10-192.0.2.20',
                                                              '2001:db8:10::/48'],
                             'ports': ['443'], 'source_sets': 'always'}])
RULES = dict((family, plan_chain([], family, DECLARED, purge=True)) for family in FAMILIES)
SETS = dict((s.name, s) for s in DECLARED['allowlist:ext0'].sets.values())
# docker-user.ipsets as the role keeps it (the modules' ipset_payload).
KEPT_SETS = ('create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536\n'
             'add netops-dfw-ext0-v4 192.0.2.10/31\n'
             'add netops-dfw-ext0-v4 192.0.2.12/30\n'
             'add netops-dfw-ext0-v4 192.0.2.16/30\n'
             'add netops-dfw-ext0-v4 192.0.2.20\n'
             'add netops-dfw-ext0-v4 198.51.100.0/24\n'
             'create netops-dfw-ext0-v6 hash:net family inet6 hashsize 1024 maxelem 65536\n'
             'add netops-dfw-ext0-v6 2001:db8:10::/48\n')
V4_LINES = KEPT_SETS.splitlines(True)[:6]
V6_LINES = KEPT_SETS.splitlines(True)[6:]
FOREIGN = 'create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1d2c3b4a\n'
SETS_IN_PLACE = 'ipsets in place: netops-dfw-ext0-v4, netops-dfw-ext0-v6'
NOT_IN_PLACE = 'the kept ipsets could not be put in place: '
SET_MISSING = ("%s-restore v1.8.9 (nf_tables): Set netops-dfw-ext0-%s doesn't exist.\n\n"
               'Error occurred at line: 4\n')


def kept(rules=None, sets=KEPT_SETS, backend='nft', table=False):
    return KeptPolicy(backend, RULES if rules is None else rules, KEPT_TABLE if table else None, sets)


def run_restore(policy, script, if_needed=False, missing=()):
    """restore() against `script`: every command of it is run, in order, and nothing else."""
    runner = FakeRunner(script, TOOLS, _restore.NAME, missing)
    status = _restore.restore(runner, policy, if_needed)
    assert runner.ran == [call.expected for call in script]
    return status, runner


def ipset_saved(stdout, rc=0, stderr=''):
    return Call(['/usr/sbin/ipset', 'save'], rc=rc, stdout=stdout, stderr=stderr, binary_data=True)


def ipset_listed(names):
    return Call(['/usr/sbin/ipset', 'list', '-n'], stdout=''.join(name + '\n' for name in names), binary_data=True)


def ipset_restored(data, rc=0, stderr=''):
    return Call(['/usr/sbin/ipset', 'restore'], data=data, rc=rc, stderr=stderr, binary_data=True)


def host_sets(**changes):
    """`ipset save` of a host holding the kept sets (as the kernel prints them: grown hash size, hash
    order) and another tool's set; `changes`: {v4 or v6: entries} in place of the kept ones."""
    found = [ipset.IpSet(s.name, s.family, changes.get(s.name[-2:], s.entries)) for _name, s in sorted(SETS.items())]
    return FOREIGN + saved_by_ipset(found, hashsize=2048, seed=7)


def written_again(family):
    """Without --if-needed a family in place is written again: ours deleted and inserted."""
    return written(family, payload(*deleted(RULES[family]) + inserted(RULES[family])), in_place_on(family))


def created_at_boot(family, rules):
    """A family put back on BOOT: DOCKER-USER created with `rules`, and the jump to it."""
    return written(family, payload(*created(rules)), BOOT.set('FORWARD', [JUMP]).set('DOCKER-USER', rules))


# The kept rules less those that match a set: what is written when the sets are not in place (the
# allowlist's replies guard and DROPs stay, so it denies every source).
CLOSED = dict((family, [line for line in RULES[family] if '--match-set' not in line]) for family in FAMILIES)
LEFT_OUT = ('%s: the ipsets %s are not in place; the rules that match them are left out, so their allowlists and '
            'routed access deny every source until the sets are back')


def closed_again(family):
    """A family in place, written again without the rules that match a set."""
    return written(family, payload(*deleted(RULES[family]) + inserted(CLOSED[family])),
                   DOCKER29[family].set('DOCKER-USER', CLOSED[family]))


def in_place_on(family):
    return DOCKER29[family].set('DOCKER-USER', RULES[family])


def test_the_kept_sets_are_what_the_modules_render():
    assert SetPlan(wanted=SETS).payload() == KEPT_SETS
    assert ' --match-set netops-dfw-ext0-v4 src ' in '\n'.join(RULES['ipv4'])
    assert ' --match-set netops-dfw-ext0-v6 src ' in '\n'.join(RULES['ipv6'])


# ---------------------------------------------------------------------------------------------
# Boot and dockerd restarts


@pytest.mark.parametrize('table', [False, True])
def test_at_boot_the_sets_are_created_before_the_rules_that_match_them(table):
    script = table_put_back() if table else []
    script += [
        ipset_saved(''), ipset_restored(KEPT_SETS),
        saved('ipv4', BOOT), *created_at_boot('ipv4', RULES['ipv4']),
        saved('ipv6', BOOT), *created_at_boot('ipv6', RULES['ipv6']),
    ]
    status, runner = run_restore(kept(table=table), script)
    argv = [call[0][0] for call in runner.ran]
    assert argv.index('/usr/sbin/ipset') < argv.index('/usr/sbin/iptables-nft-save')
    assert runner.ran[argv.index('/usr/sbin/iptables-nft-restore')][1].count('--match-set netops-dfw-ext0-v4 src') == 1
    assert (status, runner.warned) == (0, [])
    assert runner.said == [TABLE_IN_PLACE] * table + [SETS_IN_PLACE, in_place('ipv4'), in_place('ipv6')]


def test_sets_in_place_are_read_and_not_written():
    status, runner = run_restore(kept(), [
        ipset_saved(host_sets()),
        saved('ipv4', in_place_on('ipv4')), *written_again('ipv4'),
        saved('ipv6', in_place_on('ipv6')), *written_again('ipv6'),
    ])
    assert (status, runner.said, runner.warned) == (0, [in_place('ipv4'), in_place('ipv6')], [])


def test_a_set_that_differs_is_filled_aside_and_swapped_for_the_kept_content():
    # An address added by hand to the IPv4 set; the IPv6 one is in place.
    swap = (''.join(line.replace(V4, 'netops-dfw-ext0-t4') for line in V4_LINES)
            + 'swap netops-dfw-ext0-t4 netops-dfw-ext0-v4\ndestroy netops-dfw-ext0-t4\n')
    status, runner = run_restore(kept(), [
        ipset_saved(host_sets(v4=SETS[V4].entries + ['203.0.113.9'])), ipset_restored(swap),
        saved('ipv4', in_place_on('ipv4')), *written_again('ipv4'),
        saved('ipv6', in_place_on('ipv6')), *written_again('ipv6'),
    ])
    assert (status, runner.said, runner.warned) == (0, [SETS_IN_PLACE, in_place('ipv4'), in_place('ipv6')], [])


def test_a_missing_set_is_created_and_a_leftover_staging_set_destroyed_first():
    leftover = saved_by_ipset([ipset.IpSet('netops-dfw-ext0-t6', 'ipv6', ['2001:db8::1'])])
    only_v4 = FOREIGN + saved_by_ipset([SETS[V4]]) + leftover
    status, runner = run_restore(kept(), [
        ipset_saved(only_v4), ipset_restored('destroy netops-dfw-ext0-t6\n' + ''.join(V6_LINES)),
        saved('ipv4', in_place_on('ipv4')), *written_again('ipv4'),
        saved('ipv6', BOOT), *created_at_boot('ipv6', RULES['ipv6']),
    ])
    assert (status, runner.said, runner.warned) == (0, [SETS_IN_PLACE, in_place('ipv4'), in_place('ipv6')], [])


def test_a_set_no_kept_rule_matches_is_left_alone():
    # The restore program only puts the kept sets in place; it destroys nothing.
    other = saved_by_ipset([ipset.IpSet('netops-dfw-old0-v4', 'ipv4', ['203.0.113.7'])])
    status, runner = run_restore(kept(), [
        ipset_saved(host_sets() + other),
        saved('ipv4', in_place_on('ipv4')), *written_again('ipv4'),
        saved('ipv6', in_place_on('ipv6')), *written_again('ipv6'),
    ])
    assert (status, runner.warned) == (0, [])


# ---------------------------------------------------------------------------------------------
# --if-needed (the firewalld watcher): names only


def test_if_needed_creates_only_a_missing_set_from_the_names_alone():
    status, runner = run_restore(kept(), [
        ipset_listed(['f2b-sshd', V6]), ipset_restored(''.join(V4_LINES)),
        saved('ipv4', in_place_on('ipv4')),
        saved('ipv6', in_place_on('ipv6')),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, ['ipsets in place: netops-dfw-ext0-v4'], [])


def test_if_needed_reads_no_set_that_is_there_even_one_changed_by_hand():
    status, runner = run_restore(kept(), [
        ipset_listed([V4, 'f2b-sshd', V6]),
        saved('ipv4', in_place_on('ipv4')),
        saved('ipv6', in_place_on('ipv6')),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [], [])


def test_if_needed_creates_every_set_after_a_flush_and_then_the_rules():
    status, runner = run_restore(kept(), [
        ipset_listed(['f2b-sshd']), ipset_restored(KEPT_SETS),
        saved('ipv4', in_place_on('ipv4')),
        saved('ipv6', DOCKER29['ipv6'].set('DOCKER-USER', [])),
        *written('ipv6', payload(*inserted(RULES['ipv6'])), in_place_on('ipv6')),
    ], if_needed=True)
    assert (status, runner.said, runner.warned) == (0, [SETS_IN_PLACE, in_place('ipv6')], [])


# ---------------------------------------------------------------------------------------------
# Failures: warned, DOCKER-USER still attempted, exit status 1


def test_a_failing_ipset_restore_leaves_the_set_rules_out_so_the_allowlist_denies():
    # ipset restore stops at the first failing line: no set was created, and iptables would refuse a rule
    # that matches a missing set (the whole family, so every published port, would be open).
    ipset_error = 'ipset v7.17: Error in line 1: Kernel error received: Operation not permitted\n'
    status, runner = run_restore(kept(), [
        ipset_saved(''), ipset_restored(KEPT_SETS, rc=1, stderr=ipset_error),
        saved('ipv4', BOOT), *created_at_boot('ipv4', CLOSED['ipv4']),
        saved('ipv6', BOOT), *created_at_boot('ipv6', CLOSED['ipv6']),
    ])
    assert (status, runner.said) == (1, [in_place('ipv4'), in_place('ipv6')])
    assert runner.warned == [
        NOT_IN_PLACE + 'writing the ipsets failed (%s)' % ipset_error.strip(),
        LEFT_OUT % ('ipv4', V4), LEFT_OUT % ('ipv6', V6)]
    assert CLOSED['ipv4'] and all('--match-set' not in line for line in CLOSED['ipv4'])
    assert any(line.endswith('-j DROP') and 'allowlist:ext0' in line for line in CLOSED['ipv4'])


def test_a_failing_ipset_read_writes_the_rules_without_the_set_rules():
    status, runner = run_restore(kept(), [
        ipset_saved('', rc=1, stderr='ipset v7.17: Kernel error received: Operation not permitted\n'),
        saved('ipv4', in_place_on('ipv4')), *closed_again('ipv4'),
        saved('ipv6', in_place_on('ipv6')), *closed_again('ipv6'),
    ])
    assert (status, runner.said) == (1, [in_place('ipv4'), in_place('ipv6')])
    assert runner.warned == [
        NOT_IN_PLACE + 'reading the ipsets failed (ipset v7.17: Kernel error received: Operation not permitted)',
        LEFT_OUT % ('ipv4', V4), LEFT_OUT % ('ipv6', V6)]


@pytest.mark.parametrize('if_needed', [False, True])
def test_without_ipset_the_set_rules_are_left_out(if_needed):
    status, runner = run_restore(kept(), [
        saved('ipv4', in_place_on('ipv4')), *closed_again('ipv4'),
        saved('ipv6', in_place_on('ipv6')), *closed_again('ipv6'),
    ], if_needed=if_needed, missing=('ipset',))
    assert status == 1
    assert runner.warned == [
        NOT_IN_PLACE + 'ipset is not installed: install the ipset package, or keep the sources as plain rules '
        '(source_sets: never)', LEFT_OUT % ('ipv4', V4), LEFT_OUT % ('ipv6', V6)]


def test_once_written_without_the_set_rules_the_watcher_writes_nothing_more():
    closed = dict((family, DOCKER29[family].set('DOCKER-USER', CLOSED[family])) for family in FAMILIES)
    status, runner = run_restore(kept(), [saved('ipv4', closed['ipv4']), saved('ipv6', closed['ipv6'])],
                                 if_needed=True, missing=('ipset',))
    assert status == 1 and runner.said == []


def test_a_kept_sets_file_that_cannot_be_read_runs_no_ipset_and_leaves_the_set_rules_out():
    status, runner = run_restore(kept(sets=KEPT_SETS.replace('192.0.2.20\n', '192.0.2.300\n')), [
        saved('ipv4', in_place_on('ipv4')), *closed_again('ipv4'),
        saved('ipv6', in_place_on('ipv6')), *closed_again('ipv6'),
    ])
    assert (status, runner.said) == (1, [in_place('ipv4'), in_place('ipv6')])
    assert len(runner.warned) == 3 and runner.warned[0].startswith(NOT_IN_PLACE + 'set netops-dfw-ext0-v4: ')


@pytest.mark.parametrize('sets', [None, ''])
def test_rules_that_match_sets_without_kept_sets_run_no_ipset_and_are_left_out(sets):
    status, runner = run_restore(kept(sets=sets), [
        saved('ipv4', BOOT), *created_at_boot('ipv4', CLOSED['ipv4']),
        saved('ipv6', BOOT), *created_at_boot('ipv6', CLOSED['ipv6']),
    ], missing=('ipset',))
    assert (status, runner.warned) == (1, [LEFT_OUT % ('ipv4', V4), LEFT_OUT % ('ipv6', V6)])


def test_rules_without_sets_run_no_ipset():
    plain = declared_blocks([], [{'interface': 'ext0', 'sources': ['198.51.100.0/24'], 'source_sets': 'never'}])
    rules = dict((family, plan_chain([], family, plain, purge=True)) for family in FAMILIES)
    status, runner = run_restore(kept(rules=rules, sets=None), [
        saved('ipv4', BOOT), *created_at_boot('ipv4', rules['ipv4']),
        saved('ipv6', BOOT), *created_at_boot('ipv6', rules['ipv6']),
    ], missing=('ipset',))
    assert (status, runner.warned) == (0, [])


def test_under_docker_s_nftables_backend_kept_sets_are_not_loaded():
    status, runner = run_restore(kept(backend='nftables', table=True), table_put_back())
    assert (status, runner.said, runner.warned) == (0, [TABLE_IN_PLACE], [])


# ---------------------------------------------------------------------------------------------
# main(): docker-user.ipsets among the kept files


class SetsProgram(Program):
    """test_restore's Program on a host that has ipset."""

    def _runner(self, name, environ=None):
        runner = FakeRunner(self.script, TOOLS, name)
        self.runners.append((name, environ, runner))
        return runner


@pytest.fixture
def program(tmp_path, monkeypatch):
    program = SetsProgram(tmp_path, monkeypatch)
    keep(program.dir, 'nft', RULES)
    (program.dir / layout.KEPT_SETS).write_text(KEPT_SETS)
    return program


def test_main_puts_the_kept_sets_in_place_before_docker_user(program):
    status, runner = program.run([], [
        ipset_saved(FOREIGN), ipset_restored(KEPT_SETS),
        saved('ipv4', BOOT), *created_at_boot('ipv4', RULES['ipv4']),
        saved('ipv6', BOOT), *created_at_boot('ipv6', RULES['ipv6']),
    ])
    assert (status, runner.said, runner.warned) == (0, [SETS_IN_PLACE, in_place('ipv4'), in_place('ipv6')], [])


def test_main_with_if_needed_reads_the_names_only(program):
    status, runner = program.run(['--if-needed'], [
        ipset_listed([V4, V6]),
        saved('ipv4', in_place_on('ipv4')),
        saved('ipv6', in_place_on('ipv6')),
    ])
    assert (status, runner.said, runner.warned) == (0, [], [])


def test_a_routed_declaration_whose_set_is_missing_loses_its_returns_and_keeps_the_guard():
    routed = routed_block([{'interface': 'wg0', 'sources': ['10.8.0.1'], 'source_sets': 'always'},
                           {'interface': 'lan0'}])
    runner = FakeRunner([], TOOLS, _restore.NAME)
    kept_lines = _restore.without_missing_sets(routed.rules['ipv4'], set(), 'ipv4', runner)
    assert kept_lines == [line for line in routed.rules['ipv4'] if 'netops-dfwr-wg0-v4' not in line]
    assert kept_lines[-2:] == routed.rules['ipv4'][-2:] and kept_lines[-1].endswith('-j DROP')
    assert runner.warned == [LEFT_OUT % ('ipv4', 'netops-dfwr-wg0-v4')]
