# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The restore script the docker_on_router role installs (netops-docker-user-restore), run as it is
against stand-ins for iptables, ip6tables, nft and systemctl. Each test gives the stand-ins what
`-S` prints and what they answer, and asserts every command the script ran, in order, the exact
payload each `*-restore --noflush` was fed, and the exit status. Nothing on the host is read or
written: the kept files and the lock live in the test's directory (NETOPS_DOCKER_FIREWALL_DIR,
NETOPS_DOCKER_FIREWALL_LOCK), and the script's PATH holds only the stand-ins and the tools it uses."""

import collections
import copy
import fcntl
import os
import shutil
import subprocess
import time

import pytest

from conftest import FIXTURES, ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils import _docker_user as engine
from ansible_collections.netops.docker_firewall.plugins.module_utils import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._rules import parse_save

SCRIPT = os.path.join(ROOT, 'roles', 'docker_on_router', 'files', 'netops-docker-user-restore')
# The real tools the script (and the stand-in) uses besides sh's builtins; nothing else is on PATH.
TOOLS = ('cat', 'flock', 'grep', 'sed', 'awk', 'head', 'seq', 'printf')
STANDINS = tuple('%s-%s%s' % (command, backend, suffix) for command in ('iptables', 'ip6tables')
                 for backend in ('nft', 'legacy') for suffix in ('', '-restore')) + ('nft', 'systemctl')
# One stand-in for all of them (called by its link's name): records its command line and what an
# *-restore is fed, then answers as the test scripted for that exact command line. An *-restore
# succeeds unless scripted; any other command nobody scripted fails.
STANDIN = r'''#!/bin/sh
state=@STATE@
call="${0##*/} $*"
printf '%s\n' "$call" >> "$state/calls"
case ${0##*/} in *-restore) cat > "$state/stdin.$(grep -c '' "$state/calls")" ;; esac
for answer in "$state"/answers/*; do
    if [ -f "$answer/argv" ] && [ "$(cat "$answer/argv")" = "$call" ]; then
        cat "$answer/stdout"
        exit "$(cat "$answer/rc")"
    fi
done
case ${0##*/} in *-restore) exit 0 ;; esac
echo "stand-in: nothing scripted for: $call" >&2
exit 127
'''

TABLE = 'inet netops-docker-firewall'
LIST_TABLE = 'nft list table ' + TABLE
IS_ACTIVE = 'systemctl is-active --quiet docker.service'
COMMAND = dict(ipv4='iptables', ipv6='ip6tables')

Run = collections.namedtuple('Run', 'rc out err calls')


class Filter:
    """The filter table as `iptables -S` prints it: policies and chains, then each chain's rules."""

    def __init__(self, save_text):
        table = parse_save(save_text)['filter']
        self.chains = [[name, policy, [rule.line for rule in table.chain_rules(name)]]
                       for name, policy in table.chains.items()]

    def rules(self, chain):
        return [rules for name, _policy, rules in self.chains if name == chain][0]

    def set(self, chain, rules):
        """A copy with `chain` holding `rules` (the chain created when missing)."""
        other = copy.deepcopy(self)
        if chain not in [name for name, _policy, _rules in other.chains]:
            other.chains.append([chain, '-', []])
        other.rules(chain)[:] = rules
        return other

    def without(self, chain):
        other = copy.deepcopy(self)
        other.chains = [entry for entry in other.chains if entry[0] != chain]
        return other

    def listing(self):
        lines = ['-N %s' % name if policy == '-' else '-P %s %s' % (name, policy) for name, policy, _rules in self.chains]
        lines.extend(rule for _name, _policy, rules in self.chains for rule in rules)
        return '\n'.join(lines) + '\n'


def capture(suite, name):
    with open(os.path.join(FIXTURES, 'docker-iptables', suite, name)) as handle:
        return Filter(handle.read())


