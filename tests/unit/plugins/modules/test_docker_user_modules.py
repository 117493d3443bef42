# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DOCKER-USER modules: the exact commands they issue, what they return, how they fail."""

import json

import pytest

from captures import capture
from fake_runner import Tool
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module as docker_user_module
from ansible_collections.netops.docker_firewall.plugins.modules import (
    docker_user_accept,
    docker_user_allowlist,
    docker_user_chain,
)

V4_SAVE = ['/usr/sbin/iptables-nft-save']
V6_SAVE = ['/usr/sbin/ip6tables-nft-save']
V4_TEST = ['/usr/sbin/iptables-nft-restore', '-w', '10', '--noflush', '--test']
V4_RESTORE = ['/usr/sbin/iptables-nft-restore', '-w', '10', '--noflush']
V6_TEST = ['/usr/sbin/ip6tables-nft-restore', '-w', '10', '--noflush', '--test']
V6_RESTORE = ['/usr/sbin/ip6tables-nft-restore', '-w', '10', '--noflush']
TAG = '"netops.docker_firewall/accept:wg0:eth0"'
ACCEPT_LINES = [
    '-A DOCKER-USER -i wg0 -o eth0 -m comment --comment %s -j ACCEPT' % TAG,
    '-A DOCKER-USER -i eth0 -o wg0 -m comment --comment %s -j ACCEPT' % TAG,
]
# The restore input that writes ACCEPT_LINES where none of ours is: inserted at the top, in order.
ACCEPT_PAYLOAD = ('*filter\n'
                  '-I DOCKER-USER 1 -i wg0 -o eth0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
                  '-I DOCKER-USER 2 -i eth0 -o wg0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
                  'COMMIT\n')
# The restore input that creates DOCKER-USER with ACCEPT_LINES, and the FORWARD jump to it.
CREATE_ACCEPT_PAYLOAD = ('*filter\n'
                         ':DOCKER-USER - [0:0]\n'
                         '-I FORWARD 1 -j DOCKER-USER\n'
                         '-A DOCKER-USER -i wg0 -o eth0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
                         '-A DOCKER-USER -i eth0 -o wg0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
                         'COMMIT\n')
# The IPv4 rules of the allowlist of eth0 for 198.51.100.0/24: replies, the source, the rest dropped.
ALLOWLIST_LINES = [
    '-A DOCKER-USER -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "netops.docker_firewall/allowlist:eth0"'
    ' -j RETURN',
    '-A DOCKER-USER -s 198.51.100.0/24 -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j RETURN',
    '-A DOCKER-USER -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j DROP',
]
# The restore input that writes ALLOWLIST_LINES where none of ours is.
ALLOWLIST_PAYLOAD = ('*filter\n'
                     '-I DOCKER-USER 1 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED'
                     ' -m comment --comment "netops.docker_firewall/allowlist:eth0" -j RETURN\n'
                     '-I DOCKER-USER 2 -s 198.51.100.0/24 -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j RETURN\n'
                     '-I DOCKER-USER 3 -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j DROP\n'
                     'COMMIT\n')


@pytest.fixture(autouse=True)
def daemon_json(monkeypatch, tmp_path):
    """The modules read daemon.json: a file of the test's own (absent unless a test writes it)."""
    path = tmp_path / 'daemon.json'
    monkeypatch.setitem(docker_user_module.COMMON_ARGUMENT_SPEC['daemon_json'], 'default', str(path))
    return path


def save_with(lines, base):
    """A save output: `base` with DOCKER-USER replaced by `lines`."""
    out = []
    for line in base.splitlines():
        if line.startswith('-A DOCKER-USER '):
            continue
        if line == 'COMMIT' and out and any(l.startswith(':DOCKER-USER ') for l in out) and not out[-1].startswith('#@'):
            out.extend(lines)
            out.append('#@')
        out.append(line)
    return '\n'.join(l for l in out if l != '#@') + '\n'


def restore(deleted=(), inserted=()):
    """The iptables-restore input that deletes the rules `deleted` by their spec, then inserts the
    rules `inserted` at the top of DOCKER-USER, in order (both as save lines); nothing flushed."""
    lines = ['-D DOCKER-USER ' + line[len('-A DOCKER-USER '):] for line in deleted]
    lines += ['-I DOCKER-USER %d %s' % (n, line[len('-A DOCKER-USER '):]) for n, line in enumerate(inserted, 1)]
    return '*filter\n' + ''.join(line + '\n' for line in lines) + 'COMMIT\n'


