# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker's leftovers and the plan that removes them (_docker_leftovers), on Docker's captures beside
kube-proxy's rules (tests/unit/fixtures/kube-proxy/leftovers), both iptables variants, both families.
The payloads are applied by a model of `iptables-restore --noflush` (the lines it takes: a policy, -D,
-F, -X) to show that every line that is not Docker's stays as it was, in its place."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captures import fixture, fixtures
from plugins.module_utils.kube_node import kube
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import docker_rules

DOCKER26 = kube('leftovers/nftables-node.docker26.iptables-save.txt')


def restored(save_text, payload):
    """`save_text` after `iptables-restore --noflush` of `payload`, as [(table, [lines])]: chain
    declarations (policies) and rules in order. Fails as restore does on a -D without its rule, or a
    -X of a chain that holds rules or is jumped to."""
    tables, order, table = {}, [], None
    for line in save_text.splitlines():
        if line.startswith('*'):
            table = tables.setdefault(line[1:], {'chains': {}, 'rules': []})
            order += [line[1:]] if line[1:] not in order else []
        elif line.startswith(':'):
            name, policy = line[1:].split()[:2]
            table['chains'][name] = policy
        elif line.startswith('-A '):
            table['rules'].append(line)
    for line in payload.splitlines():
        if line.startswith('*'):
            table = tables[line[1:]]
        elif line.startswith(':'):
            name, policy = line[1:].split()[:2]
            assert policy != '-', 'a user chain declared: --noflush would flush it'
            table['chains'][name] = policy
        elif line.startswith('-D '):
            table['rules'].remove('-A ' + line[3:])  # ValueError: no such rule
        elif line.startswith('-F '):
            table['rules'] = [rule for rule in table['rules'] if rule.split()[1] != line[3:]]
        elif line.startswith('-X '):
            chain = line[3:]
            assert not any(rule.split()[1] == chain or rule.endswith(' -j ' + chain) for rule in table['rules']), line
            del table['chains'][chain]
    return [(name, [':%s %s' % item for item in tables[name]['chains'].items()] + tables[name]['rules'])
            for name in order]


def rules_of(state):
    return [(table, line) for table, lines in state for line in lines if line.startswith('-A ')]


def without_comments(text):
    return '\n'.join(line for line in text.splitlines() if not line.startswith('#')) + '\n'


