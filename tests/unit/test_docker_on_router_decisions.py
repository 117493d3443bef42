# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker_on_router role's use of the decisions docker_firewall_info takes (roles/docker_on_router/vars/main.yml),
rendered by Ansible's own templating from the role's defaults and from the decisions the module's own
decisions_state (_module/_firewall_info) takes for a host of each Docker generation: which daemon.json keys the role sets and removes
per generation and routed-access declaration, where it looks for containers Docker 29 on nftables could not
start, whether it keeps the backstop; that the role decides nothing itself (no Docker version, no path of nft in
it); and the order of its tasks: nothing is written before the checks, and the policy (the routed-access guard
with it) is written and kept before daemon.json changes and dockerd restarts."""

import os
import re

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._firewall_info import decisions_state

ROLE = os.path.join(ROOT, 'roles', 'docker_on_router')


def load(*path):
    with open(os.path.join(ROLE, *path), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def decide(name, major=28, previous=None, nft=True, reported=None, **role_vars):
    """The role's variable `name` for a host whose dockerd is `major`, whose daemon.json is `previous`, whose
    running dockerd reports `reported` (None: not running, or older than 28.1) and that has nft or not, with
    the decisions docker_firewall_info takes there for the role's firewall backend and backstop."""
    variables = load('defaults', 'main.yml')
    variables.update((key, trust_as_template(value) if isinstance(value, str) else value)
                     for key, value in load('vars', 'main.yml').items())
    variables.update(role_vars)
    tools = dict(nft=decisions.tool('nft', '/usr/sbin/nft' if nft else None), ipset=decisions.tool('ipset', None))
    params = dict(firewall_backend=variables['docker_on_router_firewall_backend'],
                  backstop=variables['docker_on_router_backstop'])
    variables.update(
        __docker_on_router_found=dict(docker=dict(major=major), decisions=decisions_state(
            params, previous or {}, dict(major=major, firewall_backend=reported), {}, {}, [], tools)),
        __docker_on_router_chain=dict(payload='the policy'),
        __docker_on_router_backstop_table=dict(payload='the backstop'),
    )
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template('{{ %s }}' % name))


WG0 = [dict(interface='wg0', networks=['172.18.0.0/16'])]
ETH0 = [dict(interface='eth0', sources=['198.51.100.0/24'])]


@pytest.mark.parametrize('major, routed, settings, removed', [
    # No routed access declared: the profile owns allow-direct-routing and removes it.
    (28, [], {}, ['allow-direct-routing']),
    (29, [], {}, ['allow-direct-routing']),
    (20, [], {}, ['allow-direct-routing']),
    # Declared, on Docker 28 and later: set, so that Docker's raw-table drop no longer stops the VPN.
    (28, WG0, {'allow-direct-routing': True}, []),
    (29, WG0, {'allow-direct-routing': True}, []),
    # Declared before 28: Docker has no such drop (nor the key, which it would refuse).
    (20, WG0, {}, ['allow-direct-routing']),
    (26, WG0, {}, ['allow-direct-routing']),
    # dockerd's version could not be read: nothing is set that it might refuse.
    (None, WG0, {}, ['allow-direct-routing']),
])
def test_allow_direct_routing_follows_the_declaration_and_the_docker_major(major, routed, settings, removed):
    assert decide('__docker_on_router_daemon_settings', major, docker_on_router_routed=routed) == settings
    assert decide('__docker_on_router_daemon_remove_keys', major, docker_on_router_routed=routed) == removed


def test_the_other_keys_are_decided_as_before_beside_it():
    settings = decide('__docker_on_router_daemon_settings', 28, docker_on_router_routed=WG0,
                      docker_on_router_allowlists=ETH0, docker_on_router_ip_forward_no_drop=True)
    assert settings == {'ip-forward-no-drop': True, 'userland-proxy': False, 'allow-direct-routing': True}
    switch = decide('__docker_on_router_daemon_settings', 29, docker_on_router_firewall_backend='nftables')
    assert switch == {'firewall-backend': 'nftables'}
    assert decide('__docker_on_router_switching', 29, docker_on_router_firewall_backend='nftables') is True
    assert decide('__docker_on_router_switching', 29, {'firewall-backend': 'nftables'},
                  docker_on_router_firewall_backend='nftables') is False
    # Back to iptables from a daemon.json that names nftables: a switch, and the key is written.
    back = dict(docker_on_router_firewall_backend='iptables')
    assert decide('__docker_on_router_switching', 29, {'firewall-backend': 'nftables'}, reported='nftables', **back) is True
    assert decide('__docker_on_router_daemon_settings', 29, {'firewall-backend': 'nftables'}, **back) == {
        'firewall-backend': 'iptables'}
    assert decide('__docker_on_router_switching', 29, {}, **back) is False


@pytest.mark.parametrize('major, previous, driver, written_for', [
    (20, {}, None, 'iptables'),  # before 28.1 Docker reports no backend: it only has iptables
    (26, {}, None, 'iptables'),
    (28, {}, 'iptables', 'iptables'),
    (29, {}, 'iptables', 'iptables'),
    (29, {'firewall-backend': 'nftables'}, 'nftables', 'nftables'),
    (29, {'firewall-backend': 'nftables'}, 'nftables+firewalld', 'nftables'),
    (29, {'firewall-backend': 'nftables'}, None, 'nftables'),  # Docker not running: what daemon.json names
])
def test_the_policy_is_written_for_the_backend_docker_runs_on_each_generation(major, previous, driver, written_for):
    reported = decisions.reported_firewall_backend(driver)
    assert decide('__docker_on_router_firewall_backend', major, previous, reported=reported) == written_for
    assert decide('__docker_on_router_nftables', major, previous, reported=reported) is (written_for == 'nftables')
    assert decide('__docker_on_router_switching', major, previous, reported=reported) is False


