# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""`nft list ruleset` read into its structure, on Docker 29.7's capture n1 (iptables-nft's leftovers and
Docker's docker-bridges tables) and on the collection's table as nft printed it back."""

import pytest

from captures import capture, fixture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft_ruleset as ruleset


def test_tables_base_chains_and_maps_of_docker_29():
    tables = ruleset.parse(capture('docker29', 'n1-switched-fwd0.nft-ruleset'))
    assert [t.label for t in tables] == ['ip nat', 'ip filter', 'ip6 nat', 'ip6 filter', 'ip raw', 'ip docker-bridges',
                                         'ip6 docker-bridges']
    docker = tables[5]
    bases = dict((c.name, (c.type, c.hook, c.priority, c.policy)) for c in docker.chains.values() if c.base)
    assert bases == {'filter-FORWARD': ('filter', 'forward', 0, 'accept'), 'nat-OUTPUT': ('nat', 'output', -100, 'accept'),
                     'nat-POSTROUTING': ('nat', 'postrouting', 100, 'accept'),
                     'nat-PREROUTING': ('nat', 'prerouting', -100, 'accept'),
                     'raw-PREROUTING': ('filter', 'prerouting', -300, 'accept')}
    assert tables[1].chains['FORWARD'].policy == 'drop'
    jumps = docker.sets['filter-forward-in-jumps']
    assert (jumps.key_type, jumps.data) == ('ifname', 'verdict')
    assert jumps.elements == [('"docker0"', ['jump', 'filter-forward-in__docker0']),
                              ('"br-b5480e245898"', ['jump', 'filter-forward-in__br-b5480e245898'])]
    # Counters are shown without their values, which change at every read.
    assert docker.chains['raw-PREROUTING'].rules[0][0] == (
        'ip daddr 198.51.100.130 iifname != "br-b5480e245898" counter drop comment "DROP DIRECT ACCESS"')
    assert tables[6].sets['filter-forward-in-jumps'].elements == []


def test_our_table_sets_and_priority_arithmetic():
    [ours] = ruleset.parse(capture('docker29', 'our-table-listed.nft'))
    assert ours.chains['forward'].priority == -10
    assert ours.sets['allowlist-ext0-ipv4'].elements == ['198.51.100.0/28', '198.51.100.18', '198.51.100.40/29',
                                                         '198.51.100.48/31', '198.51.100.50']
    assert ours.sets['allowlist-ext0-ipv4'].flags == ['interval']
    assert ruleset.tokens('meta l4proto tcp ct original proto-dst { 8080, 9000-9010 } drop') == [
        'meta', 'l4proto', 'tcp', 'ct', 'original', 'proto-dst', '{', '8080', ',', '9000-9010', '}', 'drop']


@pytest.mark.parametrize('text, value', [('filter', 0), ('filter - 10', -10), ('dstnat + 10', -90), ('-150', -150),
                                         ('raw', -300), ('nonsense', None)])
def test_priority(text, value):
    assert ruleset.priority(text) == value


@pytest.mark.parametrize('text, value', [('dstnat', -300), ('filter', -200), ('out', 100), ('srcnat', 300),
                                         ('filter + 10', -190), ('raw', None)])
def test_the_bridge_family_s_priority_names(text, value):
    assert ruleset.priority(text, 'bridge') == value


@pytest.mark.parametrize('text', ['table ip t {\n\tchain c {\n', 'chain c {\n}\n'])
def test_what_is_no_listing_is_an_error(text):
    with pytest.raises(ruleset.NftRulesetError):
        ruleset.parse(text)


def test_comments_are_cut_outside_quotes_and_table_flags_are_read():
    """A table a process owns (firewalld: `flags owner,persist`) is listed with `# progname NAME` after its
    brace; handles are comments too; a '#' inside a quoted string is text."""
    text = ('table inet firewalld { # progname firewalld\n\tflags owner,persist\n'
            '\tchain filter_FORWARD { # handle 1\n\t\ttype filter hook forward priority filter + 10; policy accept;\n'
            '\t\tiifname "a#b" ct state established,related accept comment "x # y" # handle 2\n\t}\n}\n'
            'table ip dormant {\n\tflags dormant\n}\n')
    firewalld, dormant = ruleset.parse(text)
    assert (firewalld.label, firewalld.flags, dormant.flags) == ('inet firewalld', {'owner', 'persist'}, {'dormant'})
    [(rule, tokens)] = firewalld.chains['filter_FORWARD'].rules
    assert rule == 'iifname "a#b" ct state established,related accept comment "x # y"'
    assert tokens[:2] == ['iifname', '"a#b"']


def test_kube_proxy_s_concatenated_maps_and_element_comments():
    """kube-proxy's tables as `nft list ruleset` lists them (the lab's stand-in): maps keyed by a concatenation
    (`type ipv4_addr . inet_proto . inet_service : verdict`), elements spread over lines; an element's
    comment (kube-proxy names the service so) is no part of its key; `typeof` concatenations."""
    kube, kube6 = ruleset.parse(fixture('kube-proxy', 'nftables.nft-ruleset.txt'))
    services = kube.sets['service-ips']
    assert (services.key_type, services.data) == ('ipv4_addr . inet_proto . inet_service', 'verdict')
    assert services.elements == [('198.51.100.200 . tcp . 80', ['goto', 'service-URTH2HAX-lab/web/tcp/http']),
                                 ('198.51.100.201 . tcp . 80', ['goto', 'service-AO6K2KWZ-lab/web-np/tcp/http'])]
    assert kube6.sets['service-nodeports'].elements == [('tcp . 30080', ['goto', 'external-AO6K2KWZ-lab/web-np/tcp/http'])]
    assert kube.chains['filter-prerouting-pre-dnat'].priority == -110
    assert 'service-URTH2HAX-lab/web/tcp/http' in kube.chains
    text = ('table ip t {\n\tmap m {\n\t\ttypeof ip daddr . meta l4proto . th dport : verdict\n'
            '\t\telements = { 192.0.2.1 . tcp . 80 comment "ns/svc:http" : goto reject-chain }\n\t}\n\n'
            '\tset s {\n\t\ttypeof ip saddr . meta mark\n\t\telements = { 192.0.2.2 . 0x00000001 comment "x" }\n\t}\n}\n')
    [t] = ruleset.parse(text)
    assert (t.sets['m'].key_type, t.sets['m'].elements) == (
        'ipv4_addr . inet_proto . inet_service', [('192.0.2.1 . tcp . 80', ['goto', 'reject-chain'])])
    assert (t.sets['s'].key_type, t.sets['s'].elements) == (None, ['192.0.2.2 . 0x00000001'])