DOCKER_RETURN = '-A DOCKER-USER -j RETURN'


DOCKER20 = capture('bookworm', 'q2-published-default.iptables-save')
# The legacy capture holds iptables-legacy-save, then ip6tables-legacy-save (empty).
LEGACY20 = capture('bookworm', 'q7-legacy-alt-after-restart.legacy-save').split('### ip6tables-legacy-save')[0]
DOCKER20_V6 = capture('bookworm', 'q2-published-default.ip6tables-save')
DOCKER28 = capture('sid', 'q2-published-default.iptables-save')
DOCKER28_V6 = capture('sid', 'q2-published-default.ip6tables-save')


def test_accept_on_docker_20_writes_ipv4_once_and_skips_missing_ipv6(run_module):
    after = ACCEPT_LINES + ['-A DOCKER-USER -j RETURN']
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=DOCKER20),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=ACCEPT_PAYLOAD),
        Tool(V4_RESTORE, data=ACCEPT_PAYLOAD),
        Tool(V4_SAVE, stdout=save_with(after, DOCKER20)),
    ])
    assert result['changed'] is True
    assert result['backend'] == 'nft'
    assert result['families'] == ['ipv4']
    assert result['rules'] == {'ipv4': after}
    assert result['blocks'] == {'ipv4': ['accept:wg0:eth0']}
    assert result['commands'] == [V4_RESTORE]
    assert result['block'] == 'accept:wg0:eth0'
    assert 'warnings' not in result


def test_converged_run_reads_and_writes_nothing(run_module):
    after = ACCEPT_LINES + ['-A DOCKER-USER -j RETURN']
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=save_with(after, DOCKER20)),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
    ])
    assert result['changed'] is False
    assert result['commands'] == []


def accept_on_docker_28(read_back_v4=None):
    """The commands of writing ACCEPT_LINES on Docker 28 (both families), IPv4 read back as given
    (by default as written)."""
    read_back_v4 = ACCEPT_LINES if read_back_v4 is None else read_back_v4
    return [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(V4_TEST, data=ACCEPT_PAYLOAD),
        Tool(V6_TEST, data=ACCEPT_PAYLOAD),
        Tool(V4_RESTORE, data=ACCEPT_PAYLOAD),
        Tool(V6_RESTORE, data=ACCEPT_PAYLOAD),
        Tool(V4_SAVE, stdout=save_with(read_back_v4, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28_V6)),
    ]


def test_docker_28_writes_both_families_after_testing_both(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'),
                               accept_on_docker_28())
    assert result['changed'] is True
    assert result['families'] == ['ipv4', 'ipv6']
    assert result['commands'] == [V4_RESTORE, V6_RESTORE]


def test_a_rule_another_tool_inserts_during_the_run_is_kept_and_no_error(run_module):
    # The payload deletes and inserts only our rules, so theirs survives; the read-back accepts it.
    theirs = '-A DOCKER-USER -s 198.51.100.99/32 -m comment --comment other-tool -j DROP'
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'),
                               accept_on_docker_28(read_back_v4=[theirs] + ACCEPT_LINES))
    assert 'failed' not in result and result['changed'] is True
    assert result['rules']['ipv4'] == [theirs] + ACCEPT_LINES


def test_a_rule_of_ours_lost_after_the_write_is_reported(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'),
                               accept_on_docker_28(read_back_v4=ACCEPT_LINES[1:])[:-1])
    assert result['failed'] is True
    assert result['msg'].startswith('ipv4 DOCKER-USER differs from what was written')


def test_check_mode_reads_plans_and_diffs_but_writes_nothing(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ], check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['commands'] == []
    assert result['diff']['before'] == '# ipv4 (nft) DOCKER-USER\n# ipv6 (nft) DOCKER-USER\n'
    assert result['diff']['after'] == ''.join('\n'.join(['# %s (nft) DOCKER-USER' % f] + ACCEPT_LINES) + '\n'
                                              for f in ('ipv4', 'ipv6'))


