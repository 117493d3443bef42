# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The allowlist modules keeping large source lists in ipsets (source_sets): the exact commands
they run on Docker's iptables backend, in order (iptables-save per family, `ipset save`, `ipset
restore` before the chains are written, iptables-restore --test and the write, the read-backs,
`ipset restore` of what no rule matches any more, `ipset save` read back), what they return, and how
they fail. The chains are the real captures under tests/unit/fixtures/docker-iptables; `ipset save`
is printed as ipset v7.17 prints it."""

import pytest

import plugins.modules.conftest as modules_conftest
from fake_runner import Tool
from plugins.module_utils.test_ipset import saved_by_ipset
from plugins.modules.test_docker_user_modules import (
    DOCKER20,
    DOCKER20_V6,
    DOCKER28,
    DOCKER28_V6,
    NFT_APPLY,
    NFT_HEAD,
    NFT_LIST,
    NFT_TEST,
    V4_RESTORE,
    V4_SAVE,
    V4_TEST,
    V6_RESTORE,
    V6_SAVE,
    V6_TEST,
    capture,
    restore,
    save_with,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module as docker_user_module
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import allowlist_block
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._ipset import IpSet
from ansible_collections.netops.docker_firewall.plugins.modules import (
    docker_user_accept,
    docker_user_allowlist,
    docker_user_chain,
)

IPSET_SAVE = ['/usr/sbin/ipset', 'save']
IPSET_RESTORE = ['/usr/sbin/ipset', 'restore']
IPSET_LIST = ['/usr/sbin/ipset', 'list', '-n']
DESTROY_ATTEMPTS = docker_user_module.DESTROY_ATTEMPTS


@pytest.fixture(autouse=True)
def no_destroy_pause(monkeypatch):
    monkeypatch.setattr(docker_user_module, 'DESTROY_PAUSE', 0)


V4 = 'netops-dfw-ext0-v4'
T4 = 'netops-dfw-ext0-t4'
TAG = '"netops.docker_firewall/allowlist:ext0"'

# 100 sources: 90 IPv4 entries that do not merge (80 hosts, 10 ranges of 6), 10 IPv6 networks. With
# source_sets=auto the IPv4 side goes in a set (above 64 entries), the IPv6 side stays rules.
HOSTS = ['192.0.2.%d' % (2 * k) for k in range(80)]
RANGES = ['198.51.100.%d-198.51.100.%d' % (16 * k + 1, 16 * k + 6) for k in range(10)]
V6_NETWORKS = ['2001:db8:%x::/48' % (2 * k) for k in range(1, 11)]
SOURCES = HOSTS + RANGES + V6_NETWORKS
# What the set holds: each range split into networks, hosts without /32, in address order.
ENTRIES = HOSTS + [entry for k in range(10) for entry in (
    '198.51.100.%d' % (16 * k + 1), '198.51.100.%d/31' % (16 * k + 2), '198.51.100.%d/31' % (16 * k + 4),
    '198.51.100.%d' % (16 * k + 6))]
SET_RULE = ('-A DOCKER-USER -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v4 src -m conntrack '
            '--ctorigdstport 443 -m comment --comment %s -j RETURN' % TAG)
PAYLOAD = ('create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536\n'
           + ''.join('add netops-dfw-ext0-v4 %s\n' % entry for entry in ENTRIES))
COUNT = dict(declared=100, ipv4=90, ipv6=10, ipsets={V4: 120})
# The rules above, written out: replies, new connections into a container bridge without DNAT, the
# sources (IPv4: the set; IPv6: one rule per network), the rest to port 443 dropped.
OURS_IPV4 = [
    '-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN' % TAG,
    '-A DOCKER-USER -i ext0 -o docker+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP' % TAG,
    '-A DOCKER-USER -i ext0 -o br-+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP' % TAG,
    SET_RULE,
    '-A DOCKER-USER -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j DROP' % TAG,
]
OURS_IPV6 = OURS_IPV4[:3] + [
    '-A DOCKER-USER -s %s -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j RETURN' % (network, TAG)
    for network in V6_NETWORKS] + OURS_IPV4[4:]
OURS = dict(ipv4=OURS_IPV4, ipv6=OURS_IPV6)
# The restore inputs that write them where none of ours is: inserted at the top, in order.
FIRST_IPV4 = ('*filter\n'
              '-I DOCKER-USER 1 -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN\n'
              '-I DOCKER-USER 2 -i ext0 -o docker+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
              '-I DOCKER-USER 3 -i ext0 -o br-+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
              '-I DOCKER-USER 4 -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v4 src -m conntrack --ctorigdstport 443'
              ' -m comment --comment %s -j RETURN\n'
              '-I DOCKER-USER 5 -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j DROP\n'
              'COMMIT\n') % ((TAG,) * 5)
FIRST_IPV6 = ('*filter\n'
              '-I DOCKER-USER 1 -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN\n'
              '-I DOCKER-USER 2 -i ext0 -o docker+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
              '-I DOCKER-USER 3 -i ext0 -o br-+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
              % ((TAG,) * 3)
              + ''.join('-I DOCKER-USER %d -s %s -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j RETURN\n'
                        % (4 + k, network, TAG) for k, network in enumerate(V6_NETWORKS))
              + '-I DOCKER-USER 14 -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j DROP\n' % TAG
              + 'COMMIT\n')
# The restore inputs that remove them: each deleted by its spec.
REMOVE_IPV4 = ('*filter\n'
               '-D DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN\n'
               '-D DOCKER-USER -i ext0 -o docker+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
               '-D DOCKER-USER -i ext0 -o br-+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
               '-D DOCKER-USER -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v4 src -m conntrack --ctorigdstport 443'
               ' -m comment --comment %s -j RETURN\n'
               '-D DOCKER-USER -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j DROP\n'
               'COMMIT\n') % ((TAG,) * 5)
REMOVE_IPV6 = ('*filter\n'
               '-D DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN\n'
               '-D DOCKER-USER -i ext0 -o docker+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
               '-D DOCKER-USER -i ext0 -o br-+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP\n'
               % ((TAG,) * 3)
               + ''.join('-D DOCKER-USER -s %s -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j RETURN\n'
                         % (network, TAG) for network in V6_NETWORKS)
               + '-D DOCKER-USER -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j DROP\n' % TAG
               + 'COMMIT\n')
# The same list with source_sets=never: IPv4 one rule per host (as /32) and per range, in address order.
NEVER_IPV4 = OURS_IPV4[:3] + [
    '-A DOCKER-USER -s %s/32 -i ext0 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment %s -j RETURN' % (host, TAG)
    for host in HOSTS] + [
    '-A DOCKER-USER -i ext0 -p tcp -m iprange --src-range %s -m conntrack --ctorigdstport 443 -m comment --comment %s -j RETURN'
    % (span, TAG) for span in RANGES] + OURS_IPV4[4:]
# With source_sets=always, IPv6 matches its set as IPv4 does.
ALWAYS_IPV6 = OURS_IPV4[:3] + [
    '-A DOCKER-USER -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v6 src -m conntrack --ctorigdstport 443'
    ' -m comment --comment %s -j RETURN' % TAG] + OURS_IPV4[4:]


def to_8443(lines):
    return [line.replace('--ctorigdstport 443 ', '--ctorigdstport 8443 ') for line in lines]


# The list changed: five hosts gone, a network added (still a set, the same rules).
CHANGED = HOSTS[5:] + RANGES + V6_NETWORKS + ['203.0.113.0/24']
CHANGED_ENTRIES = ENTRIES[5:] + ['203.0.113.0/24']
# A changed set: filled aside before the chains' dry run, swapped in after it; its old content, in
# the staging set after the swap, destroyed once the chains are written and read back.
FILL = ('create netops-dfw-ext0-t4 hash:net family inet hashsize 1024 maxelem 65536\n'
        + ''.join('add netops-dfw-ext0-t4 %s\n' % entry for entry in CHANGED_ENTRIES))
SWAP = 'swap netops-dfw-ext0-t4 netops-dfw-ext0-v4\n'
RETIRE = 'destroy netops-dfw-ext0-t4\n'

# Sets of another tool on the host; and ours as the kernel saves them (grown hash size, hash order).
FOREIGN = ('create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12 '
           'initval 0x1d2c3b4a\n'
           'add f2b-sshd 203.0.113.5 timeout 412\n')
IN_USE = 'ipset v7.17: Error in line 1: Set cannot be destroyed: it is in use by a kernel component\n'


def kernel(*sets):
    """`ipset save` of the host: the other tool's set and `sets` ({name: entries})."""
    return FOREIGN + saved_by_ipset([IpSet(name, 'ipv6' if name.endswith('6') else 'ipv4', list(entries))
                                     for name, entries in sorted(dict(*sets).items())], hashsize=2048)


@pytest.fixture(autouse=True)
def daemon_json(monkeypatch, tmp_path):
    """A daemon.json of the test's own, with the userland proxy off: no warning about its path."""
    path = tmp_path / 'daemon.json'
    path.write_text('{"userland-proxy": false}')
    monkeypatch.setitem(docker_user_module.COMMON_ARGUMENT_SPEC['daemon_json'], 'default', str(path))
    return path


@pytest.fixture
def no_ipset(monkeypatch):
    """A host without the ipset command (every other tool is in /usr/sbin)."""
    def bin_path(module, name, required=False, opt_dirs=None):
        return None if name == 'ipset' else '/usr/sbin/' + name
    monkeypatch.setattr(modules_conftest, 'bin_path', bin_path)


def ran(table):
    return [argv for argv, _data, _binary_data, _environ in table.ran]


def reads_have_no_stdin(table):
    assert all(data is None for argv, data, _binary_data, _environ in table.ran if argv in (V4_SAVE, V6_SAVE, IPSET_SAVE))


def allowlist(**args):
    return dict(dict(interface='ext0', sources=SOURCES, ports=['443']), **args)


# ---------------------------------------------------------------------------------------------
# docker_user_allowlist


def test_first_apply_creates_the_set_then_writes_the_rules_that_match_it_and_reads_both_back(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_SAVE, stdout=FOREIGN),
        Tool(IPSET_RESTORE, data=PAYLOAD),
        Tool(V4_TEST, data=FIRST_IPV4),
        Tool(V6_TEST, data=FIRST_IPV6),
        Tool(V4_RESTORE, data=FIRST_IPV4),
        Tool(V6_RESTORE, data=FIRST_IPV6),
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    reads_have_no_stdin(table)
    assert result['changed'] is True and 'failed' not in result and result.get('warnings', []) == []
    assert result['commands'] == [IPSET_RESTORE, V4_RESTORE, V6_RESTORE]
    assert result['ipsets'] == {V4: 120}
    assert result['ipset_payload'] == PAYLOAD
    assert result['sources_count'] == COUNT
    # IPv4: replies, the two bridge drops, the set, the drop; IPv6: one rule per network.
    assert result['rules']['ipv4'] == OURS['ipv4'] and len(OURS['ipv4']) == 5 and OURS['ipv4'][3] == SET_RULE
    assert [line for line in result['rules']['ipv4'] if '--match-set' in line] == [SET_RULE]
    assert len(result['rules']['ipv6']) == 14 and not any('--match-set' in line for line in result['rules']['ipv6'])
    assert result['blocks'] == {'ipv4': ['allowlist:ext0'], 'ipv6': ['allowlist:ext0']}


def test_a_changed_list_and_port_swap_the_set_only_after_the_chains_dry_run_and_before_their_write(run_module):
    new = dict(ipv4=to_8443(OURS_IPV4), ipv6=to_8443(OURS_IPV6))
    v4 = restore(OURS_IPV4, new['ipv4'])
    v6 = restore(OURS_IPV6, new['ipv6'])
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED, ports=['8443']), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(IPSET_RESTORE, data=FILL),
        Tool(V4_TEST, data=v4), Tool(V6_TEST, data=v6),
        Tool(IPSET_RESTORE, data=SWAP),
        Tool(V4_RESTORE, data=v4), Tool(V6_RESTORE, data=v6),
        Tool(V4_SAVE, stdout=save_with(new['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(new['ipv6'], DOCKER28_V6)),
        Tool(IPSET_RESTORE, data=RETIRE),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES})),
    ])
    assert result['changed'] is True and 'failed' not in result
    assert result['commands'] == [IPSET_RESTORE, IPSET_RESTORE, V4_RESTORE, V6_RESTORE, IPSET_RESTORE]


def test_a_converged_run_only_reads(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    reads_have_no_stdin(table)
    assert result['changed'] is False and result['commands'] == []
    assert result['ipsets'] == {V4: 120} and result['ipset_payload'] == PAYLOAD
    assert result['sources_count'] == COUNT


def test_a_changed_source_list_is_filled_aside_and_swapped_in_and_the_chain_left_alone(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(IPSET_RESTORE, data=FILL),
        Tool(IPSET_RESTORE, data=SWAP),
        Tool(IPSET_RESTORE, data=RETIRE),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES})),
    ])
    assert result['changed'] is True and result['commands'] == [IPSET_RESTORE, IPSET_RESTORE, IPSET_RESTORE]
    assert result['ipsets'] == {V4: 116}
    assert result['sources_count'] == dict(declared=96, ipv4=86, ipv6=10, ipsets={V4: 116})
    assert result['ipset_payload'].splitlines()[-1] == 'add netops-dfw-ext0-v4 203.0.113.0/24'
    assert result['rules'] == OURS


def test_a_changed_source_list_in_check_mode_is_read_diffed_with_the_entries_and_not_written(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ], check_mode=True, diff=True)
    assert result['changed'] is True and result['commands'] == []
    assert result['ipsets'] == {V4: 116}
    chains = ''.join('\n'.join(['# %s (nft) DOCKER-USER' % family] + OURS[family]) + '\n'
                     for family in ('ipv4', 'ipv6'))
    assert result['diff']['before'] == (chains + '# ipset netops-dfw-ext0-v4 (hash:net ipv4, 120 entries)\n'
                                        + ''.join(entry + '\n' for entry in ENTRIES))
    assert result['diff']['after'] == (chains + '# ipset netops-dfw-ext0-v4 (hash:net ipv4, 116 entries)\n'
                                       + ''.join(entry + '\n' for entry in CHANGED_ENTRIES))


def test_a_first_apply_in_check_mode_shows_the_new_set_and_runs_no_restore(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_SAVE, stdout=FOREIGN),
    ], check_mode=True, diff=True)
    assert result['changed'] is True and result['commands'] == [] and result['ipset_payload'] == PAYLOAD
    assert result['diff']['before'] == '# ipv4 (nft) DOCKER-USER\n# ipv6 (nft) DOCKER-USER\n'
    assert result['diff']['after'].endswith('# ipset netops-dfw-ext0-v4 (hash:net ipv4, 120 entries)\n'
                                            + ''.join(entry + '\n' for entry in ENTRIES))
    assert 'f2b-sshd' not in result['diff']['after']


def test_switching_to_never_writes_the_rules_and_then_destroys_the_set(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(source_sets='never'), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(V4_TEST, data=restore(OURS_IPV4, NEVER_IPV4)),
        Tool(V4_RESTORE, data=restore(OURS_IPV4, NEVER_IPV4)),
        Tool(V4_SAVE, stdout=save_with(NEVER_IPV4, DOCKER28)),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n'),
        Tool(IPSET_SAVE, stdout=FOREIGN),
    ])
    order = ran(table)
    assert order.index(IPSET_RESTORE) == order.index(V4_RESTORE) + 2  # after the write and its read-back
    assert result['changed'] is True and result['commands'] == [V4_RESTORE, IPSET_RESTORE]
    assert result['ipsets'] == {} and result['ipset_payload'] == ''
    assert result['sources_count'] == dict(declared=100, ipv4=90, ipv6=10, ipsets={})
    assert len(result['rules']['ipv4']) == 94 and not any('--match-set' in line for line in result['rules']['ipv4'])
    assert result['rules']['ipv4'][3].startswith(
        '-A DOCKER-USER -s 192.0.2.0/32 -i ext0 -p tcp -m conntrack --ctorigdstport 443 ')


def test_switching_back_to_a_set_creates_it_before_the_rules_are_written(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(source_sets='always'), [
        Tool(V4_SAVE, stdout=save_with(NEVER_IPV4, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS_IPV6, DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=FOREIGN),
        Tool(IPSET_RESTORE, data=PAYLOAD + 'create netops-dfw-ext0-v6 hash:net family inet6 hashsize 1024 '
             'maxelem 65536\n' + ''.join('add netops-dfw-ext0-v6 %s\n' % n for n in V6_NETWORKS)),
        Tool(V4_TEST, data=restore(NEVER_IPV4, OURS_IPV4)), Tool(V6_TEST, data=restore(OURS_IPV6, ALWAYS_IPV6)),
        Tool(V4_RESTORE, data=restore(NEVER_IPV4, OURS_IPV4)), Tool(V6_RESTORE, data=restore(OURS_IPV6, ALWAYS_IPV6)),
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(ALWAYS_IPV6, DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, 'netops-dfw-ext0-v6': V6_NETWORKS})),
    ])
    assert result['changed'] is True and result['ipsets'] == {V4: 120, 'netops-dfw-ext0-v6': 10}
    assert result['commands'] == [IPSET_RESTORE, V4_RESTORE, V6_RESTORE]


def test_absent_destroys_the_set_after_the_chain_no_longer_matches_it(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='ext0', state='absent'), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(V4_TEST, data=REMOVE_IPV4),
        Tool(V6_TEST, data=REMOVE_IPV6),
        Tool(V4_RESTORE, data=REMOVE_IPV4),
        Tool(V6_RESTORE, data=REMOVE_IPV6),
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n'),
        Tool(IPSET_SAVE, stdout=FOREIGN),
    ])
    assert ran(table)[-2:] == [IPSET_RESTORE, IPSET_SAVE]
    assert result['changed'] is True and result['removed_blocks'] == ['allowlist:ext0']
    assert result['commands'] == [V4_RESTORE, V6_RESTORE, IPSET_RESTORE]
    assert result['ipsets'] == {} and result['ipset_payload'] == '' and 'sources_count' not in result


def test_a_set_that_cannot_be_destroyed_after_the_write_fails_the_task_with_ipset_s_answer(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='ext0', state='absent'), absent_in_use())
    assert result['failed'] is True
    assert result['msg'].startswith('destroying the ipsets no rule of ours matches any more failed, after the chains '
                                    'were written')
    assert (result['cmd'], result['rc'], result['stderr']) == (IPSET_RESTORE, 1, IN_USE)


def absent_in_use():
    """state=absent where another rule (outside DOCKER-USER) still matches the set: both chains are
    written, then ipset refuses the destroy, every time it is tried (with the set still there)."""
    retries = [Tool(IPSET_LIST, stdout='f2b-sshd\nnetops-dfw-ext0-v4\n'),
               Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n', rc=1, stderr=IN_USE)]
    return [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(V4_TEST, data=REMOVE_IPV4), Tool(V6_TEST, data=REMOVE_IPV6),
        Tool(V4_RESTORE, data=REMOVE_IPV4), Tool(V6_RESTORE, data=REMOVE_IPV6),
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n', rc=1, stderr=IN_USE),
    ] + retries * (DESTROY_ATTEMPTS - 1)


def test_a_destroy_refused_as_in_use_is_tried_again_and_done_once_the_set_is_released(run_module):
    table = absent_in_use()[:-2 * (DESTROY_ATTEMPTS - 1)] + [
        Tool(IPSET_LIST, stdout='f2b-sshd\nnetops-dfw-ext0-v4\n'),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n'),
        Tool(IPSET_SAVE, stdout=FOREIGN),
    ]
    result, ran_table = run_module(docker_user_allowlist.main, dict(interface='ext0', state='absent'), table)
    assert result['changed'] is True and result['ipsets'] == {}
    assert result['commands'][-1] == IPSET_RESTORE


def test_a_set_that_cannot_be_destroyed_after_the_write_reports_the_chains_written(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='ext0', state='absent'), absent_in_use())
    assert result['failed'] is True
    assert result['changed'] is True and result['written_families'] == ['ipv4', 'ipv6']


def test_a_failing_ipset_restore_fails_the_task_and_iptables_is_not_written(run_module):
    stderr = 'ipset v7.17: Error in line 2: Kernel error received: Cannot allocate memory\n'
    result, table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_SAVE, stdout=FOREIGN),
        Tool(IPSET_RESTORE, data=PAYLOAD, rc=1, stderr=stderr),
        Tool(IPSET_SAVE, stdout=FOREIGN),
    ])
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'] == ('writing the ipsets failed; the sets rules match were not changed (a live set is changed '
                             'only by a swap)')
    assert (result['cmd'], result['rc'], result['stderr']) == (IPSET_RESTORE, 1, stderr)
    assert result['written_families'] == []
    assert not any(argv[0].endswith('-restore') for argv in ran(table))


def fill_then_rejected():
    """A changed list and a changed port: the new content is filled aside, then iptables-restore --test
    refuses the chain; the swap never runs."""
    return [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(IPSET_RESTORE, data=FILL),
        Tool(V4_TEST, rc=2, stderr='iptables-restore: line 4 failed\n', data=restore(OURS_IPV4, to_8443(OURS_IPV4))),
    ]


def test_a_rejected_chain_fails_the_task_and_writes_no_chain_and_swaps_no_set(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED, ports=['8443']),
                               fill_then_rejected())
    assert result['failed'] is True and result['cmd'] == V4_TEST
    assert ran(table).count(V4_RESTORE) == 0 and ran(table).count(V6_RESTORE) == 0
    assert not any('swap ' in (data or '') for _argv, data, _binary_data, _environ in table.ran)


def test_a_rejected_chain_after_the_fill_says_the_matched_sets_are_as_they_were(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED, ports=['8443']),
                               fill_then_rejected())
    assert result['changed'] is True and 'nothing was changed' not in result['msg']
    assert result['msg'].endswith('new sets were filled beside the ones rules match, which are as they were: the next '
                                  'run puts them in place or destroys them')


# A failure once the sets are swapped in: the sets of the families whose chains were not written are
# swapped back (their staging twins still hold the old content), and the error says what each holds.

T6 = 'netops-dfw-ext0-t6'
V6 = 'netops-dfw-ext0-v6'
NEW_V6 = V6_NETWORKS + ['2001:db8:ff::/48']
# Both families in sets (source_sets=always); then both lists changed, and the port.
BOTH_BEFORE = dict(ipv4=OURS_IPV4, ipv6=ALWAYS_IPV6)
BOTH_AFTER = dict(ipv4=to_8443(OURS_IPV4), ipv6=to_8443(ALWAYS_IPV6))
FILL_V6 = ('create netops-dfw-ext0-t6 hash:net family inet6 hashsize 1024 maxelem 65536\n'
           + ''.join('add netops-dfw-ext0-t6 %s\n' % network for network in NEW_V6))
SWAP_BOTH = 'swap netops-dfw-ext0-t4 netops-dfw-ext0-v4\nswap netops-dfw-ext0-t6 netops-dfw-ext0-v6\n'
WRITE_FAILED = 'iptables-restore: line 3 failed\n'
IPSET_FAILED = 'ipset v7.17: Error in line 2: Kernel error received: Cannot allocate memory\n'


def both_changed_until_the_swap():
    """Both families' chains and sets change: read, fill both staging sets, dry-run both chains, swap both."""
    return [
        Tool(V4_SAVE, stdout=save_with(BOTH_BEFORE['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(BOTH_BEFORE['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, V6: V6_NETWORKS})),
        Tool(IPSET_RESTORE, data=FILL + FILL_V6),
        Tool(V4_TEST, data=restore(BOTH_BEFORE['ipv4'], BOTH_AFTER['ipv4'])),
        Tool(V6_TEST, data=restore(BOTH_BEFORE['ipv6'], BOTH_AFTER['ipv6'])),
        Tool(IPSET_RESTORE, data=SWAP_BOTH),
    ]


def test_a_chain_write_that_fails_after_the_swap_swaps_the_set_back_and_says_what_is_in_force(run_module):
    new = dict(ipv4=to_8443(OURS_IPV4), ipv6=to_8443(OURS_IPV6))
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED, ports=['8443']), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(IPSET_RESTORE, data=FILL),
        Tool(V4_TEST, data=restore(OURS_IPV4, new['ipv4'])),
        Tool(V6_TEST, data=restore(OURS_IPV6, new['ipv6'])),
        Tool(IPSET_RESTORE, data=SWAP),
        Tool(V4_RESTORE, data=restore(OURS_IPV4, new['ipv4']), rc=4, stderr=WRITE_FAILED),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES, T4: ENTRIES})),
        Tool(IPSET_RESTORE, data=SWAP),  # the same swap, back
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, T4: CHANGED_ENTRIES})),
    ])
    assert result['failed'] is True and result['changed'] is True and result['written_families'] == []
    assert (result['cmd'], result['rc'], result['stderr']) == (V4_RESTORE, 4, WRITE_FAILED)
    assert result['msg'] == ('applying the new ipv4 DOCKER-USER chain failed; it was left unchanged; the ipsets swapped '
                             'in were swapped back where no chain was written (netops-dfw-ext0-v4); in force now: '
                             'netops-dfw-ext0-v4 holds what it held before this run')


def test_a_failure_after_one_family_is_written_keeps_its_set_and_swaps_back_the_other_s(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED + ['2001:db8:ff::/48'],
                                                                     ports=['8443'], source_sets='always'),
                               both_changed_until_the_swap() + [
        Tool(V4_RESTORE, data=restore(BOTH_BEFORE['ipv4'], BOTH_AFTER['ipv4'])),
        Tool(V6_RESTORE, data=restore(BOTH_BEFORE['ipv6'], BOTH_AFTER['ipv6']), rc=4, stderr=WRITE_FAILED),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES, T4: ENTRIES, V6: NEW_V6, T6: V6_NETWORKS})),
        Tool(IPSET_RESTORE, data='swap netops-dfw-ext0-t6 netops-dfw-ext0-v6\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES, T4: ENTRIES, V6: V6_NETWORKS, T6: NEW_V6})),
    ])
    assert result['failed'] is True and result['changed'] is True and result['written_families'] == ['ipv4']
    assert result['msg'] == ('applying the new ipv6 DOCKER-USER chain failed; it was left unchanged; ipv4 was already '
                             'written: run the task again to finish (the next run writes only what differs); the '
                             'ipsets swapped in were swapped back where no chain was written (netops-dfw-ext0-v6); in '
                             'force now: netops-dfw-ext0-v4 holds the sources of this run, netops-dfw-ext0-v6 holds '
                             'what it held before this run')


def test_a_swap_back_that_fails_says_what_each_set_holds_as_read_back(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED + ['2001:db8:ff::/48'],
                                                                     ports=['8443'], source_sets='always'),
                               both_changed_until_the_swap() + [
        Tool(V4_RESTORE, rc=4, stderr=WRITE_FAILED, data=restore(BOTH_BEFORE['ipv4'], BOTH_AFTER['ipv4'])),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES, T4: ENTRIES, V6: NEW_V6, T6: V6_NETWORKS})),
        Tool(IPSET_RESTORE, data=SWAP_BOTH, rc=1, stderr=IPSET_FAILED),  # the first line went through
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, T4: CHANGED_ENTRIES, V6: NEW_V6, T6: V6_NETWORKS})),
    ])
    assert result['failed'] is True and result['changed'] is True and result['written_families'] == []
    assert result['msg'] == ('applying the new ipv4 DOCKER-USER chain failed; it was left unchanged; putting the ipsets '
                             'back failed (%s); in force now: netops-dfw-ext0-v4 holds what it held before this run, '
                             'netops-dfw-ext0-v6 holds the sources of this run' % IPSET_FAILED.strip())


def test_a_swap_that_fails_half_way_swaps_back_only_the_set_it_swapped(run_module):
    """The chains do not change (only the sources); `ipset restore` of the swaps stops at its second line."""
    sources = CHANGED + ['2001:db8:ff::/48']
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=sources, source_sets='always'), [
        Tool(V4_SAVE, stdout=save_with(BOTH_BEFORE['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(BOTH_BEFORE['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, V6: V6_NETWORKS})),
        Tool(IPSET_RESTORE, data=FILL + FILL_V6),
        Tool(IPSET_RESTORE, data=SWAP_BOTH, rc=1, stderr=IPSET_FAILED),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES, T4: ENTRIES, V6: V6_NETWORKS, T6: NEW_V6})),
        Tool(IPSET_RESTORE, data='swap netops-dfw-ext0-t4 netops-dfw-ext0-v4\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, T4: CHANGED_ENTRIES, V6: V6_NETWORKS, T6: NEW_V6})),
    ])
    assert result['failed'] is True and result['changed'] is True and result['written_families'] == []
    assert (result['cmd'], result['stderr']) == (IPSET_RESTORE, IPSET_FAILED)
    assert result['msg'] == ('writing the ipsets failed; the ipsets swapped in were swapped back where no chain was '
                             'written (netops-dfw-ext0-v4); in force now: netops-dfw-ext0-v4 holds what it held before '
                             'this run, netops-dfw-ext0-v6 holds what it held before this run')


def test_a_chain_read_back_otherwise_than_written_after_the_swap_reports_the_change_and_the_sets(run_module):
    new = dict(ipv4=to_8443(OURS_IPV4), ipv6=to_8443(OURS_IPV6))
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED, ports=['8443']), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(IPSET_RESTORE, data=FILL),
        Tool(V4_TEST, data=restore(OURS_IPV4, new['ipv4'])), Tool(V6_TEST, data=restore(OURS_IPV6, new['ipv6'])),
        Tool(IPSET_RESTORE, data=SWAP),
        Tool(V4_RESTORE, data=restore(OURS_IPV4, new['ipv4'])), Tool(V6_RESTORE, data=restore(OURS_IPV6, new['ipv6'])),
        Tool(V4_SAVE, stdout=save_with(new['ipv4'][1:], DOCKER28)),  # a rule of ours is missing
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES, T4: ENTRIES})),
    ])
    # Both chains were written: the set stays with them.
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'].startswith('ipv4 DOCKER-USER differs from what was written (did another tool change it at the '
                                    'same time?): ')
    assert result['msg'].endswith('; no ipset needed swapping back; in force now: netops-dfw-ext0-v4 holds the sources '
                                  'of this run')


def test_a_set_read_back_otherwise_than_written_is_reported(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=CHANGED), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(IPSET_RESTORE, data=FILL),
        Tool(IPSET_RESTORE, data=SWAP),
        Tool(IPSET_RESTORE, data=RETIRE),
        Tool(IPSET_SAVE, stdout=kernel({V4: CHANGED_ENTRIES + ['203.0.114.9'], T4: ENTRIES})),
    ])
    assert result['failed'] is True
    assert result['msg'] == ('the ipsets differ from what was written (did another tool change them at the same '
                             'time?): netops-dfw-ext0-v4')


def test_a_destroyed_set_still_there_when_read_back_is_reported(run_module):
    result, table = run_module(docker_user_allowlist.main, allowlist(source_sets='never'), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(V4_TEST, data=restore(OURS_IPV4, NEVER_IPV4)), Tool(V4_RESTORE, data=restore(OURS_IPV4, NEVER_IPV4)),
        Tool(V4_SAVE, stdout=save_with(NEVER_IPV4, DOCKER28)),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert result['failed'] is True
    assert result['msg'] == ('the ipsets differ from what was written (did another tool change them at the same '
                             'time?): netops-dfw-ext0-v4')


def test_without_ipset_a_wanted_set_is_a_clear_error_before_anything_is_written(run_module, no_ipset):
    result, table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ])
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'] == ('ipset is not installed: install the ipset package, or keep the sources as plain rules '
                             '(source_sets: never)')
    assert result['cmd'] == ['ipset', 'save'] and result['rc'] is None


def test_without_ipset_source_sets_never_writes_plain_rules(run_module, no_ipset):
    result, table = run_module(docker_user_allowlist.main, allowlist(source_sets='never'), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(V4_TEST, data=restore(inserted=NEVER_IPV4)), Tool(V6_TEST, data=FIRST_IPV6),
        Tool(V4_RESTORE, data=restore(inserted=NEVER_IPV4)), Tool(V6_RESTORE, data=FIRST_IPV6),
        Tool(V4_SAVE, stdout=save_with(NEVER_IPV4, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS_IPV6, DOCKER28_V6)),
    ])
    assert result['changed'] is True and result['ipsets'] == {} and result['ipset_payload'] == ''


def test_a_host_whose_rules_match_no_set_of_ours_never_runs_ipset(run_module, no_ipset):
    # A set another tool matches is not ours; a set of ours no rule matches is not looked for.
    theirs = '-A DOCKER-USER -m set --match-set f2b-sshd src -j DROP'
    few = allowlist_block('ext0', SOURCES[:3]).rules
    result, table = run_module(docker_user_allowlist.main, dict(interface='ext0', sources=SOURCES[:3]), [
        Tool(V4_SAVE, stdout=save_with(few['ipv4'] + [theirs], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(few['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is False and 'failed' not in result and result['ipsets'] == {}


@pytest.mark.parametrize('main, args, message', [
    (docker_user_allowlist.main, allowlist(source_sets='sometimes'),
     'value of source_sets must be one of: auto, always, never, got: sometimes'),
    (docker_user_chain.main, dict(allowlists=[allowlist(source_sets='Always')]),
     'value of source_sets must be one of: auto, always, never, got: Always found in allowlists'),
])
def test_a_bad_source_sets_value_is_refused_by_the_argument_spec(run_module, main, args, message):
    result, table = run_module(main, args, [])
    assert result['failed'] is True and result['msg'] == message
    assert table.ran == []


# ---------------------------------------------------------------------------------------------
# docker_user_chain and the other modules


WAN = ['198.51.100.250', '2001:db8:ff::1']
CHAIN_ARGS = dict(allowlists=[allowlist(), dict(interface='wan+', sources=WAN, source_sets='always')])
# DOCKER-USER of CHAIN_ARGS: ext0's rules, then those of wan+ (no ports: replies, its set, the rest dropped).
WAN_TAG = '"netops.docker_firewall/allowlist:wan+"'
CHAIN_RULES = dict((family, rules + [
    '-A DOCKER-USER -i wan+ -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN' % WAN_TAG,
    '-A DOCKER-USER -i wan+ -m set --match-set netops-dfw-wan+-%s src -m comment --comment %s -j RETURN' % (set_family, WAN_TAG),
    '-A DOCKER-USER -i wan+ -m comment --comment %s -j DROP' % WAN_TAG,
]) for family, rules, set_family in (('ipv4', OURS_IPV4, 'v4'), ('ipv6', OURS_IPV6, 'v6')))


def test_chain_destroys_a_leftover_staging_set_first_and_unmatched_sets_after(run_module):
    rules = CHAIN_RULES
    before = ('destroy netops-dfw-ext0-t4\n' + PAYLOAD
              + 'create netops-dfw-wan+-v4 hash:net family inet hashsize 1024 maxelem 65536\n'
              + 'add netops-dfw-wan+-v4 198.51.100.250\n'
              + 'create netops-dfw-wan+-v6 hash:net family inet6 hashsize 1024 maxelem 65536\n'
              + 'add netops-dfw-wan+-v6 2001:db8:ff::1\n')
    # An interrupted run left ext0's staging set; an allowlist removed by hand left old0's sets.
    leftovers = {T4: ENTRIES[:3], 'netops-dfw-old0-v4': ['203.0.113.7'], 'netops-dfw-old0-t6': ['2001:db8::9']}
    result, table = run_module(docker_user_chain.main, CHAIN_ARGS, [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_SAVE, stdout=kernel(leftovers)),
        Tool(IPSET_RESTORE, data=before),
        Tool(V4_TEST, data=restore(inserted=rules['ipv4'])),
        Tool(V6_TEST, data=restore(inserted=rules['ipv6'])),
        Tool(V4_RESTORE, data=restore(inserted=rules['ipv4'])),
        Tool(V6_RESTORE, data=restore(inserted=rules['ipv6'])),
        Tool(V4_SAVE, stdout=save_with(rules['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(rules['ipv6'], DOCKER28_V6)),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-old0-v4\ndestroy netops-dfw-old0-t6\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES, 'netops-dfw-wan+-v4': WAN[:1],
                                        'netops-dfw-wan+-v6': WAN[1:]})),
    ])
    assert result['changed'] is True and result['commands'] == [IPSET_RESTORE, V4_RESTORE, V6_RESTORE, IPSET_RESTORE]
    assert result['ipsets'] == {V4: 120, 'netops-dfw-wan+-v4': 1, 'netops-dfw-wan+-v6': 1}
    assert result['ipset_payload'] == before[len('destroy netops-dfw-ext0-t4\n'):]
    assert result['sources_count'] == {
        'allowlist:ext0': COUNT,
        'allowlist:wan+': dict(declared=2, ipv4=1, ipv6=1, ipsets={'netops-dfw-wan+-v4': 1, 'netops-dfw-wan+-v6': 1})}
    assert [line for line in result['rules']['ipv6'] if '--match-set' in line] == [
        '-A DOCKER-USER -i wan+ -m set --match-set netops-dfw-wan+-v6 src -m comment --comment '
        '"netops.docker_firewall/allowlist:wan+" -j RETURN']


def test_chain_purging_an_allowlist_destroys_its_sets_and_keeps_the_others(run_module):
    rules = CHAIN_RULES
    wan = dict((family, [line for line in rules[family] if 'allowlist:wan+' in line]) for family in rules)
    sets = {V4: ENTRIES, 'netops-dfw-wan+-v4': WAN[:1], 'netops-dfw-wan+-v6': WAN[1:]}
    result, table = run_module(docker_user_chain.main, dict(allowlists=[allowlist()]), [
        Tool(V4_SAVE, stdout=save_with(rules['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(rules['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel(sets)),
        Tool(V4_TEST, data=restore(rules['ipv4'], OURS_IPV4)), Tool(V6_TEST, data=restore(rules['ipv6'], OURS_IPV6)),
        Tool(V4_RESTORE, data=restore(rules['ipv4'], OURS_IPV4)),
        Tool(V6_RESTORE, data=restore(rules['ipv6'], OURS_IPV6)),
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-wan+-v4\ndestroy netops-dfw-wan+-v6\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert wan['ipv4'] and wan['ipv6']
    assert result['changed'] is True and result['removed_blocks'] == ['allowlist:wan+']
    assert result['ipsets'] == {V4: 120} and result['ipset_payload'] == PAYLOAD


def test_accept_keeps_the_set_another_block_matches(run_module):
    # A module that owns no allowlist reads the sets the chain matches, and neither writes nor destroys them.
    pair = ['-A DOCKER-USER -i int0 -o ext0 -m comment --comment "netops.docker_firewall/accept:int0:ext0" -j ACCEPT',
            '-A DOCKER-USER -i ext0 -o int0 -m comment --comment "netops.docker_firewall/accept:int0:ext0" -j ACCEPT']
    accept = dict(ipv4=pair, ipv6=pair)
    result, table = run_module(docker_user_accept.main, dict(in_interface='int0', out_interface='ext0'), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(V4_TEST, data=restore(OURS_IPV4, pair + OURS_IPV4)), Tool(V6_TEST, data=restore(OURS_IPV6, pair + OURS_IPV6)),
        Tool(V4_RESTORE, data=restore(OURS_IPV4, pair + OURS_IPV4)),
        Tool(V6_RESTORE, data=restore(OURS_IPV6, pair + OURS_IPV6)),
        Tool(V4_SAVE, stdout=save_with(accept['ipv4'] + OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(accept['ipv6'] + OURS['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is True and result['commands'] == [V4_RESTORE, V6_RESTORE]
    assert result['ipsets'] == {} and result['ipset_payload'] == ''
    assert SET_RULE in result['rules']['ipv4']


def test_docker_20_without_an_ipv6_chain_creates_only_the_ipv4_set(run_module):
    after = OURS_IPV4 + ['-A DOCKER-USER -j RETURN']
    result, table = run_module(docker_user_allowlist.main, allowlist(source_sets='always'), [
        Tool(V4_SAVE, stdout=DOCKER20),
        Tool(V6_SAVE, stdout=DOCKER20_V6),
        Tool(IPSET_SAVE, stdout=''),
        Tool(IPSET_RESTORE, data=PAYLOAD),
        Tool(V4_TEST, data=FIRST_IPV4),  # Docker's RETURN stays, below ours
        Tool(V4_RESTORE, data=FIRST_IPV4),
        Tool(V4_SAVE, stdout=save_with(after, DOCKER20)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert result['changed'] is True and result['families'] == ['ipv4']
    assert result['ipsets'] == {V4: 120} and result['ipset_payload'] == PAYLOAD
    # The block has both sets; only the family whose chain is written has its set on the host.
    assert result['sources_count']['ipsets'] == {V4: 120, 'netops-dfw-ext0-v6': 10}
    assert 'IPv6 side of the allowlist is not enforced' in result['warnings'][0]['event']['msg']


def test_under_docker_s_nftables_backend_no_ipset_is_run_or_returned(run_module, daemon_json):
    # The sources are in the nftables sets of the collection's table, whatever source_sets says.
    daemon_json.write_text('{"firewall-backend": "nftables", "userland-proxy": false}')
    # ext0's table: its sets hold the sources (IPv4 as the ipset would); ports mode drops only to 443.
    table = (
        'table inet netops-docker-firewall {\n'
        '\tcomment "netops.docker_firewall"\n'
        '\tset allowlist-ext0-ipv4 {\n'
        '\t\ttype ipv4_addr\n'
        '\t\tflags interval\n'
        '\t\tcomment "netops.docker_firewall/allowlist:ext0"\n'
        '\t\telements = { %s }\n'
        '\t}\n'
        '\tset allowlist-ext0-ipv6 {\n'
        '\t\ttype ipv6_addr\n'
        '\t\tflags interval\n'
        '\t\tcomment "netops.docker_firewall/allowlist:ext0"\n'
        '\t\telements = { %s }\n'
        '\t}\n'
        '\tchain forward {\n'
        '\t\ttype filter hook forward priority filter - 10; policy accept;\n'
        '\t\tiifname "ext0" jump allowlist-ext0 comment "netops.docker_firewall/allowlist:ext0"\n'
        '\t}\n'
        '\tchain allowlist-ext0 {\n'
        '\t\tcomment "netops.docker_firewall/allowlist:ext0"\n'
        '\t\tct state established,related return\n'
        '\t\toifname "docker*" ct status ! dnat drop\n'
        '\t\toifname "br-*" ct status ! dnat drop\n'
        '\t\tip saddr @allowlist-ext0-ipv4 return\n'
        '\t\tip6 saddr @allowlist-ext0-ipv6 return\n'
        '\t\tmeta l4proto tcp ct original proto-dst 443 drop\n'
        '\t}\n'
        '}\n') % (', '.join(ENTRIES), ', '.join(V6_NETWORKS))
    result, ran = run_module(docker_user_allowlist.main, allowlist(source_sets='always'), [
        Tool(NFT_LIST, rc=1, stderr='Error: No such file or directory\n'),
        Tool(V4_SAVE, stdout=capture('docker29', 'n3-switched-after-reboot.iptables-save')),
        Tool(NFT_TEST, data=NFT_HEAD + table),
        Tool(NFT_APPLY, data=NFT_HEAD + table),
        Tool(NFT_LIST, stdout=table),
    ])
    assert result['changed'] is True and result['backend'] == 'nftables'
    assert result['ipsets'] == {} and result['ipset_payload'] == ''