class TestPlans:
    def test_docker_26_beside_nftables_mode_kube_proxy(self):
        plan = leftovers.plan_family(DOCKER26)
        assert plan.payload == '\n'.join([
            '*filter', ':FORWARD ACCEPT [0:0]',
            '-D FORWARD -j DOCKER-USER', '-D FORWARD -j DOCKER-ISOLATION-STAGE-1',
            '-D FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-D FORWARD -o docker0 -j DOCKER',
            '-D FORWARD -i docker0 ! -o docker0 -j ACCEPT', '-D FORWARD -i docker0 -o docker0 -j ACCEPT',
            '-F DOCKER', '-F DOCKER-ISOLATION-STAGE-1', '-F DOCKER-ISOLATION-STAGE-2', '-F DOCKER-USER',
            '-X DOCKER', '-X DOCKER-ISOLATION-STAGE-1', '-X DOCKER-ISOLATION-STAGE-2', '-X DOCKER-USER', 'COMMIT',
            '*nat',
            '-D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
            '-D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
            '-D POSTROUTING -s 172.18.0.0/16 ! -o docker0 -j MASQUERADE', '-F DOCKER', '-X DOCKER', 'COMMIT', ''])
        # The 15 rules Docker left (the lab's trixie host) all go; kubelet's chains stay.
        state = restored(DOCKER26, plan.payload)
        assert rules_of(state) == []
        assert ('filter', [':INPUT ACCEPT', ':FORWARD ACCEPT', ':OUTPUT ACCEPT', ':KUBE-KUBELET-CANARY -']) in state
        cleared = kube('leftovers/nftables-node.docker26.cleared.iptables-save.txt')  # iptables-nft-restore's result
        assert restored(cleared, '') == state

    def test_docker_28_s_ipv6_side(self):
        plan = leftovers.plan_family(kube('leftovers/nftables-node.docker28.ip6tables-save.txt'))
        assert plan.summary() == dict(
            chains=['filter DOCKER', 'filter DOCKER-BRIDGE', 'filter DOCKER-CT', 'filter DOCKER-FORWARD',
                    'filter DOCKER-ISOLATION-STAGE-1', 'filter DOCKER-ISOLATION-STAGE-2', 'filter DOCKER-USER',
                    'nat DOCKER'],
            rules=['-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD',
                   '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
                   '-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER'],
            kept=[], forward_policy=None)  # Docker 28 left the IPv6 FORWARD policy at ACCEPT

    def test_iptables_legacy_with_a_published_container(self):
        text = kube('leftovers/nftables-node.docker20-legacy.legacy-save.txt')
        plan = leftovers.plan_family(text)
        assert set(plan.summary()['rules']) >= set([
            '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
            '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
            '-A POSTROUTING -s 198.51.100.64/26 ! -o docker0 -j MASQUERADE',
            '-A POSTROUTING -s 198.51.100.66/32 -d 198.51.100.66/32 -p tcp -m tcp --dport 80 -j MASQUERADE'])
        assert plan.summary()['forward_policy'] is None  # 20.10 found forwarding on: no DROP
        assert rules_of(restored(text, plan.payload)) == []

    def test_beside_kube_proxy_in_iptables_mode_only_docker_s_go(self):
        for name in ('iptables-node.docker26.iptables-save.txt', 'iptables-node.docker26.legacy-save.txt'):
            text = kube('leftovers/' + name)
            after = [line for _table, line in rules_of(restored(text, leftovers.plan_family(text).payload))]
            assert len([line for line in after if 'KUBE-' in line]) == 36
            assert after == [line for line in text.splitlines() if line.startswith('-A ') and 'DOCKER' not in line
                             and 'docker0' not in line]
            assert '-A INPUT -s 198.51.100.99/32 -p tcp -m tcp --dport 22 -m comment --comment "another tool: keep" ' \
                   '-j DROP' in after

    def test_docker_29_s_nftables_backend_left_its_drop_and_docker_user(self):
        plan = leftovers.plan_family(kube('leftovers/nftables-node.docker29-nftables.iptables-save.txt'))
        assert plan.payload == ('*filter\n:FORWARD ACCEPT [0:0]\n-D FORWARD -j DOCKER-USER\n-F DOCKER-USER\n'
                                '-X DOCKER-USER\nCOMMIT\n')
        tables = fixture('kube-proxy', 'nftables.nft-list-tables.txt').replace(
            'table ip kube-proxy', 'table ip docker-bridges\ntable ip6 docker-bridges\ntable ip kube-proxy')
        from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._nft import table_names
        assert leftovers.plan_nft(table_names(tables)) == (
            ['ip docker-bridges', 'ip6 docker-bridges'], 'delete table ip docker-bridges\ndelete table ip6 docker-bridges\n')
        assert leftovers.plan_nft(['ip kube-proxy', 'ip6 kube-proxy']) == ([], '')

    def test_keep_leaves_the_policy(self):
        plan = leftovers.plan_family(DOCKER26, forward_policy='keep')
        assert ':FORWARD' not in plan.payload and plan.summary()['forward_policy'] is None

    def test_a_drop_policy_where_docker_left_nothing_is_not_docker_s(self):
        text = '*filter\n:FORWARD DROP [0:0]\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n'
        plan = leftovers.plan_family(text)
        assert (plan.tables, plan.payload) == ([], '')

    def test_docker_user_with_rules_of_others_is_kept_with_its_jump(self):
        text = fixture('docker-iptables', 'trixie', 'q4a-after-restart.iptables-save.txt')
        plan = leftovers.plan_family(text)
        assert plan.summary()['kept'] == ['filter DOCKER-USER: holds a rule of another tool: -A DOCKER-USER -s '
                                          '203.0.113.200/32 -p tcp -m tcp --dport 9999 -m comment --comment test -j DROP']
        after = [line for _table, line in rules_of(restored(text, plan.payload))]
        assert after == ['-A FORWARD -j DOCKER-USER',
                         '-A FORWARD -s 203.0.113.201/32 -m comment --comment user-forward-top -j DROP',
                         '-A DOCKER-USER -s 203.0.113.200/32 -p tcp -m tcp --dport 9999 -m comment --comment test -j DROP',
                         '-A DOCKER-USER ! -s 198.51.100.0/24 -i eth0 -j DROP', '-A DOCKER-USER -j RETURN']

    def test_a_docker_chain_another_tool_uses_is_kept_with_what_it_jumps_to(self):
        text = with_rules(fixture('docker-iptables', 'sid', 'q2-published-default.iptables-save.txt'), [
            ('filter', 'DOCKER-CT', '-A DOCKER-CT -s 198.51.100.9/32 -m comment --comment "by hand" -j ACCEPT'),
            ('filter', 'OTHER-TOOL', '-A OTHER-TOOL -j DOCKER-BRIDGE')])
        plan = leftovers.plan_family(text)
        kept = plan.summary()['kept']
        assert [item.split(':')[0] for item in kept] == ['filter DOCKER', 'filter DOCKER-BRIDGE', 'filter DOCKER-CT']
        assert 'another tool jumps to it: -A OTHER-TOOL -j DOCKER-BRIDGE' in kept[1]
        assert 'a kept chain (DOCKER-BRIDGE) jumps to it' in kept[0]
        state = restored(text, plan.payload)  # no -X of a chain still jumped to
        assert ('filter', '-A OTHER-TOOL -j DOCKER-BRIDGE') in rules_of(state)


