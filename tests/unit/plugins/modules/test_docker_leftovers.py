# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_leftovers: the exact commands it issues on Docker's leftovers beside kube-proxy (both
iptables variants, both families, Docker 29's nftables tables), its refusal while Docker would write
them again, check mode and diff, and a read back that still shows them."""

import json
import os

import pytest

from fake_runner import Call, Tool
from plugins.module_utils.kube_node import kube
from plugins.module_utils.test_docker_leftovers import restored
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _docker_host as docker_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.modules import docker_leftovers

SAVE = dict((key, ['/usr/sbin/%s-%s-save' % key]) for key in
            [('iptables', 'nft'), ('ip6tables', 'nft'), ('iptables', 'legacy'), ('ip6tables', 'legacy')])
NFT_TABLES = ['/usr/sbin/nft', 'list', 'tables']
DOCKERD = ['/usr/sbin/dockerd', '--version']
K8S = {'iptables': False, 'ip6tables': False, 'bridge': 'none', 'live-restore': True}
DOCKER26 = kube('leftovers/nftables-node.docker26.iptables-save.txt')
CLEARED26 = kube('leftovers/nftables-node.docker26.cleared.iptables-save.txt')
KUBE_TABLES = 'table ip kube-proxy\ntable ip6 kube-proxy\n'


def restore(tool, backend, payload, test=False):
    return Tool(['/usr/sbin/%s-%s-restore' % (tool, backend), '-w', '10', '--noflush'] + (['--test'] if test else []),
                data=payload)


def written(tool, backend, text, policy='accept'):
    """The test, the write and the read back of one family's plan (the read back: the plan applied)."""
    payload = leftovers.plan_family(text, policy).payload
    after = ''.join('*%s\n%s\nCOMMIT\n' % (table, '\n'.join(
        line + (' [0:0]' if line.startswith(':') else '') for line in lines)) for table, lines in restored(text, payload))
    return [restore(tool, backend, payload, test=True)], [restore(tool, backend, payload)], \
        [Tool(SAVE[(tool, backend)], stdout=after)]


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    """daemon.json with `settings`; dockerd started `started` seconds after it was written (None: not running)."""
    def write(settings=None, started=5):
        path = tmp_path / 'daemon.json'
        path.write_text(json.dumps(K8S if settings is None else settings))
        at = None if started is None else os.stat(str(path)).st_mtime + started
        monkeypatch.setattr(docker_host, 'dockerd_started_at', lambda pidfile: at)
        return str(path)
    return write


def run(run_module, path, commands, **kwargs):
    args = dict(daemon_json=path)
    args.update(kwargs.pop('args', {}))
    return run_module(docker_leftovers.main, args, commands, **kwargs)[0]


def test_docker_26_beside_nftables_mode_kube_proxy(run_module, daemon):
    tests, writes, reads = written('iptables', 'nft', DOCKER26)
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 26.1.5+dfsg1, build a\n')]
    result = run(run_module, daemon(), commands + tests + writes + reads)
    assert result['changed'] is True and result['refused'] is None and result['nftables'] == []
    assert result['cleared']['nft']['ipv4']['forward_policy'] == 'DROP -> ACCEPT'
    assert len(result['cleared']['nft']['ipv4']['rules']) == 9 and len(result['cleared']['nft']['ipv4']['chains']) == 5
    assert result['commands'] == [writes[0].argv]
    assert any('set back to ACCEPT' in w['event']['msg'] for w in result['warnings'])