def test_a_rejected_dry_run_changes_no_family(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(V4_TEST, data=ACCEPT_PAYLOAD),
        Tool(V6_TEST, rc=2, stderr='ip6tables-restore: line 3 failed', data=ACCEPT_PAYLOAD),
    ])
    assert result['failed'] is True
    assert result['msg'] == 'checking the new ipv6 DOCKER-USER chain failed; nothing was changed'
    assert result['cmd'] == V6_TEST
    assert result['rc'] == 2
    assert result['stderr'] == 'ip6tables-restore: line 3 failed'


def test_a_failed_ipv6_write_after_ipv4_says_ipv4_was_written(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(V4_TEST, data=ACCEPT_PAYLOAD),
        Tool(V6_TEST, data=ACCEPT_PAYLOAD),
        Tool(V4_RESTORE, data=ACCEPT_PAYLOAD),
        Tool(V6_RESTORE, rc=4, stderr='ip6tables-restore: Resource temporarily unavailable', data=ACCEPT_PAYLOAD),
    ])
    assert result['failed'] is True and result['changed'] is True
    assert result['written_families'] == ['ipv4']
    assert result['msg'] == ('applying the new ipv6 DOCKER-USER chain failed; it was left unchanged; ipv4 was '
                             'already written: run the task again to finish (the next run writes only what differs)')
    assert 'nothing was changed' not in result['msg']


def test_a_chain_changed_underneath_is_reported(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=DOCKER20),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=ACCEPT_PAYLOAD),
        Tool(V4_RESTORE, data=ACCEPT_PAYLOAD),
        Tool(V4_SAVE, stdout=DOCKER20),
    ])
    assert result['failed'] is True
    assert 'differs from what was written' in result['msg']


def test_missing_chain_names_the_likely_cause_and_writes_nothing(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=capture('bookworm', 'q5a-start.iptables-save')),
    ], legacy_tables=False)
    assert result['failed'] is True
    assert '"iptables": false' in result['msg'] and 'create_chain=true' in result['msg']


def test_create_chain_inserts_the_forward_jump(run_module):
    empty = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
    created = empty.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n'
                            '-A FORWARD -j DOCKER-USER\n' + '\n'.join(ACCEPT_LINES) + '\n')
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0', create_chain=True), [
        Tool(V4_SAVE, stdout=empty),
        Tool(V6_SAVE, stdout=''),
        Tool(V4_TEST, data=CREATE_ACCEPT_PAYLOAD),
        Tool(V6_TEST, data=CREATE_ACCEPT_PAYLOAD),
        Tool(V4_RESTORE, data=CREATE_ACCEPT_PAYLOAD),
        Tool(V6_RESTORE, data=CREATE_ACCEPT_PAYLOAD),
        Tool(V4_SAVE, stdout=created),
        Tool(V6_SAVE, stdout=created),
    ])
    assert result['changed'] is True


def test_chains_in_both_backends_are_refused(run_module):
    legacy = LEGACY20
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=DOCKER20),
        Tool(['/usr/sbin/iptables-legacy-save'], stdout=legacy),
    ], legacy_tables=True)
    assert result['failed'] is True
    assert 'both the nft and the legacy' in result['msg']
    assert 'set iptables_variant=nft or iptables_variant=legacy' in result['msg']


@pytest.mark.parametrize('option', ['iptables_variant', 'backend'])
def test_explicit_legacy_variant_reads_and_writes_legacy(run_module, option):
    legacy = LEGACY20
    after = ACCEPT_LINES + ['-A DOCKER-USER -j RETURN']
    result, table = run_module(docker_user_accept.main, dict({option: 'legacy'}, in_interface='wg0', out_interface='eth0'), [
        Tool(['/usr/sbin/iptables-legacy-save'], stdout=legacy),
        Tool(['/usr/sbin/ip6tables-legacy-save'], stdout=''),
        Tool(['/usr/sbin/iptables-legacy-restore', '-w', '10', '--noflush', '--test'], data=ACCEPT_PAYLOAD),
        Tool(['/usr/sbin/iptables-legacy-restore', '-w', '10', '--noflush'], data=ACCEPT_PAYLOAD),
        Tool(['/usr/sbin/iptables-legacy-save'], stdout=save_with(after, legacy)),
    ], legacy_tables=True)
    assert result['backend'] == 'legacy' and result['changed'] is True
    # `backend`, the option's first name, still works, and says it goes in 0.4.0.
    # (The layout of a deprecation in the result differs between ansible-core releases: read it as text.)
    deprecations = [json.dumps(d) for d in result.get('deprecations', [])]
    if option == 'backend':
        assert len(deprecations) == 1
        assert all(text in deprecations[0] for text in ("Alias 'backend' is deprecated", '0.4.0', 'netops.docker_firewall'))
    else:
        assert deprecations == []


