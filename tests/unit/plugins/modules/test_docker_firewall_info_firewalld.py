# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info and firewalld: the commands it runs (none where firewall-cmd is not installed,
one where firewalld does not run, two firewall-cmd where it runs), what it returns from the lab
router's real firewall-cmd output (tests/unit/fixtures/firewalld), and a warning for each pair
firewalld rejects."""

import json

import pytest

from captures import capture, firewalld
from fake_runner import Call
from plugins.modules.test_docker_firewall_info import commands
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _firewalld_host
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info

ROUTED = '2.3.1-routed'
NONE = '2.3.1-none'
V4 = capture('sid', 'q2-published-default.iptables-save')
IS_ACTIVE = ['/usr/sbin/systemctl', 'is-active', 'firewalld.service']
FIREWALL_CMD = '/usr/sbin/firewall-cmd'
# The router profile's pair and routed access, as the role passes them.
ASKED = dict(forward_pairs=[{'in_interface': 'int0', 'out_interface': 'ext0'}], forward_to_docker=['vpn0'])
# What nft list tables prints where firewalld runs its nftables backend beside Docker's iptables.
FIREWALLD_TABLES = 'table inet firewalld\ntable ip nat\ntable ip filter\n'


@pytest.fixture
def conf(tmp_path, monkeypatch):
    """firewalld.conf of the test (the lab router's by default), where the module reads it."""
    path = tmp_path / 'firewalld.conf'
    path.write_text(firewalld(ROUTED, 'firewalld.conf'))
    monkeypatch.setattr(_firewalld_host, 'FIREWALLD_CONF', str(path))
    return path


def listings(case, zones=None):
    """The firewall-cmd commands the module runs where firewalld runs, answering with the lab's output."""
    return [Call([FIREWALL_CMD, '--list-all-zones'], stdout=zones or firewalld(case, 'list-all-zones.txt')),
            Call([FIREWALL_CMD, '--list-all-policies'], stdout=firewalld(case, 'list-all-policies.txt'))]


def run(run_module, tmp_path, extra, args=None, absent=(), nft_tables=FIREWALLD_TABLES):
    """The module's result, and the commands it ran after the reads every test shares (commands()); `args`:
    the module's arguments but daemon_json (ASKED unless given)."""
    args = ASKED if args is None else args
    path = tmp_path / 'daemon.json'
    path.write_text('{}')
    base = commands(V4, '', nft_tables=nft_tables)
    result, ran = run_module(docker_firewall_info.main, dict(args, daemon_json=str(path)), base + extra, absent=absent)
    return result, [argv for argv, _data, _binary_data, _environ in ran.ran[len(base):]]


def firewall_cmds(ran):
    return [argv for argv in ran if argv[0] == FIREWALL_CMD]


def firewalld_warnings(result):
    """The module's warnings about firewalld, as text (ansible-core returns each as its text, or from 2.19 as
    an event holding it)."""
    texts = [w if isinstance(w, str) else w['event']['msg'] for w in result.get('warnings', [])]
    return [text for text in texts if 'firewalld' in text]


def test_without_firewall_cmd_nothing_is_run_and_nothing_applies(run_module, tmp_path):
    result, ran = run(run_module, tmp_path, [], absent=('firewall-cmd',))
    assert ran == []
    found = result['firewalld']
    assert (found['installed'], found['running'], found['backend'], found['error']) == (False, False, None, None)
    assert [(f['in_interface'], f['out_interface'], f['verdict']) for f in found['forwarding']] == [
        ('int0', 'ext0', 'not_applicable'), ('ext0', 'int0', 'not_applicable'), ('vpn0', 'docker0', 'not_applicable')]
    assert firewalld_warnings(result) == []


def test_firewalld_installed_but_not_running_costs_one_systemctl_and_no_firewall_cmd(run_module, tmp_path, conf):
    result, ran = run(run_module, tmp_path, [Call(IS_ACTIVE, rc=3, stdout='inactive\n')])
    assert ran == [IS_ACTIVE] and firewall_cmds(ran) == []
    found = result['firewalld']
    assert (found['installed'], found['running'], found['zones'], found['policies']) == (True, False, {}, [])
    assert set(f['verdict'] for f in found['forwarding']) == {'not_applicable'}


def test_without_systemctl_firewall_cmd_state_says_it(run_module, tmp_path, conf):
    not_running = [Call([FIREWALL_CMD, '--state'], rc=252, stdout='not running\n')]
    result, ran = run(run_module, tmp_path, not_running, absent=('systemctl',))
    assert ran == [[FIREWALL_CMD, '--state']] and result['firewalld']['running'] is False


def test_zones_and_policies_that_route(run_module, tmp_path, conf):
    result, ran = run(run_module, tmp_path, [Call(IS_ACTIVE, stdout='active\n')] + listings(ROUTED))
    # Two firewall-cmd: the listing marks the default zone (firewalld 2.1 and later).
    assert ran == [IS_ACTIVE, [FIREWALL_CMD, '--list-all-zones'], [FIREWALL_CMD, '--list-all-policies']]
    found = result['firewalld']
    assert (found['running'], found['backend'], found['default_zone'], found['error']) == (
        True, 'nftables', 'public', None)
    assert found['zones_of_interfaces'] == {'docker0': 'docker', 'int0': 'lablan', 'vpn0': 'labvpn', 'ext0': 'labwan'}
    assert found['zones']['public'] == {'target': 'default', 'forward': True, 'interfaces': [], 'sources': []}
    assert [p['name'] for p in found['policies']] == ['allow-host-ipv6', 'docker-forwarding', 'lan-wan', 'wan-lan']
    assert [(f['in_interface'], f['out_interface'], f['in_zone'], f['out_zone'], f['verdict'], f['by'])
            for f in found['forwarding']] == [
        ('int0', 'ext0', 'lablan', 'labwan', 'accept', 'policy lan-wan'),
        ('ext0', 'int0', 'labwan', 'lablan', 'accept', 'policy wan-lan'),
        ('vpn0', 'docker0', 'labvpn', 'docker', 'accept', 'policy docker-forwarding')]
    assert firewalld_warnings(result) == []


def test_no_zones_rejects_the_router_pair_with_a_warning_each_way(run_module, tmp_path, conf):
    result, ran = run(run_module, tmp_path, [Call(IS_ACTIVE, stdout='active\n')] + listings(NONE))
    assert len(firewall_cmds(ran)) == 2
    verdicts = [(f['verdict'], f['by'], f['in_zone_implicit'], f['out_zone_implicit'])
                for f in result['firewalld']['forwarding']]
    assert verdicts == [('reject', "firewalld's final reject", True, True),
                        ('reject', "firewalld's final reject", True, True),
                        ('accept', 'policy docker-forwarding', False, False)]
    warned = firewalld_warnings(result)
    assert [w.split(':')[0] for w in warned] == [
        'firewalld rejects forwarding from int0 (zone public, implicit) to ext0 (zone public, implicit)',
        'firewalld rejects forwarding from ext0 (zone public, implicit) to int0 (zone public, implicit)']
    assert 'firewall-cmd --permanent --new-policy=int0-ext0' in warned[0]


def test_before_firewalld_2_1_the_default_zone_costs_a_third_firewall_cmd(run_module, tmp_path, conf):
    unmarked = firewalld(NONE, 'list-all-zones.txt').replace('public (default, active)', 'public (active)')
    table = [Call(IS_ACTIVE, stdout='active\n')] + listings(NONE, zones=unmarked) + [
        Call([FIREWALL_CMD, '--get-default-zone'], stdout=firewalld(NONE, 'get-default-zone.txt'))]
    result, ran = run(run_module, tmp_path, table)
    assert len(firewall_cmds(ran)) == 3 and result['firewalld']['default_zone'] == 'public'
    assert result['firewalld']['forwarding'][0]['verdict'] == 'reject'


def test_on_firewalld_s_iptables_backend_docker_user_decides(run_module, tmp_path, conf):
    conf.write_text(firewalld(NONE, 'firewalld.conf').replace('FirewallBackend=nftables', 'FirewallBackend=iptables'))
    result, ran = run(run_module, tmp_path, [Call(IS_ACTIVE, stdout='active\n')] + listings(NONE),
                      nft_tables='table ip nat\n')
    assert result['firewalld']['backend'] == 'iptables' and result['firewalld']['error'] is None
    assert set(f['verdict'] for f in result['firewalld']['forwarding']) == {'not_applicable'}
    assert firewalld_warnings(result) == []


def test_a_backend_nftables_contradicts_is_an_error_and_every_verdict_depends(run_module, tmp_path, conf):
    result, ran = run(run_module, tmp_path, [Call(IS_ACTIVE, stdout='active\n')] + listings(NONE),
                      nft_tables='table ip nat\n')
    found = result['firewalld']
    assert found['error'].startswith('firewalld.conf names the nftables backend but nftables holds no table '
                                     'inet firewalld')
    assert set(f['verdict'] for f in found['forwarding']) == {'depends'}
    assert firewalld_warnings(result)[0].startswith(
        'whether firewalld forwards int0 -> ext0, ext0 -> int0, vpn0 -> docker0 is not known: firewalld.conf names')


def test_a_failed_firewall_cmd_is_an_error_never_no_zones(run_module, tmp_path, conf):
    table = [Call(IS_ACTIVE, stdout='active\n'),
             Call([FIREWALL_CMD, '--list-all-zones'], rc=252, stdout='FirewallD is not running\n')]
    result, ran = run(run_module, tmp_path, table)
    found = result['firewalld']
    assert found['error'] == 'firewall-cmd --list-all-zones failed (rc 252): FirewallD is not running'
    assert (found['running'], found['zones']) == (True, {})
    assert set(f['verdict'] for f in found['forwarding']) == {'depends'}


def test_nothing_asked_nothing_evaluated_and_the_state_still_read(run_module, tmp_path, conf):
    result, ran = run(run_module, tmp_path, [Call(IS_ACTIVE, stdout='active\n')] + listings(NONE), args={})
    assert result['firewalld']['forwarding'] == [] and result['firewalld']['zones_of_interfaces'] == {
        'docker0': 'docker', 'vpn0': 'labvpn'}
    assert firewalld_warnings(result) == []
    json.dumps(result)  # all of it is plain data