# --- every line that is not Docker's stays, byte for byte and in its place -----------------------

CAPTURES = sorted(fixtures('docker-iptables', '*', '*-save.txt') + fixtures('kube-proxy', 'leftovers', '*-save.txt'))
OTHERS = [
    ('filter', 'FORWARD', '-A FORWARD -s 198.51.100.99/32 -m comment --comment "another tool" -j DROP'),
    ('filter', 'FORWARD', '-A FORWARD -i docker0 -m comment --comment "names docker0, but says whose" -j ACCEPT'),
    ('filter', 'INPUT', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT'),
    ('nat', 'POSTROUTING', '-A POSTROUTING -s 198.51.100.224/28 -o eth0 -j MASQUERADE'),
    ('filter', 'DOCKER-USER', '-A DOCKER-USER -s 198.51.100.7/32 -m comment --comment "netops.docker_firewall/x" -j DROP'),
    ('filter', 'FORWARD', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'),
]


def with_rules(text, added):
    """`text` (comments left out) with each (table, rule) of `added` appended to its table."""
    lines = without_comments(text).splitlines()
    for table, chain, rule in added:
        if '*' + table not in lines:
            lines += ['*' + table, 'COMMIT']
        start = lines.index('*' + table)
        end = lines.index('COMMIT', start)
        declared = [line.split()[0][1:] for line in lines[start:end] if line.startswith(':')]
        lines[end:end] = ([] if chain in declared or chain in ('FORWARD', 'INPUT', 'POSTROUTING')
                          else [':%s - [0:0]' % chain]) + [rule]
    return '\n'.join(lines) + '\n'


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CAPTURES), st.lists(st.sampled_from(OTHERS), max_size=4), st.sampled_from(leftovers.POLICIES))
def test_every_line_that_is_not_docker_s_stays_as_it_was(path, added, policy):
    text = with_rules(fixture(path), added)
    plan = leftovers.plan_family(text, policy)
    docker = set(docker_rules(text))
    before = [(t, line) for t, lines in restored(text, '') for line in lines]
    after = [(t, line) for t, lines in restored(text, plan.payload) for line in lines]
    kept_chains = set(item.split(':')[0] for item in plan.summary()['kept'])
    theirs = [(t, line) for t, line in before if line.startswith('-A ') and (
        line not in docker or '%s %s' % (t, line.split()[1]) in kept_chains
        or any(line.endswith(' -j ' + chain.split()[1]) for chain in kept_chains))]
    assert [item for item in after if item[1].startswith('-A ')] == theirs
    assert leftovers.plan_family('\n'.join(
        ['*%s\n%s\nCOMMIT' % (t, '\n'.join(lines)) for t, lines in restored(text, plan.payload)]) + '\n',
        policy).payload == ''


def test_the_checked_captures_are_there():
    assert len(CAPTURES) > 50


class TestRefusal:
    K8S = {'iptables': False, 'ip6tables': False}

    @pytest.mark.parametrize('settings, error, major, after, reason', [
        ({}, None, 26, True, 'daemon.json does not say "iptables": false'),
        ({'iptables': True}, None, 26, True, 'daemon.json does not say "iptables": false'),
        ({'iptables': False}, None, 28, True, 'Docker 28 writes its IPv6 rules even with "iptables": false'),
        ({'iptables': False, 'ip6tables': True}, None, 26, True, 'does not say "ip6tables": false'),
        (K8S, None, 28, False, 'dockerd runs since before daemon.json last changed'),
        ({}, '/etc/docker/daemon.json is not valid JSON: x', 28, True, 'is not valid JSON: x: whether Docker keeps'),
    ])
    def test_while_docker_would_write_them_again(self, settings, error, major, after, reason):
        assert reason in leftovers.refusal(settings, error, major, after)

    @pytest.mark.parametrize('settings, major, after', [
        ({'iptables': False}, 20, True),  # 20.10 and 26 write no IPv6 rules by default
        (K8S, 28, True),
        (K8S, 28, None),  # dockerd does not run: it reads daemon.json when it starts
        (K8S, None, True),  # dockerd is not installed
    ])
    def test_once_the_preset_is_in_force(self, settings, major, after):
        assert leftovers.refusal(settings, None, major, after) is None