def test_allowlist_warns_when_ipv6_is_not_enforced(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.0/24']), [
        Tool(V4_SAVE, stdout=DOCKER20),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=ALLOWLIST_PAYLOAD),
        Tool(V4_RESTORE, data=ALLOWLIST_PAYLOAD),
        Tool(V4_SAVE, stdout=save_with(ALLOWLIST_LINES + ['-A DOCKER-USER -j RETURN'], DOCKER20)),
    ])
    assert result['changed'] is True
    messages = [w['event']['msg'] for w in result['warnings']]
    assert len(messages) == 2
    assert 'docker-proxy serves published ports on INPUT' in messages[0]
    assert 'IPv6 side of the allowlist is not enforced' in messages[1]


def test_allowlist_does_not_warn_about_the_proxy_once_it_is_off(run_module, daemon_json):
    daemon_json.write_text('{"userland-proxy": false}')
    ipv6 = [ALLOWLIST_LINES[0], ALLOWLIST_LINES[2]]  # no IPv6 source: replies, the rest dropped
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.0/24']), [
        Tool(V4_SAVE, stdout=save_with(ALLOWLIST_LINES, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ipv6, DOCKER28_V6)),
    ])
    assert result['changed'] is False and result.get('warnings', []) == []


def test_accept_pairs_alone_do_not_warn_about_the_proxy(run_module):
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28_V6)),
    ])
    assert result['changed'] is False and result.get('warnings', []) == []


# --- Docker's nftables firewall backend: the collection's own table ---------------------------------

NFT_LIST = ['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall']
NFT_TEST = ['/usr/sbin/nft', '-c', '-f', '-']
NFT_APPLY = ['/usr/sbin/nft', '-f', '-']
NO_TABLE = Tool(NFT_LIST, rc=1, stderr='Error: No such file or directory\nlist table inet netops-docker-firewall\n')
SWITCHED = capture('docker29', 'n1-switched-fwd0.iptables-save')  # iptables after the switch, before a reboot
REBOOTED = capture('docker29', 'n3-switched-after-reboot.iptables-save')

# Our table as nft input (and as `nft list table` prints it, in these tests), written out by hand.
# What the modules feed `nft -f` declares the table, deletes it and writes it whole: NFT_HEAD + table.
NFT_HEAD = 'table inet netops-docker-firewall\ndelete table inet netops-docker-firewall\n'
# The allowlist of eth0 for 198.51.100.0/24.
TABLE_ETH0_NET = (
    'table inet netops-docker-firewall {\n'
    '\tcomment "netops.docker_firewall"\n'
    '\tset allowlist-eth0-ipv4 {\n'
    '\t\ttype ipv4_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\telements = { 198.51.100.0/24 }\n'
    '\t}\n'
    '\tset allowlist-eth0-ipv6 {\n'
    '\t\ttype ipv6_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tchain forward {\n'
    '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
    '\t\tiifname "eth0" jump allowlist-eth0 comment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tchain allowlist-eth0 {\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\tct state established,related return\n'
    '\t\tip saddr @allowlist-eth0-ipv4 return\n'
    '\t\tip6 saddr @allowlist-eth0-ipv6 return\n'
    '\t\tdrop\n'
    '\t}\n'
    '}\n')
# The allowlist of eth0 for 198.51.100.7.
TABLE_ETH0_HOST = (
    'table inet netops-docker-firewall {\n'
    '\tcomment "netops.docker_firewall"\n'
    '\tset allowlist-eth0-ipv4 {\n'
    '\t\ttype ipv4_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\telements = { 198.51.100.7 }\n'
    '\t}\n'
    '\tset allowlist-eth0-ipv6 {\n'
    '\t\ttype ipv6_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tchain forward {\n'
    '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
    '\t\tiifname "eth0" jump allowlist-eth0 comment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tchain allowlist-eth0 {\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\tct state established,related return\n'
    '\t\tip saddr @allowlist-eth0-ipv4 return\n'
    '\t\tip6 saddr @allowlist-eth0-ipv6 return\n'
    '\t\tdrop\n'
    '\t}\n'
    '}\n')
