# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Kubernetes node's facts as docker_firewall_info returns them, built from captures with the
engines the module runs (_facts, _docker_leftovers, _kube_proxy), for the compliance tests. The
module's own assembly is held to the same captures by tests/unit/plugins/modules/test_docker_firewall_info_kube.py.

Captures: tests/unit/fixtures/kube-proxy (kube-proxy in each mode, Docker's leftovers beside it)
and tests/unit/fixtures/docker-iptables (Docker's own)."""

from captures import fixture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kube_proxy as kube_proxy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts

NO_IPVS = dict(interface=False, addresses=[], sets=None, error=None)


def kube(name):
    return fixture('kube-proxy', name)


def family(text):
    """One family's facts, as docker_firewall_info builds them (_firewall_info_host.iptables_state)."""
    facts = family_facts(text)
    facts['docker_leftovers'] = leftovers.plan_family(text).summary()
    return facts


def ipvs_read():
    """What docker_firewall_info reads on the IPVS capture (_firewall_info_host.ipvs_state)."""
    names = [line.split(': ', 1)[1] for line in kube('ipvs.ipset-list.txt').splitlines() if line.startswith('Name: ')]
    return dict(interface=True, addresses=kube_proxy.interface_addresses(kube('ipvs.ip-addr-kube-ipvs0.txt')),
                sets=names, error=None)


def node_facts(v4, v6='', legacy=None, nft_tables=(), kube_tables=None, ipvs=None, settings=None, major=26,
               findings=(), nft_installed=True):
    """Facts of a node: iptables-nft (and legacy) save texts, the `nft list tables` names with the
    listings of kube-proxy's tables, IPVS's reads, daemon.json."""
    iptables = {'nft': {'ipv4': family(v4), 'ipv6': family(v6)}}
    if legacy is not None:
        iptables['legacy'] = {'ipv4': family(legacy)}
    nftables = dict(installed=nft_installed, tables=None if nft_tables is None else list(nft_tables), ours=None)
    nft_read = dict(installed=nft_installed, tables=nftables['tables'], kube_proxy=kube_tables or {})
    found = kube_proxy.detect(iptables, nft_read, ipvs or NO_IPVS)
    found['forwarding'] = kube_proxy.forwarding(iptables, found['mode'])
    preset = compliance.preset_settings('k8s', major)
    return dict(docker={'major': major, 'manages_iptables': False}, daemon_json=preset if settings is None else settings,
                daemon_json_error=None, iptables=iptables, nftables=nftables, docker_backend=None,
                backends_in_use=sorted(b for b, fam in iptables.items() if any(f['rule_count'] for f in fam.values())),
                ip_forward={'ipv4': True}, containers=[], findings=list(findings),
                persistence=dict(publisher_unit=False, publisher_unit_enabled=False, published_containers=[]),
                kube_proxy=found,
                # What docker_firewall_info decides on such a node: the rules are iptables-nft's.
                decisions=dict(firewall_backend='iptables', iptables_variant='nft',
                               nft_path='/usr/sbin/nft' if nft_installed else None))


def nftables_mode(v4='', v6='', **kwargs):
    """A node whose kube-proxy runs in nftables mode (the lab's stand-in tables)."""
    listings = {'ip kube-proxy': kube('nftables.ip.nft-terse.txt'), 'ip6 kube-proxy': kube('nftables.ip6.nft-terse.txt')}
    tables = kwargs.pop('nft_tables', kube_proxy.NFT_TABLES)
    return node_facts(v4, v6, nft_tables=tables, kube_tables=dict((t, listings[t]) for t in tables if t in listings),
                      **kwargs)
