# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Routed access through the modules (docker_user_routed, and docker_user_chain's `routed`): the
exact commands on real captures (Docker 20.10, which has no IPv6 DOCKER-USER, and Docker 28), the
block between the router pairs and the allowlists, check mode, removal, ipsets of their own kind,
and the collection's nftables table."""

import pytest

from fake_runner import Tool
from plugins.modules.test_allowlist_ipsets import IPSET_RESTORE, IPSET_SAVE, kernel
from plugins.modules.test_docker_user_modules import (
    ACCEPT_LINES,
    DOCKER20,
    DOCKER20_V6,
    DOCKER28,
    DOCKER28_V6,
    DOCKER_RETURN,
    NFT_APPLY,
    NFT_HEAD,
    NFT_LIST,
    NFT_TEST,
    REBOOTED,
    TABLE_PAIR,
    V4_RESTORE,
    V4_SAVE,
    V4_TEST,
    V6_RESTORE,
    V6_SAVE,
    V6_TEST,
    restore,
    save_with,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module as docker_user_module
from ansible_collections.netops.docker_firewall.plugins.modules import docker_user_chain, docker_user_routed

TAG = '-m comment --comment "netops.docker_firewall/routed"'
NEW = '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT'
# The lab's LAN interface int0 may route to the app network; nothing else may.
INT0 = [
    '-A DOCKER-USER -i docker+ -o br-+ %s %s -j RETURN' % (NEW, TAG),
    '-A DOCKER-USER -i br-+ -o docker+ %s %s -j RETURN' % (NEW, TAG),
    '-A DOCKER-USER -d 172.17.0.0/16 -i int0 -o docker+ %s %s -j RETURN' % (NEW, TAG),
    '-A DOCKER-USER -d 172.17.0.0/16 -i int0 -o br-+ %s %s -j RETURN' % (NEW, TAG),
    '-A DOCKER-USER ! -i docker+ -o docker+ %s %s -j DROP' % (NEW, TAG),
    '-A DOCKER-USER ! -i br-+ -o br-+ %s %s -j DROP' % (NEW, TAG),
]
INT0_V6 = INT0[:2] + INT0[4:]  # an IPv4 network only: IPv6 is denied for the declaration
DECLARED = [dict(interface='int0', networks=['172.17.0.0/16'])]


@pytest.fixture(autouse=True)
def daemon_json(monkeypatch, tmp_path):
    path = tmp_path / 'daemon.json'
    monkeypatch.setitem(docker_user_module.COMMON_ARGUMENT_SPEC['daemon_json'], 'default', str(path))
    return path


def test_docker_20_gets_the_block_in_ipv4_and_no_ipv6_chain_is_created(run_module):
    after = INT0 + [DOCKER_RETURN]
    # Docker's RETURN stays where it is; ours go in above it.
    write = restore(inserted=INT0)
    result, table = run_module(docker_user_routed.main, dict(routed=DECLARED), [
        Tool(V4_SAVE, stdout=DOCKER20),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=write),
        Tool(V4_RESTORE, data=write),
        Tool(V4_SAVE, stdout=save_with(after, DOCKER20)),
    ])
    assert result['changed'] is True and result['families'] == ['ipv4']
    assert result['rules'] == {'ipv4': after} and result['blocks'] == {'ipv4': ['routed']}
    assert result['block'] == 'routed' and result['commands'] == [V4_RESTORE]
    assert result['routed_access'] == {'int0': {'families': ['ipv4'], 'ipsets': {}}}
    assert result['ipsets'] == {} and result['ipset_payload'] == ''
    assert 'warnings' not in result  # routed access alone: no allowlist, no docker-proxy warning