# The allowlist of eth1 for 198.51.100.7.
TABLE_ETH1_HOST = (
    'table inet netops-docker-firewall {\n'
    '\tcomment "netops.docker_firewall"\n'
    '\tset allowlist-eth1-ipv4 {\n'
    '\t\ttype ipv4_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth1"\n'
    '\t\telements = { 198.51.100.7 }\n'
    '\t}\n'
    '\tset allowlist-eth1-ipv6 {\n'
    '\t\ttype ipv6_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth1"\n'
    '\t}\n'
    '\tchain forward {\n'
    '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
    '\t\tiifname "eth1" jump allowlist-eth1 comment "netops.docker_firewall/allowlist:eth1"\n'
    '\t}\n'
    '\tchain allowlist-eth1 {\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth1"\n'
    '\t\tct state established,related return\n'
    '\t\tip saddr @allowlist-eth1-ipv4 return\n'
    '\t\tip6 saddr @allowlist-eth1-ipv6 return\n'
    '\t\tdrop\n'
    '\t}\n'
    '}\n')
# TABLE_ETH1_HOST and the allowlist of eth0 for 2001:db8::/48: sets by name, then the base chain
# (jumps by block name), then the allowlist chains by name.
TABLE_ETH0_V6_ETH1_HOST = (
    'table inet netops-docker-firewall {\n'
    '\tcomment "netops.docker_firewall"\n'
    '\tset allowlist-eth0-ipv4 {\n'
    '\t\ttype ipv4_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tset allowlist-eth0-ipv6 {\n'
    '\t\ttype ipv6_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\telements = { 2001:db8::/48 }\n'
    '\t}\n'
    '\tset allowlist-eth1-ipv4 {\n'
    '\t\ttype ipv4_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth1"\n'
    '\t\telements = { 198.51.100.7 }\n'
    '\t}\n'
    '\tset allowlist-eth1-ipv6 {\n'
    '\t\ttype ipv6_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth1"\n'
    '\t}\n'
    '\tchain forward {\n'
    '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
    '\t\tiifname "eth0" jump allowlist-eth0 comment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\tiifname "eth1" jump allowlist-eth1 comment "netops.docker_firewall/allowlist:eth1"\n'
    '\t}\n'
    '\tchain allowlist-eth0 {\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\tct state established,related return\n'
    '\t\tip saddr @allowlist-eth0-ipv4 return\n'
    '\t\tip6 saddr @allowlist-eth0-ipv6 return\n'
    '\t\tdrop\n'
    '\t}\n'
    '\tchain allowlist-eth1 {\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth1"\n'
    '\t\tct state established,related return\n'
    '\t\tip saddr @allowlist-eth1-ipv4 return\n'
    '\t\tip6 saddr @allowlist-eth1-ipv6 return\n'
    '\t\tdrop\n'
    '\t}\n'
    '}\n')
# The router pair wg0 <-> eth0 alone: two accepts in the base chain.
TABLE_PAIR = (
    'table inet netops-docker-firewall {\n'
    '\tcomment "netops.docker_firewall"\n'
    '\tchain forward {\n'
    '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
    '\t\tiifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n'
    '\t\tiifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n'
    '\t}\n'
    '}\n')
# TABLE_ETH0_HOST and the router pair, accepted in the base chain before the allowlist's jump.
TABLE_PAIR_ETH0_HOST = (
    'table inet netops-docker-firewall {\n'
    '\tcomment "netops.docker_firewall"\n'
    '\tset allowlist-eth0-ipv4 {\n'
    '\t\ttype ipv4_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\telements = { 198.51.100.7 }\n'
    '\t}\n'
    '\tset allowlist-eth0-ipv6 {\n'
    '\t\ttype ipv6_addr\n'
    '\t\tflags interval\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tchain forward {\n'
    '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
    '\t\tiifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n'
    '\t\tiifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n'
    '\t\tiifname "eth0" jump allowlist-eth0 comment "netops.docker_firewall/allowlist:eth0"\n'
    '\t}\n'
    '\tchain allowlist-eth0 {\n'
    '\t\tcomment "netops.docker_firewall/allowlist:eth0"\n'
    '\t\tct state established,related return\n'
    '\t\tip saddr @allowlist-eth0-ipv4 return\n'
    '\t\tip6 saddr @allowlist-eth0-ipv6 return\n'
    '\t\tdrop\n'
    '\t}\n'
    '}\n')


