# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter reachability_verdict: the ad-hoc question a playbook asks of docker_firewall_info's
answer ("would 198.51.100.19 on ext0 reach 198.51.100.17:8080?"), on the lab router's answer of
test_reachability_verdict.py (Docker 28.5's capture); its errors are the filter's."""

import pytest

from ansible.errors import AnsibleFilterError

from plugins.module_utils.test_reachability_verdict import CONTAINER, EXT0_DROP, GUARD, LAN, PAIR_OUT, PUBLISHED, \
    VPN1, VPN2, WAN1, WAN2, answer
from ansible_collections.netops.docker_firewall.plugins.filter.reachability import FilterModule, reachability_verdict

INFO = dict(changed=False, reachability=answer('sid', forwarded=[dict(address=WAN1, port=8000)]))


def test_the_collection_offers_the_filter():
    assert FilterModule().filters() == dict(reachability_verdict=reachability_verdict)


def test_a_denied_source_is_unreachable_with_the_drop_named():
    found = reachability_verdict(INFO, 'ext0', WAN2, PUBLISHED, 8080)
    assert (found['verdict'], found['reason']['rule']) == ('unreachable', EXT0_DROP)


def test_an_allowed_source_is_reachable_and_the_port_may_be_text():
    found = reachability_verdict(INFO, 'ext0', WAN1, PUBLISHED, '8080')
    assert (found['verdict'], found['to'], found['question']) == ('reachable', 'container', 'published')


def test_routed_access_and_routing_between_the_networks():
    # Docker 28 without allow-direct-routing: its raw drop keeps even the declared client out.
    assert reachability_verdict(INFO, 'vpn0', VPN1, CONTAINER, 80)['verdict'] == 'unreachable'
    assert reachability_verdict(answer('bookworm'), 'vpn0', VPN1, CONTAINER, 80)['verdict'] == 'reachable'
    assert reachability_verdict(answer('bookworm'), 'vpn0', VPN2, CONTAINER, 80)['reason']['rule'] == GUARD
    found = reachability_verdict(INFO, 'int0', LAN, WAN1, 8000)
    assert (found['verdict'], found['path'][-1]['rule']) == ('reachable', PAIR_OUT)
    assert reachability_verdict(INFO, 'int0', LAN, WAN2, 8000)['verdict'] == 'not_modelled'


def test_a_source_port_is_passed_on():
    found = answer('sid', docker_user=['-A DOCKER-USER -i ext0 -p tcp -m tcp --sport 1024:65535 -j DROP'])
    assert reachability_verdict(found, 'ext0', WAN2, PUBLISHED, 8080)['verdict'] == 'unknown'
    assert reachability_verdict(found, 'ext0', WAN2, PUBLISHED, 8080, source_port=1023)['verdict'] == 'reachable'


@pytest.mark.parametrize('info, packet, message', [
    (INFO, ('ext0', WAN2, PUBLISHED, 'http'), "reachability_verdict: port must be a port number, not 'http'"),
    (INFO, ('ext0', WAN2, '2001:db8:2::1', 8080),
     'reachability_verdict: source 198.51.100.19 and destination 2001:db8:2::1 are of different families'),
    (dict(changed=False, reachability=None), ('ext0', WAN2, PUBLISHED, 8080),
     'reachability_verdict: docker_firewall_info ran without reachability: true'),
    ([], ('ext0', WAN2, PUBLISHED, 8080), 'reachability_verdict: the answer must be a dict'),
])
def test_what_is_no_question_is_a_filter_error(info, packet, message):
    with pytest.raises(AnsibleFilterError) as error:
        reachability_verdict(info, *packet)
    assert str(error.value).startswith(message)