def test_both_variants_and_both_families(run_module, daemon):
    v6 = kube('leftovers/nftables-node.docker28.ip6tables-save.txt')
    legacy = kube('leftovers/nftables-node.docker20-legacy.legacy-save.txt')
    plans = [written('iptables', 'legacy', legacy), written('iptables', 'nft', DOCKER26),
             written('ip6tables', 'nft', v6)]  # by backend, then family
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')], stdout=v6),
                Tool(SAVE[('iptables', 'legacy')], stdout=legacy), Tool(SAVE[('ip6tables', 'legacy')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 28.5.2, build 1\n')]
    # Every family tested before the first write, each written once, then each read back.
    commands += [c for plan in plans for c in plan[0]] + [c for plan in plans for c in plan[1]]
    commands += [c for plan in plans for c in plan[2]]
    result = run(run_module, daemon(), commands, legacy_tables=True)
    assert sorted((b, f) for b, families in result['cleared'].items() for f in families) == [
        ('legacy', 'ipv4'), ('nft', 'ipv4'), ('nft', 'ipv6')]
    assert [c[0] for c in result['commands']] == [
        '/usr/sbin/iptables-legacy-restore', '/usr/sbin/iptables-nft-restore', '/usr/sbin/ip6tables-nft-restore']


def test_docker_29_s_nftables_tables(run_module, daemon):
    v4 = kube('leftovers/nftables-node.docker29-nftables.iptables-save.txt')
    tests, writes, reads = written('iptables', 'nft', v4)
    tables = 'table ip filter\ntable ip docker-bridges\ntable ip6 docker-bridges\n' + KUBE_TABLES
    delete = dict((name, 'delete table %s\n' % name) for name in ('ip docker-bridges', 'ip6 docker-bridges'))
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=v4), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=tables), Call(DOCKERD, stdout='Docker version 29.7.2, build 1\n')]
    commands += tests + [Tool(['/usr/sbin/nft', '-c', '-f', '-'], data=delete[name]) for name in sorted(delete)]
    commands += writes + [Tool(['/usr/sbin/nft', '-f', '-'], data=delete[name]) for name in sorted(delete)]
    commands += reads + [Tool(NFT_TABLES, stdout='table ip filter\n' + KUBE_TABLES)]
    result = run(run_module, daemon(), commands)
    assert result['nftables'] == ['ip docker-bridges', 'ip6 docker-bridges']
    assert result['cleared']['nft']['ipv4']['chains'] == ['filter DOCKER-USER']


@pytest.mark.parametrize('settings, started, reason', [
    ({'iptables': True}, 5, 'daemon.json does not say "iptables": false'),
    (K8S, -5, 'dockerd runs since before daemon.json last changed'),
])
def test_refuses_while_docker_would_write_them_again(run_module, daemon, settings, started, reason):
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 28.5.2, build 1\n')]
    result = run(run_module, daemon(settings, started), commands)
    assert result['failed'] is True and result['changed'] is False
    assert reason in result['msg'] and result['msg'].endswith('nothing was changed')


def test_check_mode_and_diff_show_what_would_go_and_change_nothing(run_module, daemon):
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 26.1.5, build 1\n')]
    result = run(run_module, daemon({'iptables': True}), commands, check_mode=True, diff=True)
    assert result['changed'] is True and result['commands'] == []
    assert 'daemon.json does not say "iptables": false' in result['refused']
    assert any(w['event']['msg'].startswith('a real run would refuse now') for w in result['warnings'])
    before = result['diff']['before'].splitlines()
    assert before[:5] == ['# ipv4 (nft)', '*filter', ':FORWARD DROP [0:0]', ':DOCKER - [0:0]',
                          ':DOCKER-ISOLATION-STAGE-1 - [0:0]']
    assert len([line for line in before if line.startswith('-A ')]) == 15  # every rule Docker left
    assert result['diff']['after'] == '# ipv4 (nft)\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'


def test_nothing_left_nothing_done(run_module, daemon):
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=CLEARED26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES)]
    result = run(run_module, daemon({}), commands)  # not even daemon.json is read: nothing to refuse
    assert (result['changed'], result['cleared'], result['refused']) == (False, {}, None)


def test_a_read_back_that_still_shows_them_fails(run_module, daemon):
    tests, writes, _reads = written('iptables', 'nft', DOCKER26)
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 26.1.5, build 1\n')]
    commands += tests + writes + [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26)]
    result = run(run_module, daemon(), commands)
    assert result['failed'] is True and result['changed'] is True
    assert 'read back after the write' in result['msg']


def test_a_failed_dry_run_writes_nothing(run_module, daemon):
    payload = leftovers.plan_family(DOCKER26).payload
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 26.1.5, build 1\n'),
                Tool(restore('iptables', 'nft', payload, test=True).argv, rc=2, stderr='line 4 failed', data=payload)]
    result = run(run_module, daemon(), commands)
    assert result['failed'] is True and 'nothing was changed' in result['msg'] and result['stderr'] == 'line 4 failed'


def test_keep_leaves_the_forward_policy(run_module, daemon):
    tests, writes, reads = written('iptables', 'nft', DOCKER26, policy='keep')
    commands = [Tool(SAVE[('iptables', 'nft')], stdout=DOCKER26), Tool(SAVE[('ip6tables', 'nft')]),
                Tool(NFT_TABLES, stdout=KUBE_TABLES), Call(DOCKERD, stdout='Docker version 26.1.5, build 1\n')]
    result = run(run_module, daemon(), commands + tests + writes + reads, args=dict(forward_policy='keep'))
    assert result['cleared']['nft']['ipv4']['forward_policy'] is None and ':FORWARD' not in tests[0].data