@pytest.fixture
def nftables(daemon_json):
    daemon_json.write_text('{"firewall-backend": "nftables", "userland-proxy": false}')


def test_nftables_allowlist_writes_our_table_in_one_tested_transaction(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.0/24']), [
        NO_TABLE,
        Tool(V4_SAVE, stdout=SWITCHED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_LIST, stdout=TABLE_ETH0_NET),
    ], diff=True)
    assert result['changed'] is True and result['backend'] == 'nftables'
    assert result['blocks'] == {'nftables': ['allowlist:eth0']} and result['commands'] == [NFT_APPLY]
    assert result['diff']['before'] == '' and result['diff']['after'] == TABLE_ETH0_NET
    assert [w['event']['msg'][:40] for w in result['warnings']] == [docker_user_module.LEFTOVER_DROP[:40]]


def test_nftables_converged_table_printed_by_nft_is_left_alone(run_module, nftables):
    listed = capture('docker29', 'our-table-listed.nft')
    result, ran = run_module(docker_user_chain.main, dict(allowlists=[
        dict(interface='ext0', sources=['198.51.100.18', '198.51.100.0/28', '198.51.100.40-198.51.100.50',
                                        '2001:db8:2::18', '198.51.100.1'], ports=['8080', '9000-9010']),
        dict(interface='eth0.100', sources=[]),
        dict(interface='wg+', sources=['::/0'])]), [
        Tool(NFT_LIST, stdout=listed),
        Tool(V4_SAVE, stdout=REBOOTED),
    ])
    assert result['changed'] is False and result['commands'] == [] and result.get('warnings', []) == []
    assert result['blocks']['nftables'] == ['allowlist:eth0.100', 'allowlist:ext0', 'allowlist:wg+']


def test_nftables_block_module_keeps_the_other_blocks(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['2001:db8::/48']), [
        Tool(NFT_LIST, stdout=TABLE_ETH1_HOST),
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_V6_ETH1_HOST),
        Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_V6_ETH1_HOST),
        Tool(NFT_LIST, stdout=TABLE_ETH0_V6_ETH1_HOST),
    ])
    assert result['blocks'] == {'nftables': ['allowlist:eth0', 'allowlist:eth1']}


def test_nftables_removing_the_last_allowlist_removes_the_table(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', state='absent'), [
        Tool(NFT_LIST, stdout=TABLE_ETH0_HOST),
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD),
        Tool(NFT_APPLY, data=NFT_HEAD),
        NO_TABLE,
    ])
    assert result['changed'] is True and result['removed_blocks'] == ['allowlist:eth0']


def test_nftables_router_pairs_are_accepted_before_the_allowlists(run_module, nftables):
    result, ran = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(NFT_LIST, stdout=TABLE_ETH0_HOST),
        Tool(V4_SAVE, stdout=SWITCHED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_PAIR_ETH0_HOST),
        Tool(NFT_APPLY, data=NFT_HEAD + TABLE_PAIR_ETH0_HOST),
        Tool(NFT_LIST, stdout=TABLE_PAIR_ETH0_HOST),
    ])
    assert result['changed'] is True and result['blocks'] == {'nftables': ['accept:wg0:eth0', 'allowlist:eth0']}
    assert result['rules']['nftables'][result['rules']['nftables'].index('\tchain forward {') + 2:][:3] == [
        '\t\tiifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        '\t\tiifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        '\t\tiifname "eth0" jump allowlist-eth0 comment "netops.docker_firewall/allowlist:eth0"',
    ]
    assert 'FORWARD policy is DROP' in result['warnings'][0]['event']['msg']


def test_nftables_check_mode_reads_and_plans_but_writes_nothing(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.7']), [
        NO_TABLE,
        Tool(V4_SAVE, stdout=REBOOTED),
    ], check_mode=True, diff=True)
    assert result['changed'] is True and result['commands'] == []
    assert '198.51.100.7' in result['diff']['after']  # the table above: only reads ran


def test_nftables_leftover_rules_of_ours_in_docker_user_are_reported(run_module, nftables):
    leftover = save_with(ACCEPT_LINES, SWITCHED)
    result, ran = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(NFT_LIST, stdout=TABLE_PAIR),
        Tool(V4_SAVE, stdout=leftover),
    ])
    messages = [w['event']['msg'] for w in result['warnings']]
    assert result['changed'] is False
    assert 'still holds rules of this collection (accept:wg0:eth0)' in messages[0]


