# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules that write the collection's state hold the host lock around all they run: the
DOCKER-USER modules on both of Docker's firewall backends (with the ipsets on the iptables one) and
docker_publish. run_module (plugins/modules/conftest.py) holds every run of these modules in every
test to it (taken before the first command, released after the last, never in check mode); here the
same is spelled out for one run of each path, and the lock is held by another process: a run that
writes fails after the wait, naming the holder, without a command; a check-mode run reads at once."""

import time

import pytest

from fake_runner import Tool
from plugins.module_utils.test_host_lock import other_holder
from plugins.modules.test_allowlist_ipsets import (
    ENTRIES,
    FIRST_IPV4,
    FIRST_IPV6,
    FOREIGN,
    IPSET_RESTORE,
    IPSET_SAVE,
    OURS,
    PAYLOAD,
    SOURCES,
    V4,
    kernel,
)
from plugins.modules.test_docker_publish import KUBE_V4, KUBE_V4_WEB, PUBLISH_WEB, WEB, docker_commands
from plugins.modules.test_docker_user_modules import (
    DOCKER28,
    DOCKER28_V6,
    NFT_APPLY,
    NFT_HEAD,
    NFT_LIST,
    NFT_TEST,
    NO_TABLE,
    REBOOTED,
    V4_RESTORE,
    V4_SAVE,
    V4_TEST,
    V6_RESTORE,
    V6_SAVE,
    TABLE_ETH0_NET,
    V6_TEST,
    save_with,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module as docker_user_module
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _host_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.doc_fragments.docker_user import ModuleDocFragment
from ansible_collections.netops.docker_firewall.plugins.modules import (
    docker_publish,
    docker_user_accept,
    docker_user_allowlist,
    docker_user_chain,
)

PUBLISH_V6_SAVE = ['/usr/sbin/ip6tables-nft-save']


@pytest.fixture(autouse=True)
def daemon_json(monkeypatch, tmp_path):
    """daemon.json of the test's own: Docker's iptables backend, the userland proxy off."""
    path = tmp_path / 'daemon.json'
    path.write_text('{"userland-proxy": false}')
    monkeypatch.setitem(docker_user_module.COMMON_ARGUMENT_SPEC['daemon_json'], 'default', str(path))
    return path


@pytest.fixture
def nftables(daemon_json):
    daemon_json.write_text('{"firewall-backend": "nftables", "userland-proxy": false}')


def first_allowlist_with_a_set():
    """docker_user_allowlist's first apply of 100 sources on Docker 28 (test_allowlist_ipsets)."""
    return [
        Tool(V4_SAVE, stdout=DOCKER28), Tool(V6_SAVE, stdout=DOCKER28_V6), Tool(IPSET_SAVE, stdout=FOREIGN),
        Tool(IPSET_RESTORE, data=PAYLOAD),
        Tool(V4_TEST, data=FIRST_IPV4), Tool(V6_TEST, data=FIRST_IPV6),
        Tool(V4_RESTORE, data=FIRST_IPV4), Tool(V6_RESTORE, data=FIRST_IPV6),
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ]


def first_nftables_allowlist():
    return [NO_TABLE, Tool(V4_SAVE, stdout=REBOOTED), Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_NET),
            Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_NET), Tool(NFT_LIST, stdout=TABLE_ETH0_NET)]


def first_publish():
    return docker_commands(WEB) + [Tool(V4_SAVE, stdout=KUBE_V4), Tool(PUBLISH_V6_SAVE), Tool(V4_TEST, data=PUBLISH_WEB),
                                   Tool(V4_RESTORE, data=PUBLISH_WEB), Tool(V4_SAVE, stdout=KUBE_V4_WEB)]


ALLOWLIST = dict(interface='ext0', sources=SOURCES, ports=['443'])
NFT_ALLOWLIST = dict(interface='eth0', sources=['198.51.100.0/24'])
PUBLISH = dict(containers=['kube-web'], daemon_json='/nonexistent/daemon.json')


def test_the_iptables_path_with_ipsets_holds_the_lock_from_the_first_read_to_the_sets_read_back(run_module):
    before = time.time()
    result, table = run_module(docker_user_allowlist.main, ALLOWLIST, first_allowlist_with_a_set())
    assert result['changed'] is True and 'failed' not in result
    assert table.locks == [('taken', 'docker_user_allowlist', 0), ('released', 11)] and len(table.ran) == 11
    # The run tells how it held the lock: not waited for, taken during the run.
    assert result['host_lock']['waited'] == 0.0 and before <= result['host_lock']['taken_at'] <= time.time()