# Before dockerd: the built-in chains only.
BOOT = Filter('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
# The bookworm capture: FORWARD jumps to DOCKER-USER, then to Docker's DOCKER-ISOLATION-STAGE-1;
# DOCKER-USER holds rules of others.
ISOLATION = capture('bookworm', 'q4a-after-restart.iptables-save.txt')
JUMP = '-A FORWARD -j DOCKER-USER'
# Docker re-inserts its isolation jump above the jump to DOCKER-USER when it follows a firewalld reload.
ISOLATION_FIRST = ISOLATION.set('FORWARD', ISOLATION.rules('FORWARD')[1:2] + [JUMP] + ISOLATION.rules('FORWARD')[2:])
# The Docker 29 captures: FORWARD jumps to DOCKER-USER, then to DOCKER-FORWARD; DOCKER-USER is empty.
DOCKER29 = {'ipv4': capture('docker29', 'q4a-after-restart.iptables-save.txt'),
            'ipv6': capture('docker29', 'q4a-after-restart.ip6tables-save.txt')}

# The kept rules, as the role keeps them: the engine's chain for the declaration, ours only.
DECLARED = engine.declared_blocks([{'in_interface': 'int0', 'out_interface': 'ext0'}],
                                  [{'interface': 'ext0', 'sources': ['198.51.100.0/24', '2001:db8:10::/48'],
                                    'ports': [443]}])
OURS = dict((family, engine.plan_chain([], family, DECLARED, purge=True)) for family in engine.FAMILIES)
# An earlier declaration of ours: another allowlist, and a pair since removed.
EARLIER = engine.declared_blocks([{'in_interface': 'int0', 'out_interface': 'ext0'},
                                  {'in_interface': 'int1', 'out_interface': 'ext0'}],
                                 [{'interface': 'ext0', 'sources': ['203.0.113.0/24']}])
STALE = dict((family, engine.plan_chain([], family, EARLIER, purge=True)) for family in engine.FAMILIES)
OTHERS = ISOLATION.rules('DOCKER-USER')


def payload(*lines):
    return '\n'.join(('*filter',) + lines + ('COMMIT',)) + '\n'


def inserted(rules):
    """Kept rules as they are put at the top of DOCKER-USER: 1..n, in their order."""
    return tuple('-I DOCKER-USER %d %s' % (position, rule[len('-A DOCKER-USER '):])
                 for position, rule in enumerate(rules, 1))


def deleted(rules):
    return tuple('-D' + rule[2:] for rule in rules)


def in_place(family, backend='nft'):
    return 'netops-docker-user: %s DOCKER-USER rules in place (%s)\n' % (family, backend)


class Host:
    """A host as the script sees it: the kept files, the stand-ins' answers, and what was run."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / 'kept'
        self.lock = tmp_path / 'run' / 'netops-docker-user.lock'
        self.state = tmp_path / 'state'
        self.answers = 0
        for directory in (self.dir, self.lock.parent, self.state / 'answers', tmp_path / 'bin', tmp_path / 'tools'):
            directory.mkdir(parents=True)
        standin = self.state / 'standin'
        standin.write_text(STANDIN.replace('@STATE@', str(self.state)))
        standin.chmod(0o755)
        for name in STANDINS:
            os.symlink(str(standin), str(tmp_path / 'bin' / name))
        for name in TOOLS:
            found = shutil.which(name)
            assert found, '%s is needed to run the restore script' % name
            os.symlink(found, str(tmp_path / 'tools' / name))
        self.path = '%s:%s' % (tmp_path / 'bin', tmp_path / 'tools')
        self.load = 'nft -f %s' % (self.dir / layout.KEPT_TABLE)

    def keep(self, backend='nft', rules=None, table=False):
        """The kept files: the backend, rule files of the families in `rules`, the nftables table."""
        (self.dir / layout.KEPT_BACKEND).write_text(backend + '\n')
        for family, lines in (rules or {}).items():
            (self.dir / (layout.KEPT_RULES % family)).write_text('\n'.join(lines) + '\n')
        if table:
            (self.dir / layout.KEPT_TABLE).write_text('table %s {\n}\n' % TABLE)

    def answer(self, call, stdout='', rc=0):
        self.answers += 1
        answer = self.state / 'answers' / str(self.answers)
        answer.mkdir()
        (answer / 'argv').write_text(call)
        (answer / 'stdout').write_text(stdout)
        (answer / 'rc').write_text(str(rc))

    def lists(self, family, filter_table, backend='nft'):
        self.answer('%s-%s -w 10 -S' % (COMMAND[family], backend), filter_table.listing())

    def start(self, *args):
        env = {'PATH': self.path, 'LC_ALL': 'C', 'NETOPS_DOCKER_FIREWALL_DIR': str(self.dir),
               'NETOPS_DOCKER_FIREWALL_LOCK': str(self.lock)}
        return subprocess.Popen([SCRIPT] + list(args), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True)

    def calls(self):
        if not (self.state / 'calls').exists():
            return []
        calls = []
        for number, call in enumerate((self.state / 'calls').read_text().splitlines(), 1):
            stdin = self.state / ('stdin.%d' % number)
            calls.append((call, stdin.read_text() if stdin.exists() else None))
        return calls

    def run(self, *args):
        process = self.start(*args)
        out, err = process.communicate(timeout=60)
        return Run(process.returncode, out, err, self.calls())


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def restore(family, backend='nft'):
    return '%s-%s-restore -w 10 --noflush' % (COMMAND[family], backend)


def listed(family, backend='nft'):
    return ('%s-%s -w 10 -S' % (COMMAND[family], backend), None)


# ---------------------------------------------------------------------------------------------
# The script as the role installs it


def test_the_paths_default_to_the_host_layout():
    with open(SCRIPT) as handle:
        text = handle.read()
    assert 'dir=${NETOPS_DOCKER_FIREWALL_DIR:-%s}\n' % layout.STATE_DIR in text
    assert 'exec 9>"${NETOPS_DOCKER_FIREWALL_LOCK:-/run/netops-docker-user.lock}"\n' in text
    for name in (layout.KEPT_BACKEND, layout.KEPT_TABLE, layout.KEPT_RULES % '$family'):
        assert '"$dir/%s"' % name in text


# ---------------------------------------------------------------------------------------------
# Boot and dockerd restarts: every kept family is written


@pytest.mark.parametrize('backend', ['nft', 'legacy'])
def test_at_boot_the_chain_is_created_with_the_jump_and_our_rules_in_both_families(host, backend):
    host.keep(backend, OURS)
    host.lists('ipv4', BOOT, backend)
    host.lists('ipv6', BOOT, backend)
    run = host.run()
    created = (':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER')
    assert run.calls == [listed('ipv4', backend), (restore('ipv4', backend), payload(*created + inserted(OURS['ipv4']))),
                         listed('ipv6', backend), (restore('ipv6', backend), payload(*created + inserted(OURS['ipv6'])))]
    assert run.calls[1][1].splitlines()[3] == ('-I DOCKER-USER 1 -i int0 -o ext0 -m comment --comment '
                                               '"netops.docker_firewall/accept:int0:ext0" -j ACCEPT')
    assert (run.rc, run.out, run.err) == (0, in_place('ipv4', backend) + in_place('ipv6', backend), '')
    assert host.lock.exists()


def test_at_boot_only_the_kept_family_is_written(host):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', BOOT)
    run = host.run()
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload(':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER',
                                                                   *inserted(OURS['ipv4'])))]
    assert (run.rc, run.out) == (0, in_place('ipv4'))


def test_ours_are_deleted_as_read_and_inserted_at_the_top_and_others_rules_stay(host):
    # A stale copy of ours at the top, and one of its rules below a rule another tool inserted.
    user = STALE['ipv4'][:-1] + OTHERS[:1] + STALE['ipv4'][-1:] + OTHERS[1:]
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', ISOLATION.set('DOCKER-USER', user))
    run = host.run()
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload(*deleted(STALE['ipv4']) + inserted(OURS['ipv4'])))]
    assert not any(rule[3:] in run.calls[1][1] for rule in OTHERS)
    assert (run.rc, run.out) == (0, in_place('ipv4'))


def test_a_kept_family_without_rules_deletes_ours(host):
    host.keep('nft', {'ipv4': []})
    host.lists('ipv4', ISOLATION.set('DOCKER-USER', STALE['ipv4'] + OTHERS))
    run = host.run()
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload(*deleted(STALE['ipv4'])))]
    assert run.rc == 0


@pytest.mark.parametrize('forward, deletes', [
    pytest.param([JUMP, '-A FORWARD -j DOCKER-FORWARD', JUMP], 2, id='two-jumps'),
    pytest.param(['-A FORWARD -j DOCKER-FORWARD', JUMP], 1, id='DOCKER-FORWARD-above'),
    pytest.param(['-A FORWARD -j DOCKER-FORWARD'], 0, id='no-jump'),
])
def test_every_jump_is_deleted_and_one_inserted_first_in_the_same_payload(host, forward, deletes):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', DOCKER29['ipv4'].set('FORWARD', forward).set('DOCKER-USER', OURS['ipv4']))
    run = host.run()
    jumps = ('-D FORWARD -j DOCKER-USER',) * deletes + ('-I FORWARD 1 -j DOCKER-USER',)
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload(*jumps + deleted(OURS['ipv4']) + inserted(OURS['ipv4'])))]
    assert run.rc == 0


def test_without_if_needed_the_jump_is_put_above_docker_s_isolation_jump(host):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', ISOLATION_FIRST.set('DOCKER-USER', OURS['ipv4'] + OTHERS))
    run = host.run()
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload('-D FORWARD -j DOCKER-USER', '-I FORWARD 1 -j DOCKER-USER',
                                                                   *deleted(OURS['ipv4']) + inserted(OURS['ipv4'])))]


def test_a_failed_read_writes_nothing(host):
    host.keep('nft', OURS)
    host.answer('iptables-nft -w 10 -S', rc=4)
    run = host.run()
    assert run.calls == [listed('ipv4')]
    assert run.rc == 4


def test_a_failed_restore_fails_the_script(host):
    host.keep('nft', OURS)
    host.lists('ipv4', BOOT)
    host.answer(restore('ipv4'), rc=1)
    run = host.run()
    assert [call for call, _stdin in run.calls] == ['iptables-nft -w 10 -S', restore('ipv4')]
    assert (run.rc, run.out) == (1, '')


# ---------------------------------------------------------------------------------------------
# --if-needed (the firewalld watcher): only a family out of place is written


@pytest.mark.parametrize('ipv4', [pytest.param(DOCKER29['ipv4'], id='ours-first-one-jump-first'),
                                  pytest.param(ISOLATION_FIRST, id='docker-isolation-jump-above')])
def test_if_needed_writes_nothing_when_everything_is_in_place(host, ipv4):
    host.keep('nft', OURS)
    host.lists('ipv4', ipv4.set('DOCKER-USER', OURS['ipv4'] + OTHERS))
    host.lists('ipv6', DOCKER29['ipv6'].set('DOCKER-USER', OURS['ipv6']))
    run = host.run('--if-needed')
    assert run.calls == [listed('ipv4'), listed('ipv6')]
    assert (run.rc, run.out, run.err) == (0, '', '')


def test_if_needed_writes_when_docker_forward_is_above_the_jump(host):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', DOCKER29['ipv4'].set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD', JUMP]).set('DOCKER-USER', OURS['ipv4']))
    run = host.run('--if-needed')
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload('-D FORWARD -j DOCKER-USER', '-I FORWARD 1 -j DOCKER-USER',
                                                                   *deleted(OURS['ipv4']) + inserted(OURS['ipv4'])))]
    assert (run.rc, run.out) == (0, in_place('ipv4'))


@pytest.mark.parametrize('user, ours_read', [
    pytest.param(OTHERS[:1] + OURS['ipv4'], OURS['ipv4'], id='a-rule-of-others-above-ours'),
    pytest.param(STALE['ipv4'] + OTHERS, STALE['ipv4'], id='a-stale-copy-of-ours'),
    pytest.param(OURS['ipv4'][:-1] + OTHERS, OURS['ipv4'][:-1], id='one-of-ours-missing'),
    pytest.param(OTHERS, [], id='none-of-ours'),
])
def test_if_needed_writes_when_ours_are_not_the_first_rules(host, user, ours_read):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', user))
    run = host.run('--if-needed')
    assert run.calls == [listed('ipv4'), (restore('ipv4'), payload(*deleted(ours_read) + inserted(OURS['ipv4'])))]


def test_if_needed_leaves_a_missing_chain_to_a_starting_dockerd(host):
    host.keep('nft', OURS)
    host.lists('ipv4', BOOT)
    host.lists('ipv6', BOOT)
    host.answer(IS_ACTIVE, rc=3)
    run = host.run('--if-needed')
    assert run.calls == [listed('ipv4'), (IS_ACTIVE, None), listed('ipv6'), (IS_ACTIVE, None)]
    assert (run.rc, run.out) == (0, '')


def test_if_needed_creates_a_missing_chain_when_dockerd_runs(host):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    # After a firewalld flush Docker put its own chains back, not DOCKER-USER nor the jump to it.
    host.lists('ipv4', DOCKER29['ipv4'].without('DOCKER-USER').set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD']))
    host.answer(IS_ACTIVE)
    run = host.run('--if-needed')
    assert run.calls == [listed('ipv4'), (IS_ACTIVE, None),
                         (restore('ipv4'), payload(':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER',
                                                   *inserted(OURS['ipv4'])))]
    assert (run.rc, run.out) == (0, in_place('ipv4'))


# ---------------------------------------------------------------------------------------------
# The kept nftables table (the backstop; the policy itself under Docker's nftables backend)


def test_the_table_is_loaded_before_any_iptables_call(host):
    host.keep('nft', OURS, table=True)
    host.answer(host.load)
    host.lists('ipv4', BOOT)
    host.lists('ipv6', BOOT)
    run = host.run()
    created = (':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER')
    assert run.calls == [(host.load, None),
                         listed('ipv4'), (restore('ipv4'), payload(*created + inserted(OURS['ipv4']))),
                         listed('ipv6'), (restore('ipv6'), payload(*created + inserted(OURS['ipv6'])))]
    commands = [call.split()[0] for call, _stdin in run.calls]
    assert commands.index('nft') < min(commands.index(name) for name in commands if name.startswith(('iptables', 'ip6tables')))
    assert (run.rc, run.err) == (0, '')
    assert run.out == ('netops-docker-user: nftables table %s in place\n' % TABLE) + in_place('ipv4') + in_place('ipv6')


@pytest.mark.parametrize('listed_rc, loads', [pytest.param(0, False, id='table-there'),
                                              pytest.param(1, True, id='table-gone')])
def test_if_needed_loads_the_table_only_when_it_is_gone(host, listed_rc, loads):
    host.keep('nft', OURS, table=True)
    host.answer(LIST_TABLE, 'table %s {\n}\n' % TABLE if listed_rc == 0 else '', rc=listed_rc)
    host.answer(host.load)
    host.lists('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4']))
    host.lists('ipv6', DOCKER29['ipv6'].set('DOCKER-USER', OURS['ipv6']))
    run = host.run('--if-needed')
    assert run.calls == [(LIST_TABLE, None)] + [(host.load, None)] * loads + [listed('ipv4'), listed('ipv6')]
    assert (run.rc, run.out) == (0, 'netops-docker-user: nftables table %s in place\n' % TABLE if loads else '')


def test_a_table_that_fails_to_load_does_not_keep_docker_user_from_being_restored(host):
    host.keep('nft', {'ipv4': OURS['ipv4']}, table=True)
    host.answer(host.load, rc=1)
    host.lists('ipv4', DOCKER29['ipv4'])
    run = host.run()
    assert run.calls == [(host.load, None), listed('ipv4'), (restore('ipv4'), payload(*inserted(OURS['ipv4'])))]
    assert (run.rc, run.out) == (1, in_place('ipv4'))
    assert run.err == 'netops-docker-user: the nftables table %s could not be loaded\n' % TABLE


@pytest.mark.parametrize('load_rc', [0, 1])
def test_under_docker_s_nftables_backend_only_the_table_is_loaded(host, load_rc):
    # Rule files left from the iptables backend are not read: iptables is not called at all.
    host.keep('nftables', OURS, table=True)
    host.answer(host.load, rc=load_rc)
    run = host.run()
    assert run.calls == [(host.load, None)]
    assert run.rc == load_rc


def test_under_docker_s_nftables_backend_if_needed_only_checks_the_table(host):
    host.keep('nftables', table=True)
    host.answer(LIST_TABLE, 'table %s {\n}\n' % TABLE)
    run = host.run('--if-needed')
    assert run.calls == [(LIST_TABLE, None)]
    assert (run.rc, run.out) == (0, '')


# ---------------------------------------------------------------------------------------------
# Runs are serialised


def test_a_run_waits_for_the_lock(host):
    host.keep('nft', {'ipv4': OURS['ipv4']})
    host.lists('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4']))
    with open(str(host.lock), 'w') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        process = host.start('--if-needed')
        time.sleep(0.5)
        assert process.poll() is None and host.calls() == []
    out, _err = process.communicate(timeout=60)
    assert (process.returncode, out, host.calls()) == (0, '', [listed('ipv4')])