def test_nftables_table_changed_underneath_is_reported(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.7']), [
        NO_TABLE,
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_HOST),
        Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_HOST),
        Tool(NFT_LIST, stdout=TABLE_ETH0_HOST.replace('198.51.100.7', '198.51.100.8')),
    ])
    assert (result['failed'], result['changed']) == (True, True)  # written, then read back otherwise
    assert result['msg'] == ('the nftables table differs from what was written (did another tool change it at the same '
                             'time?): set allowlist-eth0-ipv4 holds other elements')


def test_nftables_table_failing_to_apply_after_its_dry_run_changed_nothing(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.7']), [
        NO_TABLE,
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_HOST),
        Tool(NFT_APPLY, rc=1, stderr='netlink: Error: Device or resource busy', data=NFT_HEAD + TABLE_ETH0_HOST),
    ])
    assert (result['failed'], result['changed'], result['cmd']) == (True, False, NFT_APPLY)
    assert result['msg'] == 'applying the nftables table inet netops-docker-firewall failed; nothing was changed'


def test_nftables_rejected_dry_run_changes_nothing(run_module, nftables):
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.7']), [
        NO_TABLE,
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, rc=1, stderr='Error: Could not process rule', data=NFT_HEAD + TABLE_ETH0_HOST),
    ])
    assert (result['failed'], result['changed'], result['cmd']) == (True, False, NFT_TEST)  # no nft -f ran
    assert result['msg'] == 'checking the nftables table inet netops-docker-firewall failed; nothing was changed'


def test_unreadable_daemon_json_is_a_warning_with_the_defaults(run_module, daemon_json):
    daemon_json.write_text('{"userland-proxy": false,}')
    result, table = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28_V6)),
    ])
    assert result['changed'] is False
    assert 'is not valid JSON' in result['warnings'][0]['event']['msg']