def test_the_nftables_path_holds_the_lock_from_the_first_read_to_the_read_back(run_module, nftables):
    result, table = run_module(docker_user_allowlist.main, NFT_ALLOWLIST, first_nftables_allowlist())
    assert result['changed'] is True and result['backend'] == 'nftables'
    assert table.locks == [('taken', 'docker_user_allowlist', 0), ('released', 5)] and len(table.ran) == 5


def test_docker_publish_holds_the_lock_from_docker_ps_to_the_read_back(run_module):
    result, table = run_module(docker_publish.main, PUBLISH, first_publish())
    assert result['changed'] is True and result['commands'] == [V4_RESTORE]
    assert table.ran[0][0] == ['/usr/sbin/docker', 'ps', '--quiet', '--no-trunc']
    assert table.locks == [('taken', 'docker_publish', 0), ('released', 7)] and len(table.ran) == 7


def test_a_failed_write_releases_the_lock_after_its_last_command(run_module):
    commands = first_allowlist_with_a_set()[:6] + [Tool(V4_RESTORE, rc=4, stderr='iptables-restore: line 2 failed\n', data=FIRST_IPV4)]
    result, table = run_module(docker_user_allowlist.main, ALLOWLIST, commands)
    assert result['failed'] is True and result['cmd'] == V4_RESTORE
    assert table.locks == [('taken', 'docker_user_allowlist', 0), ('released', 7)]


HELD = ('the host lock %s is held by netops-docker-firewalld-watch (pid %d, since %s); gave up after waiting 0.2 s; '
        'nothing was changed')


@pytest.mark.parametrize('main, args, backend', [
    (docker_user_allowlist.main, ALLOWLIST, 'iptables'),
    (docker_user_allowlist.main, NFT_ALLOWLIST, 'nftables'),
    (docker_user_chain.main, dict(allowlists=[ALLOWLIST]), 'iptables'),
    (docker_user_accept.main, dict(in_interface='wg0', out_interface='eth0'), 'iptables'),
    (docker_publish.main, PUBLISH, 'iptables'),
], ids=['allowlist', 'allowlist-nftables', 'chain', 'accept', 'publish'])
def test_a_run_that_writes_waits_for_another_holder_then_fails_naming_it_before_any_command(
        run_module, monkeypatch, daemon_json, host_lock_of_the_test, main, args, backend):
    if backend == 'nftables':
        daemon_json.write_text('{"firewall-backend": "nftables", "userland-proxy": false}')
    monkeypatch.setattr(_host_lock, 'LOCK_WAIT', 0.2)
    with other_holder(host_lock_of_the_test, 'netops-docker-firewalld-watch') as other:
        since = host_lock_of_the_test.read_text().split()[2]
        result, table = run_module(main, args, [])
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'] == HELD % (host_lock_of_the_test, other.pid, since)
    assert table.ran == [] and table.locks == []


@pytest.mark.parametrize('main, args, commands', [
    (docker_user_allowlist.main, ALLOWLIST, lambda: first_allowlist_with_a_set()[:3]),
    (docker_publish.main, PUBLISH, lambda: first_publish()[:4]),
], ids=['allowlist', 'publish'])
def test_check_mode_reads_without_waiting_for_the_lock(run_module, monkeypatch, host_lock_of_the_test, main, args,
                                                       commands):
    monkeypatch.setattr(_host_lock, 'LOCK_WAIT', 60.0)
    with other_holder(host_lock_of_the_test):
        started = time.monotonic()
        result, table = run_module(main, args, commands(), check_mode=True)
        assert time.monotonic() - started < 45  # far below LOCK_WAIT: it did not wait (CPU may be shared)
    assert result['changed'] is True and 'failed' not in result and result['commands'] == []
    assert table.locks == [] and result.get('host_lock') is None


def test_the_documentation_names_the_layout_s_lock_and_the_wait():
    for module in (docker_user_allowlist, docker_user_chain, docker_user_accept):
        assert '  - netops.docker_firewall.docker_user\n' in module.DOCUMENTATION  # the fragment below
    for text in (ModuleDocFragment.DOCUMENTATION, docker_publish.DOCUMENTATION):
        assert 'host lock (C(%s))' % layout.HOST_LOCK in text
        assert 'up to %d seconds' % _host_lock.LOCK_WAIT in text
