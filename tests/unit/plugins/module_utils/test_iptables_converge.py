# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_iptables_converge, the one way the collection writes iptables, run with a host program's runner
(the shared FakeRunner, with HostRunner's interface; the modules' tests run it through AnsibleModule):
the exact commands in order, when `after_test` runs, and what a failure after a write carries."""

import pytest

from fake_runner import Call, FakeRunner, Tool
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _iptables_converge as converge
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import IptablesHost

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
