# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker_on_router role's decisions (roles/docker_on_router/vars/main.yml), rendered by
Ansible's own templating from the role's defaults and the results of the modules it runs first:
which daemon.json keys it sets and removes per Docker major version and routed-access declaration,
where it looks for containers Docker 29 on nftables could not start, whether it keeps the backstop;
and the order of its tasks: nothing is written before the checks, and the policy (the routed-access
guard with it) is written and kept before daemon.json changes and dockerd restarts."""

import os

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import (
    DIRECT_ROUTING_SINCE,
    PUBLISHED_TWICE_FAILS_ON,
)

ROLE = os.path.join(ROOT, 'roles', 'docker_on_router')


def load(*path):
    with open(os.path.join(ROLE, *path), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def decide(name, major=28, previous=None, nft=True, backend='nft', **role_vars):
    """The role's variable `name` for a host whose daemon_json read `major` and `previous`."""
    variables = load('defaults', 'main.yml')
    variables.update((key, trust_as_template(value) if isinstance(value, str) else value)
                     for key, value in load('vars', 'main.yml').items())
    variables.update(role_vars)
    variables.update(
        __docker_on_router_daemon_json=dict(docker_major=major, previous_config=previous or {}),
        __docker_on_router_nft=dict(stat=dict(exists=nft)),
        __docker_on_router_chain=dict(backend=backend, payload='the policy'),
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
    assert decide('__docker_on_router_backstop', backend='nftables') is False
    assert decide('__docker_on_router_kept_table', backend='nftables') == 'the policy'


def test_the_role_uses_the_engine_s_versions():
    text = open(os.path.join(ROLE, 'vars', 'main.yml'), encoding='utf-8').read()
    assert '__docker_on_router_docker_major | int >= %d' % DIRECT_ROUTING_SINCE in text
    assert '__docker_on_router_docker_major in %s' % list(PUBLISHED_TWICE_FAILS_ON) in text


def test_nothing_is_written_before_the_checks_and_the_policy_is_kept_before_dockerd_restarts():
    names = [task['name'] for task in load('tasks', 'present.yml')]

    def at(prefix):
        return next(i for i, name in enumerate(names) if name.startswith(prefix))
    checks = [at('Check that nft'), at("Read Docker's version"), at('Check that no container publishes')]
    first_write = at('Keep IPv4 forwarding on at boot')
    assert max(checks) < first_write
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
    names = [task['name'] for task in tasks]
    assert names.index('Configure dockerd for the router (daemon.json, dockerd restarted safely when needed)') < len(
        names) - 1  # after dockerd (re)started: Docker has put docker0 in its zone
