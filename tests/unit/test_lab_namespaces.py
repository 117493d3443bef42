# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The oracle's map of the lab's namespaces (molecule/shared/vars/lab_namespaces.yml) is labnet.sh's
network: each namespace labnet.sh creates, the platform interface its packets arrive on (its veth peer,
or the bridge its veth is a port of) and its addresses. A namespace moved in labnet.sh without the map
would make the oracle predict for the wrong source or interface."""

import ipaddress
import os
import re

import yaml

from conftest import ROOT

LABNET = os.path.join(ROOT, 'molecule', 'shared', 'files', 'labnet.sh')
NAMESPACES = os.path.join(ROOT, 'molecule', 'shared', 'vars', 'lab_namespaces.yml')
# `host NS PLATFORM_IF ADDR4 GW4 ADDR6 GW6` in labnet.sh's up().
HOST = re.compile(r'^\s+host (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$', re.M)


def labnet_hosts():
    with open(LABNET) as handle:
        text = handle.read()
    up = text[text.index('\nup() {'):text.index('\n}', text.index('\nup() {'))]
    return dict((ns, dict(interface=peer, ipv4=str(ipaddress.ip_interface(addr4).ip),
                          ipv6=str(ipaddress.ip_interface(addr6).ip)))
                for ns, peer, addr4, _gw4, addr6, _gw6 in HOST.findall(up))


def test_the_map_is_labnet_sh_network():
    with open(NAMESPACES) as handle:
        mapped = yaml.safe_load(handle)['lab_namespaces']
    hosts = labnet_hosts()
    assert sorted(hosts) == ['lan', 'pod', 'vpn1', 'vpn2', 'wan1', 'wan2']
    assert mapped == hosts


def test_the_bridges_are_the_interfaces_of_their_ports():
    # labnet.sh makes ext0 and vpn0 bridges, their namespaces' veths ports of them: iptables sees -i ext0.
    with open(LABNET) as handle:
        text = handle.read()
    assert 'ip link add ext0 type bridge' in text and 'ip link add vpn0 type bridge' in text
    assert 'ip link set "v-$ns" master "$peer" up' in text