@pytest.mark.parametrize('major, previous, role_vars, looks', [
    # Docker 29 on nftables (switched to, or already), the proxy about to be off: look.
    (29, {}, dict(docker_on_router_firewall_backend='nftables', docker_on_router_allowlists=ETH0), True),
    (29, {'firewall-backend': 'nftables'}, dict(docker_on_router_allowlists=ETH0), True),
    # The proxy stays on (no allowlists, or kept on purpose), another backend, another Docker: do not.
    (29, {'firewall-backend': 'nftables'}, dict(), False),
    (29, {'firewall-backend': 'nftables'}, dict(docker_on_router_allowlists=ETH0,
                                                docker_on_router_close_proxy_path=False), False),
    (29, {}, dict(docker_on_router_allowlists=ETH0), False),
    (28, {}, dict(docker_on_router_allowlists=ETH0), False),
])
def test_containers_are_looked_for_before_docker_29_on_nftables_loses_the_proxy(major, previous, role_vars, looks):
    assert decide('__docker_on_router_published_twice_fails', major, previous, **role_vars) is looks


def test_the_backstop_is_kept_wherever_nft_is_on_the_iptables_backend_for_the_guard_holds_always():
    assert decide('__docker_on_router_backstop') is True  # no allowlist: the routed-access guard is there
    assert decide('__docker_on_router_kept_table') == 'the backstop'
    assert decide('__docker_on_router_backstop', nft=False) is False
    assert decide('__docker_on_router_backstop', nft=False, docker_on_router_backstop='always') is True
    assert decide('__docker_on_router_backstop', docker_on_router_backstop='never') is False
    nftables = dict(major=29, previous={'firewall-backend': 'nftables'}, reported='nftables')
    assert decide('__docker_on_router_backstop', **nftables) is False
    assert decide('__docker_on_router_kept_table', **nftables) == 'the policy'
    assert decide('__docker_on_router_backstop', docker_on_router_firewall_backend='nftables') is False


def test_the_role_decides_nothing_itself():
    """No Docker version, firewall backend default or path of nft in the role: it reads the decisions."""
    text = open(os.path.join(ROLE, 'vars', 'main.yml'), encoding='utf-8').read()
    tasks = ''.join(open(os.path.join(ROLE, 'tasks', name), encoding='utf-8').read()
                    for name in sorted(os.listdir(os.path.join(ROLE, 'tasks'))))
    assert re.findall(r'major|[<>]=? *[1-9]|in \[\d|previous_config|stat\.exists', text) == []
    assert re.findall(r'/s?bin/|ansible\.builtin\.stat|docker_major|previous_config', tasks) == []
    assert set(re.findall(r'__docker_on_router_decisions\.(\w+)', text + tasks)) <= set(
        decisions_state(dict(firewall_backend='auto', backstop='auto'), {}, dict(major=None, firewall_backend=None),
                        {}, {}, [], dict(nft=decisions.tool('nft', None), ipset=decisions.tool('ipset', None))))


def test_nothing_is_written_before_the_checks_and_the_policy_is_kept_before_dockerd_restarts():
    names = [task['name'] for task in load('tasks', 'present.yml')]

    def at(prefix):
        return next(i for i, name in enumerate(names) if name.startswith(prefix))
    checks = [at('Check that nft'), at("Read Docker's version"), at('Check that no container publishes')]
    first_write = at('Keep IPv4 forwarding on at boot')
    assert at('Read the host and the decisions') < min(checks) and max(checks) < first_write
    policy = [at("Write the collection's rules"), at('Keep the same policy'), at('Make the policy persistent')]
    assert policy == sorted(policy) and max(policy) < at('Configure dockerd for the router')
    tasks = load('tasks', 'present.yml')
    routed = [t for t in tasks if 'netops.docker_firewall.docker_user_chain' in t and t['name'] != (
        "Remove the collection's nftables table on the iptables backend")]
    assert len(routed) == 2 and all(t['netops.docker_firewall.docker_user_chain']['routed'] ==
                                    '{{ docker_on_router_routed }}' for t in routed)


def test_firewalld_s_verdict_is_read_last_and_read_only_from_the_declarations_as_they_are():
    tasks = load('tasks', 'present.yml')
    last = tasks[-1]
    assert last['name'].startswith('Read whether firewalld forwards the declared pairs and routed access')
    assert last['netops.docker_firewall.docker_firewall_info'] == {
        'forward_pairs': '{{ docker_on_router_accept }}',
        'forward_to_docker': "{{ docker_on_router_routed | map(attribute='interface') | list }}"}
    assert 'ignore_errors' not in last and 'failed_when' not in last
    # One read of the host per run where firewalld does not run: the first read tells whether it does.
    assert last['when'][0] == '__docker_on_router_found.firewalld.running'
    info_calls = [t for t in tasks if 'netops.docker_firewall.docker_firewall_info' in t]
    assert len(info_calls) == 2 and 'when' not in info_calls[0]
    names = [task['name'] for task in tasks]
    assert names.index('Configure dockerd for the router (daemon.json, dockerd restarted safely when needed)') < len(
        names) - 1  # after dockerd (re)started: Docker has put docker0 in its zone