@pytest.mark.parametrize('main, args, field', [
    (docker_user_allowlist.main, dict(interface='docker0', sources=['198.51.100.7']), 'interface'),
    (docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.7/24']), 'sources'),
    (docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.7'], ports=['0']), 'ports'),
    (docker_user_accept.main, dict(in_interface='eth0"', out_interface='wg0'), 'in_interface'),
    (docker_user_chain.main, dict(allowlists=[dict(interface='eth0', sources=[]), dict(interface='eth0', sources=[])]),
     'allowlists[1].interface'),
    (docker_user_chain.main, dict(accept=[dict(in_interface='a', out_interface='b')] * 2), 'accept[1]'),
])
def test_bad_input_fails_before_any_command(run_module, main, args, field):
    result, table = run_module(main, args, [])
    assert result['failed'] is True
    assert result['field'] == field
    assert result['msg'].startswith(field + ':')
    assert table.ran == []


def test_allowlist_present_requires_sources(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0'), [])
    assert result['failed'] is True and 'sources' in result['msg']


def docker20_ipv4_write(current, written, after):
    """The commands of a run on Docker 20.10 (no IPv6 DOCKER-USER) that takes the IPv4 chain from
    `current` to `after` with the restore input `written`: both families read, a dry run, the write,
    the read-back."""
    return [
        Tool(V4_SAVE, stdout=save_with(current, DOCKER20)),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(V4_TEST, data=written),
        Tool(V4_RESTORE, data=written),
        Tool(V4_SAVE, stdout=save_with(after, DOCKER20)),
    ]


def test_allowlist_absent_removes_its_block_only(run_module):
    current = ACCEPT_LINES + ALLOWLIST_LINES + ['-A DOCKER-USER -j RETURN']
    after = ACCEPT_LINES + ['-A DOCKER-USER -j RETURN']
    # Every rule of ours is deleted by its spec and the pair inserted again; Docker's RETURN stays.
    written = ('*filter\n'
               '-D DOCKER-USER -i wg0 -o eth0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
               '-D DOCKER-USER -i eth0 -o wg0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
               '-D DOCKER-USER -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED'
               ' -m comment --comment "netops.docker_firewall/allowlist:eth0" -j RETURN\n'
               '-D DOCKER-USER -s 198.51.100.0/24 -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j RETURN\n'
               '-D DOCKER-USER -i eth0 -m comment --comment "netops.docker_firewall/allowlist:eth0" -j DROP\n'
               '-I DOCKER-USER 1 -i wg0 -o eth0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
               '-I DOCKER-USER 2 -i eth0 -o wg0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
               'COMMIT\n')
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', state='absent'),
                               docker20_ipv4_write(current, written, after))
    assert result['removed_blocks'] == ['allowlist:eth0']
    assert result['blocks'] == {'ipv4': ['accept:wg0:eth0']}


def test_chain_purge_keeps_rules_of_others(run_module):
    foreign = '-A DOCKER-USER -s 198.51.100.99/32 -m comment --comment other-tool -j DROP'
    current = ACCEPT_LINES + [foreign, '-A DOCKER-USER -j RETURN']
    after = [foreign, '-A DOCKER-USER -j RETURN']
    written = ('*filter\n'
               '-D DOCKER-USER -i wg0 -o eth0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
               '-D DOCKER-USER -i eth0 -o wg0 -m comment --comment "netops.docker_firewall/accept:wg0:eth0" -j ACCEPT\n'
               'COMMIT\n')
    result, table = run_module(docker_user_chain.main, dict(), docker20_ipv4_write(current, written, after))
    assert result['removed_blocks'] == ['accept:wg0:eth0']
    assert result['rules'] == {'ipv4': after}


def test_a_chain_nothing_jumps_to_is_warned_about_and_written_all_the_same(run_module):
    no_jump = save_with(ACCEPT_LINES, DOCKER28).replace('-A FORWARD -j DOCKER-USER\n', '')
    accepting = save_with(ACCEPT_LINES, DOCKER28_V6).replace(
        '-A FORWARD -j DOCKER-USER\n', '-A FORWARD -i eth0 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n')
    result, ran = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=no_jump),
        Tool(V6_SAVE, stdout=accepting),
    ])
    messages = [w['event']['msg'] for w in result['warnings']]
    assert result['changed'] is False and len(messages) == 2
    assert messages[0].startswith('ipv4 FORWARD does not jump to DOCKER-USER: its rules filter nothing')
    assert messages[1].endswith('-A FORWARD -i eth0 -j ACCEPT') and messages[1].startswith('ipv6 FORWARD accepts')


def test_firewall_backend_names_the_backend_to_write_for_whatever_docker_runs(run_module, nftables):
    # daemon.json says nftables; a switch back to iptables writes DOCKER-USER first.
    after = ACCEPT_LINES
    result, ran = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0',
                                                           firewall_backend='iptables', create_chain=True), [
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(V6_SAVE, stdout=''),
        Tool(V4_TEST, data=CREATE_ACCEPT_PAYLOAD), Tool(V6_TEST, data=CREATE_ACCEPT_PAYLOAD),
        Tool(V4_RESTORE, data=CREATE_ACCEPT_PAYLOAD), Tool(V6_RESTORE, data=CREATE_ACCEPT_PAYLOAD),
        Tool(V4_SAVE, stdout=save_with(after, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(after, DOCKER28_V6)),
    ])
    assert result['changed'] is True and result['backend'] == 'nft' and result['families'] == ['ipv4', 'ipv6']


def test_nftables_written_ahead_of_a_switch_reports_no_leftovers_yet(run_module, daemon_json):
    # Docker still runs iptables (daemon.json has no firewall-backend): the docker_on_router role
    # writes the table first, then switches; nothing is "left over" at that point.
    result, ran = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=['198.51.100.0/24'],
                                                              firewall_backend='nftables'), [
        NO_TABLE,
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_LIST, stdout=TABLE_ETH0_NET),
    ])
    assert result['changed'] is True and result['backend'] == 'nftables'
    assert [w['event']['msg'] for w in result['warnings']] == [
        docker_user_module.PROXY_PATH % daemon_json]


def test_a_daemon_json_that_is_not_utf8_is_a_warning_not_a_traceback(run_module, daemon_json):
    daemon_json.write_bytes(b'{"labels": ["caf\xe9"]}')
    result, ran = run_module(docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), [
        Tool(V4_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ACCEPT_LINES, DOCKER28_V6)),
    ])
    assert result['changed'] is False
    assert 'is not UTF-8 text' in result['warnings'][0]['event']['msg']
