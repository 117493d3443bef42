# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_iptables_converge, the one way the collection writes iptables and its nftables table, run with a
host program's runner (the shared FakeRunner, with HostRunner's interface; the modules' tests run it
through AnsibleModule): the exact commands in order, when `after_test` runs, and what a failure
after a write carries."""

import pytest

from fake_runner import Call, FakeRunner, Tool
from plugins.modules.test_docker_user_modules import NFT_APPLY as NFT_LOAD
from plugins.modules.test_docker_user_modules import NFT_HEAD, NFT_LIST, TABLE_PAIR
from plugins.modules.test_docker_user_modules import NFT_TEST as NFT_CHECK
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _iptables_converge as converge
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    CommandError,
    IptablesHost,
    NftHost,
)

TOOLS = dict((name, '/usr/sbin/' + name) for name in (
    'iptables', 'iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft-save', 'ip6tables-nft-restore'))
PAYLOAD = {'ipv4': '*filter\n-I DOCKER-USER 1 -s 192.0.2.1/32 -j DROP\nCOMMIT\n',
           'ipv6': '*filter\n-I DOCKER-USER 1 -s 2001:db8::1/128 -j DROP\nCOMMIT\n'}
V4_WRITE = ['/usr/sbin/iptables-nft-restore', '-w', '10', '--noflush']
V6_WRITE = ['/usr/sbin/ip6tables-nft-restore', '-w', '10', '--noflush']


def dry_runs_and_writes():
    return [Tool(V4_WRITE + ['--test'], data=PAYLOAD['ipv4']), Tool(V6_WRITE + ['--test'], data=PAYLOAD['ipv6']),
            Tool(V4_WRITE, data=PAYLOAD['ipv4']), Tool(V6_WRITE, data=PAYLOAD['ipv6'])]


def test_every_family_is_dry_run_before_the_first_write_and_read_back_after_the_last():
    script = dry_runs_and_writes() + [Tool(['/usr/sbin/iptables-nft-save', '-t', 'filter'], stdout='v4 now'),
                                      Tool(['/usr/sbin/ip6tables-nft-save', '-t', 'filter'], stdout='v6 now')]
    runner = FakeRunner(script, TOOLS, 'test')
    tested = []
    commands, in_effect = converge.converge(IptablesHost(runner), 'nft', PAYLOAD, lambda family, text: (family, text),
                                            after_test=lambda: tested.append(len(runner.ran)), table='filter')
    assert runner.ran == [call.expected for call in script]
    assert tested == [2]  # once, after both dry runs, before the first write
    assert commands == [V4_WRITE, V6_WRITE]
    assert in_effect == {'ipv4': ('ipv4', 'v4 now'), 'ipv6': ('ipv6', 'v6 now')}


def test_a_read_back_otherwise_carries_every_family_and_the_writes():
    script = dry_runs_and_writes() + [Tool(['/usr/sbin/iptables-nft-save'], stdout='v4 now')]
    runner = FakeRunner(script, TOOLS, 'test')

    def read_back(family, text):
        raise converge.ReadBackError('%s: %s' % (family, text))

    with pytest.raises(converge.ReadBackError, match='^ipv4: v4 now$') as raised:
        converge.converge(IptablesHost(runner), 'nft', PAYLOAD, read_back)
    assert runner.ran == [call.expected for call in script]
    assert (raised.value.written, raised.value.commands) == (['ipv4', 'ipv6'], [V4_WRITE, V6_WRITE])


@pytest.mark.parametrize('answer, variant', [
    (dict(stdout='iptables v1.8.9 (legacy)\n'), 'legacy'),
    (dict(stdout='iptables v1.8.9 (nf_tables)\n'), 'nft'),
    (dict(rc=1, stderr='iptables: not permitted\n'), None),
])
def test_the_command_variant_is_what_iptables_version_says(answer, variant):
    script = [Call(['/usr/sbin/iptables', '--version'], **answer)]
    runner = FakeRunner(script, TOOLS, 'test')
    assert converge.command_variant(runner) == variant
    assert runner.ran == [call.expected for call in script]


def test_without_the_iptables_command_no_variant_is_said_and_nothing_runs():
    runner = FakeRunner([], TOOLS, 'test', missing=('iptables',))
    assert converge.command_variant(runner) is None and runner.ran == []


# --- the collection's nftables table: the same sequence (converge_table, table_in_place) ---------------

NFT_TOOLS = {'nft': '/usr/sbin/nft'}
NAME = 'inet netops-docker-firewall'
# The router pair wg0 <-> eth0 as the table holds it (written out by hand in the module tests); the payload
# replaces the table.
PAIR = TABLE_PAIR
PAIR_PAYLOAD = NFT_HEAD + PAIR


def pair_table():
    """The table PAIR describes, as the read-back compares it (nft -f input read as nft lists it)."""
    return nft.parse_payload(PAIR_PAYLOAD)


def nft_host(script):
    runner = FakeRunner(script, NFT_TOOLS, 'test')
    return NftHost(runner, 'inet', 'netops-docker-firewall'), runner


def test_the_table_is_dry_run_then_written_then_listed_and_compared():
    script = [Tool(NFT_CHECK, data=PAIR_PAYLOAD), Tool(NFT_LOAD, data=PAIR_PAYLOAD), Tool(NFT_LIST, stdout=PAIR)]
    host, runner = nft_host(script)
    tested = []
    commands, in_effect = converge.converge_table(host, PAIR_PAYLOAD, converge.table_in_place(pair_table()),
                                                  after_test=lambda: tested.append(len(runner.ran)))
    assert runner.ran == [call.expected for call in script]
    assert tested == [1]  # after the dry run, before the write
    assert (commands, in_effect) == ([NFT_LOAD], {NAME: PAIR})


def test_a_table_refused_by_the_dry_run_is_not_written():
    script = [Tool(NFT_CHECK, data=PAIR_PAYLOAD, rc=1, stderr='/dev/stdin:5:3-9: Error: syntax error\n')]
    host, runner = nft_host(script)
    with pytest.raises(CommandError) as raised:
        converge.converge_table(host, PAIR_PAYLOAD, converge.table_in_place(pair_table()))
    assert runner.ran == [call.expected for call in script]  # no nft -f, no read-back
    assert str(raised.value) == 'checking the nftables table inet netops-docker-firewall failed; nothing was changed'
    assert raised.value.cmd == NFT_CHECK and not hasattr(raised.value, 'written')


def test_a_table_write_that_fails_wrote_nothing():
    script = [Tool(NFT_CHECK, data=PAIR_PAYLOAD), Tool(NFT_LOAD, data=PAIR_PAYLOAD, rc=1, stderr='netlink: Error\n')]
    host, runner = nft_host(script)
    with pytest.raises(CommandError) as raised:
        converge.converge_table(host, PAIR_PAYLOAD, converge.table_in_place(pair_table()))
    assert runner.ran == [call.expected for call in script]
    assert str(raised.value) == 'applying the nftables table inet netops-docker-firewall failed; nothing was changed'
    assert (raised.value.written, raised.value.commands) == ([], [])


@pytest.mark.parametrize('listed, differences', [
    pytest.param(PAIR.replace('\t\tiifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"\n', ''),
                 'chain forward holds other rules', id='a-rule-gone'),
    pytest.param(PAIR.replace('\t}\n}\n', '\t}\n\tchain extra {\n\t}\n}\n'), 'chain extra was not written', id='a-chain-added'),
    pytest.param('', 'the table is missing', id='the-table-gone'),
])
def test_a_table_read_back_otherwise_names_what_differs_and_says_it_was_written(listed, differences):
    script = [Tool(NFT_CHECK, data=PAIR_PAYLOAD), Tool(NFT_LOAD, data=PAIR_PAYLOAD), Tool(NFT_LIST, stdout=listed)]
    host, runner = nft_host(script)
    with pytest.raises(converge.ReadBackError) as raised:
        converge.converge_table(host, PAIR_PAYLOAD, converge.table_in_place(pair_table()))
    assert runner.ran == [call.expected for call in script]
    assert str(raised.value) == ('the nftables table differs from what was written (did another tool change it at the '
                                 'same time?): ' + differences)
    assert (raised.value.written, raised.value.commands) == ([NAME], [NFT_LOAD])


def test_a_table_read_back_that_is_not_ours_is_a_failed_read_back():
    script = [Tool(NFT_CHECK, data=PAIR_PAYLOAD), Tool(NFT_LOAD, data=PAIR_PAYLOAD),
              Tool(NFT_LIST, stdout='table inet other {\n}\n')]
    host, runner = nft_host(script)
    with pytest.raises(converge.ReadBackError) as raised:
        converge.converge_table(host, PAIR_PAYLOAD, converge.table_in_place(pair_table()))
    assert str(raised.value) == ("the nftables table cannot be read back: not the collection's table: "
                                 "table inet other {")
    assert raised.value.written == [NAME]


@pytest.mark.parametrize('listed, why', [
    pytest.param('table inet netops-docker-firewall {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n'
                 '\t\telements = { 10.0.0.1 counter packets 0 bytes 0 }\n\t}\n}\n',
                 "'10.0.0.1 counter packets 0 bytes 0' does not appear to be an IPv4 or IPv6 network", id='an-element-unread'),
    pytest.param('table inet netops-docker-firewall {\n\tchain forward {\n', 'list index out of range', id='cut-short'),
])
def test_a_table_listing_the_reader_breaks_on_is_a_failed_read_back(listed, why):
    """Not only the reader's own syntax errors: whatever it raises on a listing is a failed read-back, so
    that the restore program goes on to the ipsets and DOCKER-USER instead of stopping."""
    script = [Tool(NFT_CHECK, data=PAIR_PAYLOAD), Tool(NFT_LOAD, data=PAIR_PAYLOAD), Tool(NFT_LIST, stdout=listed)]
    host, runner = nft_host(script)
    with pytest.raises(converge.ReadBackError) as raised:
        converge.converge_table(host, PAIR_PAYLOAD, converge.table_in_place(pair_table()))
    assert str(raised.value) == 'the nftables table cannot be read back: ' + why
    assert raised.value.written == [NAME]


def test_a_table_removed_is_read_back_gone():
    removal = 'table inet netops-docker-firewall\ndelete table inet netops-docker-firewall\n'
    script = [Tool(NFT_CHECK, data=removal), Tool(NFT_LOAD, data=removal),
              Tool(NFT_LIST, rc=1, stderr='Error: No such file or directory\nlist table inet netops-docker-firewall\n')]
    host, runner = nft_host(script)
    assert converge.converge_table(host, removal, converge.table_in_place(None)) == ([NFT_LOAD], {NAME: ''})
    assert runner.ran == [call.expected for call in script]