def test_docker_28_chain_puts_routed_access_between_the_pairs_and_the_allowlist(run_module):
    allowlist = dict(interface='ext0', sources=['198.51.100.18', '2001:db8:2::18'])
    ext0 = '-m comment --comment "netops.docker_firewall/allowlist:ext0"'
    ours = dict((family, ACCEPT_LINES + routed + [
        '-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % ext0,
        '-A DOCKER-USER -s %s -i ext0 %s -j RETURN' % (source, ext0),
        '-A DOCKER-USER -i ext0 %s -j DROP' % ext0,
    ]) for family, routed, source in (('ipv4', INT0, '198.51.100.18/32'), ('ipv6', INT0_V6, '2001:db8:2::18/128')))
    result, table = run_module(docker_user_chain.main, dict(
        accept=[dict(in_interface='wg0', out_interface='eth0')], allowlists=[allowlist], routed=DECLARED), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(V4_TEST, data=restore(inserted=ours['ipv4'])),
        Tool(V6_TEST, data=restore(inserted=ours['ipv6'])),
        Tool(V4_RESTORE, data=restore(inserted=ours['ipv4'])),
        Tool(V6_RESTORE, data=restore(inserted=ours['ipv6'])),
        Tool(V4_SAVE, stdout=save_with(ours['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ours['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is True and result['rules'] == ours
    assert result['blocks'] == {'ipv4': ['accept:wg0:eth0', 'routed', 'allowlist:ext0'],
                                'ipv6': ['accept:wg0:eth0', 'routed', 'allowlist:ext0']}
    assert result['routed_access'] == {'int0': {'families': ['ipv4'], 'ipsets': {}}}


def test_check_mode_reads_plans_and_diffs_but_writes_nothing(run_module):
    result, table = run_module(docker_user_routed.main, dict(routed=DECLARED), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ], check_mode=True, diff=True)
    assert result['changed'] is True and result['commands'] == []
    assert result['rules'] == {'ipv4': INT0, 'ipv6': INT0_V6}
    assert result['diff']['after'] == ('\n'.join(['# ipv4 (nft) DOCKER-USER'] + INT0) + '\n'
                                       + '\n'.join(['# ipv6 (nft) DOCKER-USER'] + INT0_V6) + '\n')


def test_a_converged_block_is_left_alone(run_module):
    result, table = run_module(docker_user_routed.main, dict(routed=DECLARED), [
        Tool(V4_SAVE, stdout=save_with(INT0, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(INT0_V6, DOCKER28_V6)),
    ])
    assert result['changed'] is False and result['commands'] == []


def test_absent_removes_the_block_guard_included_and_keeps_the_pairs(run_module):
    current = ACCEPT_LINES + INT0 + [DOCKER_RETURN]
    after = ACCEPT_LINES + [DOCKER_RETURN]
    result, table = run_module(docker_user_routed.main, dict(state='absent'), [
        Tool(V4_SAVE, stdout=save_with(current, DOCKER20)),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=restore(ACCEPT_LINES + INT0, ACCEPT_LINES)),  # ours deleted, the pair put back
        Tool(V4_RESTORE, data=restore(ACCEPT_LINES + INT0, ACCEPT_LINES)),
        Tool(V4_SAVE, stdout=save_with(after, DOCKER20)),
    ])
    assert result['removed_blocks'] == ['routed'] and result['blocks'] == {'ipv4': ['accept:wg0:eth0']}
    assert 'routed_access' not in result


def test_a_chain_without_routed_removes_the_block_with_purge_and_keeps_it_without(run_module):
    current = INT0 + [DOCKER_RETURN]
    result, table = run_module(docker_user_chain.main, dict(purge=False), [
        Tool(V4_SAVE, stdout=save_with(current, DOCKER20)),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
    ])
    assert result['changed'] is False and result['routed_access'] == {}
    result, table = run_module(docker_user_chain.main, dict(), [
        Tool(V4_SAVE, stdout=save_with(current, DOCKER20)),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=restore(INT0)),
        Tool(V4_RESTORE, data=restore(INT0)),
        Tool(V4_SAVE, stdout=DOCKER20),
    ])
    assert result['removed_blocks'] == ['routed']


def test_long_sources_go_into_a_routed_set_filled_before_the_chains(run_module, daemon_json):
    sources = ['10.8.%d.%d' % (n // 100, 2 * (n % 100)) for n in range(70)]
    name = 'netops-dfwr-wg0-v4'
    # wg0's returns match the set; no IPv6 source: IPv6 is denied for it.
    lines = dict(ipv4=INT0[:2] + [
        '-A DOCKER-USER -i wg0 -o docker+ -m set --match-set %s src %s %s -j RETURN' % (name, NEW, TAG),
        '-A DOCKER-USER -i wg0 -o br-+ -m set --match-set %s src %s %s -j RETURN' % (name, NEW, TAG),
    ] + INT0[4:], ipv6=INT0_V6)
    fill = ('create %s hash:net family inet hashsize 1024 maxelem 65536\n' % name
            + ''.join('add %s %s\n' % (name, source) for source in sorted(sources, key=lambda a: tuple(
                int(p) for p in a.split('.')))))
    result, table = run_module(docker_user_routed.main, dict(routed=[dict(interface='wg0', sources=sources)]), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_SAVE, stdout=kernel()),
        Tool(IPSET_RESTORE, data=fill),
        Tool(V4_TEST, data=restore(inserted=lines['ipv4'])),
        Tool(V6_TEST, data=restore(inserted=lines['ipv6'])),
        Tool(V4_RESTORE, data=restore(inserted=lines['ipv4'])),
        Tool(V6_RESTORE, data=restore(inserted=lines['ipv6'])),
        Tool(V4_SAVE, stdout=save_with(lines['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(lines['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({name: sources})),
    ])
    assert result['changed'] is True and result['ipsets'] == {name: 70}
    assert result['ipset_payload'] == fill
    assert result['routed_access'] == {'wg0': {'families': ['ipv4'], 'ipsets': {name: 70}}}


@pytest.mark.parametrize('args, field', [
    (dict(routed=[dict(interface='docker0')]), 'routed[0].interface'),
    (dict(routed=[dict(interface='wg0', networks=['172.18.0.1/16'])]), 'routed[0].networks'),
    (dict(routed=[dict(interface='wg0'), dict(interface='wg+')]), 'routed[1].interface'),
    (dict(routed=[dict(interface='wg0', sources_file='/srv/vpn.txt')]), 'routed[0].sources_file'),
])
def test_bad_input_fails_before_any_command(run_module, args, field):
    for main in (docker_user_routed.main, docker_user_chain.main):
        result, table = run_module(main, args, [])
        assert result['failed'] is True and result['field'] == field and table.ran == []
        assert result['msg'].startswith(field + ':')


# --- Docker's nftables firewall backend -------------------------------------------------------------


def test_nftables_the_routed_chain_is_written_in_our_table_after_the_pairs(run_module, daemon_json):
    daemon_json.write_text('{"firewall-backend": "nftables", "userland-proxy": false}')
    # The router pair's table with routed access: its set (IPv4 only: the declaration names no IPv6
    # network), the jumps per container bridge pattern after the pair, the chain `routed`.
    wanted = (
        'table inet netops-docker-firewall {\n'
        '\tcomment "netops.docker_firewall"\n'
        '\tset routed-int0-networks-ipv4 {\n'
        '\t\ttype ipv4_addr\n'
        '\t\tflags interval\n'
        '\t\tcomment "netops.docker_firewall/routed"\n'
        '\t\telements = { 172.17.0.0/16 }\n'
        '\t}\n'
        '\tchain forward {\n'
        '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
        '\t\tiifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n'
        '\t\tiifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n'
        '\t\toifname "docker*" iifname != "docker*" ct state new ct status ! dnat jump routed'
        ' comment "netops.docker_firewall/routed"\n'
        '\t\toifname "br-*" iifname != "br-*" ct state new ct status ! dnat jump routed'
        ' comment "netops.docker_firewall/routed"\n'
        '\t}\n'
        '\tchain routed {\n'
        '\t\tcomment "netops.docker_firewall/routed"\n'
        '\t\tiifname "docker*" return\n'
        '\t\tiifname "br-*" return\n'
        '\t\tiifname "int0" ip daddr @routed-int0-networks-ipv4 accept\n'
        '\t\tdrop\n'
        '\t}\n'
        '}\n')
    result, ran = run_module(docker_user_routed.main, dict(routed=DECLARED), [
        Tool(NFT_LIST, stdout=TABLE_PAIR),
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD + wanted),
        Tool(NFT_APPLY, data=NFT_HEAD + wanted),
        Tool(NFT_LIST, stdout=wanted),
    ])
    assert result['changed'] is True and result['blocks'] == {'nftables': ['accept:wg0:eth0', 'routed']}
    rules = result['rules']['nftables']
    forward = rules[rules.index('\tchain forward {') + 2:]
    assert forward[:4] == [
        '\t\tiifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        '\t\tiifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        '\t\toifname "docker*" iifname != "docker*" ct state new ct status ! dnat jump routed '
        'comment "netops.docker_firewall/routed"',
        '\t\toifname "br-*" iifname != "br-*" ct state new ct status ! dnat jump routed '
        'comment "netops.docker_firewall/routed"',
    ]
    routed = rules[rules.index('\tchain routed {') + 1:]
    assert routed[:6] == ['\t\tcomment "netops.docker_firewall/routed"', '\t\tiifname "docker*" return',
                          '\t\tiifname "br-*" return', '\t\tiifname "int0" ip daddr @routed-int0-networks-ipv4 accept',
                          '\t\tdrop', '\t}']
    result, ran = run_module(docker_user_routed.main, dict(routed=DECLARED), [
        Tool(NFT_LIST, stdout=wanted),
        Tool(V4_SAVE, stdout=REBOOTED),
    ], check_mode=True)
    assert result['changed'] is False
