# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reachability engine beside kube-proxy in nftables mode: its two tables as `nft list ruleset` lists
them (tests/unit/fixtures/kube-proxy/nftables.nft-ruleset.txt, the lab's stand-in) beside Docker 26.1's
and 28.5's rules (q2-published-default: `-p 8080:80`, 172.18.0.2 on docker0) and Docker 29.7's iptables
backend (its own listing). Concatenated keys of verdict maps and of sets, numgen and mark set. Every
expected value is written here by hand from the rules; none is computed by the engine."""

import pytest

from captures import capture, fixture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import (
    host_reachability,
    reachability,
)

KUBE = fixture('kube-proxy', 'nftables.nft-ruleset.txt')
KUBE_TABLE = 'ip kube-proxy'
# The node: ext0 holds the NodePort address of the stand-in (nodeport-ips), docker0 Docker's bridge.
ADDRESSES = {'lo': ['127.0.0.1/8', '::1/128'], 'ext0': ['198.51.100.17/28', '2001:db8:2::1/64'],
             'docker0': ['172.18.0.1/16']}
INTERFACES = ['lo', 'ext0', 'docker0', 'veth1', 'wg0']
WEB = dict(container='web', family='ipv4', address='172.18.0.2', host_ip=None, host_port='8080',
           container_port='80', protocol='tcp')
HOSTS = ['172.18.0.1', '198.51.100.17']
EVERYWHERE = ['0.0.0.0-255.255.255.255']
NO_PROXY = dict(why='delivered to the host, where no docker-proxy listens (userland-proxy off)')
FIREWALL_CHECK = 'ip daddr . meta l4proto . th dport vmap @firewall-ips'
# kube-proxy's chains a published connection passes through, before DNAT and after it.
KUBE_PRE_DNAT = [(KUBE_TABLE, 'filter-prerouting-pre-dnat', 'ct state new jump firewall-check'),
                 (KUBE_TABLE, 'filter-prerouting-pre-dnat', 'policy accept')]
KUBE_FORWARD = [(KUBE_TABLE, 'filter-forward', 'ct state new jump service-endpoints-check'),
                (KUBE_TABLE, 'filter-forward', 'ct state new jump cluster-ips-check'),
                (KUBE_TABLE, 'filter-forward', 'policy accept')]


def ask(rules, ruleset=KUBE, bindings=(WEB,), family='ipv4', **options):
    options.setdefault('interfaces', INTERFACES)
    options.setdefault('userland_proxy', False)
    return reachability(rules, family, list(bindings), ADDRESSES, nftables_ruleset=ruleset, **options)


def docker(suite):
    return capture(suite, 'q2-published-default.iptables-save')


def table(slices):
    """(interface, destinations, source ranges, verdict, to) of each slice."""
    return [(s['interface'], s['destinations'], s['source_ranges'], s['verdict'], s['to']) for s in slices]


def by_interface(slices, interface):
    return [(s['destinations'], s['source_ranges'], s['verdict'], s['reason']) for s in slices if s['interface'] == interface]


def path(found):
    return [(step['table'], step['chain'], step['rule']) for step in found['path']]


def with_elements(ruleset, name, *elements):
    """The ruleset with elements in kube-proxy's map or set `name` (of both tables: the other family's
    never match), as nft lists them."""
    comment = {'firewall-ips': 'load balancer source ranges (none)', 'no-endpoint-services': 'services without endpoints (none)',
               'no-endpoint-nodeports': 'NodePorts without endpoints (none)'}[name]
    listed = '\t\tcomment "%s"\n' % comment
    assert listed in ruleset
    return ruleset.replace(listed, listed + '\t\telements = { %s }\n' % ',\n\t\t\t     '.join(elements))


def with_chain(ruleset, name, *rules):
    """A regular chain added to kube-proxy's IPv4 table."""
    head = 'table ip kube-proxy {\n'
    return ruleset.replace(head, head + '\tchain %s {\n%s\t}\n\n' % (name, ''.join('\t\t%s\n' % r for r in rules)), 1)


# --- kube-proxy's tables beside Docker's rules: every verdict definite ------------------------------

@pytest.mark.parametrize('suite', ['trixie', 'sid'])
def test_docker_s_published_port_beside_kube_proxy_s_tables_is_answered(suite):
    """No key of kube-proxy's maps is a published port: service-ips holds ClusterIPs, service-nodeports
    port 30080, firewall-ips and the no-endpoint maps are empty. So Docker's DNAT decides, as without them."""
    answer = ask(docker(suite))
    assert answer['nftables'] == dict(walked=[KUBE_TABLE], not_modelled=[])
    [port] = answer['ports']
    assert table(port['slices']) == [
        ('docker0', HOSTS, EVERYWHERE, 'unreachable', None),  # Docker does not DNAT on its own bridge
        ('ext0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('veth1', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('wg0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('+', HOSTS, EVERYWHERE, 'reachable', 'container')]
    assert port['slices'][0]['reason'] == NO_PROXY


def test_the_path_goes_through_kube_proxy_s_base_chains():
    """Docker 28.5: its raw table, kube-proxy's filter chain before DNAT (an empty firewall-ips), Docker's
    DNAT (its nat PREROUTING and kube-proxy's nat-prerouting hook at the same priority, and both orders end
    alike: kube-proxy's services map holds no published port), Docker's FORWARD, then kube-proxy's
    filter-forward (the same priority: both orders accept)."""
    [port] = ask(docker('sid'))['ports']
    [ext0] = [s for s in port['slices'] if s['interface'] == 'ext0']
    assert path(ext0) == [('raw', 'PREROUTING', '-P PREROUTING ACCEPT')] + KUBE_PRE_DNAT + [
        ('nat', 'PREROUTING', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'),
        ('nat', 'DOCKER', '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80'),
        ('filter', 'FORWARD', '-A FORWARD -j DOCKER-USER'),
        ('filter', 'FORWARD', '-A FORWARD -j DOCKER-FORWARD'),
        ('filter', 'DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-CT'),
        ('filter', 'DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1'),
        ('filter', 'DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-BRIDGE'),
        ('filter', 'DOCKER-BRIDGE', '-A DOCKER-BRIDGE -o docker0 -j DOCKER'),
        ('filter', 'DOCKER', '-A DOCKER -d 172.18.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT'),
    ] + KUBE_FORWARD


def test_docker_29_s_iptables_backend_and_its_own_listing_with_kube_proxy_s_tables():
    """Docker 29.7's capture q2 (iptables backend): its `nft list ruleset` holds iptables-nft's tables, walked
    from its iptables-save text; kube-proxy's tables appended as they would be listed after them."""
    addresses = dict(ADDRESSES, docker0=['172.17.0.1/16'])
    answer = reachability(capture('docker29', 'q2-published-default.iptables-save'), 'ipv4',
                          [dict(WEB, address='172.17.0.2')], addresses, interfaces=INTERFACES, userland_proxy=False,
                          nftables_ruleset=capture('docker29', 'q2-published-default.nft-ruleset') + KUBE)
    assert answer['nftables'] == dict(walked=[KUBE_TABLE], not_modelled=[])
    assert table(answer['ports'][0]['slices']) == [
        ('docker0', ['172.17.0.1', '198.51.100.17'], EVERYWHERE, 'unreachable', None),
        ('ext0', ['172.17.0.1', '198.51.100.17'], EVERYWHERE, 'reachable', 'container'),
        ('veth1', ['172.17.0.1', '198.51.100.17'], EVERYWHERE, 'reachable', 'container'),
        ('wg0', ['172.17.0.1', '198.51.100.17'], EVERYWHERE, 'reachable', 'container'),
        ('+', ['172.17.0.1', '198.51.100.17'], EVERYWHERE, 'reachable', 'container')]


def test_the_whole_host_answer_holds_no_unknown():
    """As docker_firewall_info asks it: both families of Docker 28.5's rules, kube-proxy's two tables; the
    container has no IPv6 address and docker-proxy is off, so IPv6 asks about no port."""
    inspect = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
               'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.18.0.2', 'GlobalIPv6Address': ''}}}}
    saves = {'nft': {'ipv4': docker('sid'), 'ipv6': capture('sid', 'q2-published-default.ip6tables-save')}}
    found = host_reachability(saves, 'nft', ADDRESSES, INTERFACES, [inspect], False, {'ipv4': True, 'ipv6': True},
                              nftables_tables=['ip raw', 'ip filter', 'ip nat', 'ip6 filter', 'ip6 nat', KUBE_TABLE,
                                               'ip6 kube-proxy'],
                              nftables_ruleset=KUBE)
    assert (found['errors'], found['left_out'], found['nftables_modelled']) == ([], [], True)
    assert found['families']['ipv4']['nftables'] == dict(walked=[KUBE_TABLE], not_modelled=[])
    assert found['families']['ipv6']['nftables'] == dict(walked=['ip6 kube-proxy'], not_modelled=[])
    assert found['families']['ipv6']['ports'] == []
    [port] = found['families']['ipv4']['ports']
    [routed] = found['families']['ipv4']['routed']
    assert sorted(set(s['verdict'] for s in port['slices'] + routed['slices'])) == ['reachable', 'unreachable']
    # Routed straight to the container: Docker 28.5's raw drop from every interface but its bridge.
    assert [(s['interface'], s['verdict']) for s in routed['slices']] == [
        ('docker0', 'reachable'), ('ext0', 'unreachable'), ('veth1', 'unreachable'), ('wg0', 'unreachable'),
        ('+', 'unreachable')]


# --- a concatenated key that holds a published port: read, not skipped ------------------------------

def test_a_firewall_ips_element_for_the_published_port_drops_it_before_dnat():
    """kube-proxy's firewall-check looks up `ip daddr . meta l4proto . th dport` at priority -110, before
    Docker's DNAT: an element for the node's address and the published port drops there; the bridge's
    address, which no element holds, is DNAT'd as before."""
    ruleset = with_elements(KUBE, 'firewall-ips', '198.51.100.17 . tcp . 8080 : drop')
    [port] = ask(docker('sid'), ruleset)['ports']
    dropped = dict(why='dropped', table=KUBE_TABLE, chain='firewall-check', rule=FIREWALL_CHECK)
    for interface in ('ext0', 'veth1', 'wg0', '+'):
        assert by_interface(port['slices'], interface) == [
            (['172.18.0.1'], EVERYWHERE, 'reachable', None), (['198.51.100.17'], EVERYWHERE, 'unreachable', dropped)]
    assert by_interface(port['slices'], 'docker0') == [
        (['172.18.0.1'], EVERYWHERE, 'unreachable', NO_PROXY), (['198.51.100.17'], EVERYWHERE, 'unreachable', dropped)]
    # Another port of that address, another protocol's, another address: no element.
    for element in ('198.51.100.17 . tcp . 8081 : drop', '198.51.100.17 . udp . 8080 : drop', '198.51.100.18 . tcp . 8080 : drop'):
        [port] = ask(docker('sid'), with_elements(KUBE, 'firewall-ips', element))['ports']
        assert set(s['verdict'] for s in port['slices'] if s['interface'] != 'docker0') == {'reachable'}, element


def test_load_balancer_source_ranges_split_the_sources():
    """A firewall-ips element that goes to a chain of kube-proxy's LoadBalancerSourceRanges: sources outside
    the range are dropped, those inside go on to Docker's DNAT."""
    ruleset = with_chain(with_elements(KUBE, 'firewall-ips', '198.51.100.17 . tcp . 8080 : goto firewall-lab/lb/tcp/http'),
                         'firewall-lab/lb/tcp/http', 'ip saddr != 203.0.113.0/25 drop')
    [port] = ask(docker('sid'), ruleset)['ports']
    dropped = dict(why='dropped', table=KUBE_TABLE, chain='firewall-lab/lb/tcp/http', rule='ip saddr != 203.0.113.0/25 drop')
    assert by_interface(port['slices'], 'ext0') == [
        (['172.18.0.1'], EVERYWHERE, 'reachable', None),
        (['198.51.100.17'], ['203.0.113.0-203.0.113.127'], 'reachable', None),
        (['198.51.100.17'], ['0.0.0.0-203.0.112.255', '203.0.113.128-255.255.255.255'], 'unreachable', dropped)]
    [allowed] = [s for s in port['slices'] if s['interface'] == 'ext0' and s['destinations'] == ['198.51.100.17']
                 and s['verdict'] == 'reachable']
    assert path(allowed)[1:4] == [
        (KUBE_TABLE, 'filter-prerouting-pre-dnat', 'ct state new jump firewall-check'),
        (KUBE_TABLE, 'firewall-check', FIREWALL_CHECK),
        (KUBE_TABLE, 'filter-prerouting-pre-dnat', 'policy accept')]


def test_a_no_endpoint_element_for_the_published_port_rejects_it_after_dnat_only_where_it_still_matches():
    """no-endpoint-services is looked up in filter-forward, after DNAT: an element for the node's address
    and port 8080 no longer matches the DNAT'd packet (172.18.0.2, port 80); one for the container's does.
    kube-proxy's `goto reject-chain` rejects."""
    ruleset = with_elements(KUBE, 'no-endpoint-services', '198.51.100.17 . tcp . 8080 comment "lab/none:http" : goto reject-chain')
    [port] = ask(docker('sid'), ruleset)['ports']
    assert set(s['verdict'] for s in port['slices'] if s['interface'] != 'docker0') == {'reachable'}
    ruleset = with_elements(KUBE, 'no-endpoint-services', '172.18.0.2 . tcp . 80 comment "lab/none:http" : goto reject-chain')
    [port] = ask(docker('sid'), ruleset)['ports']
    rejected = dict(why='dropped', table=KUBE_TABLE, chain='reject-chain', rule='reject')
    assert by_interface(port['slices'], 'ext0') == [(HOSTS, EVERYWHERE, 'unreachable', rejected)]


def test_kube_proxy_s_earlier_layout_and_a_node_port_that_is_a_published_port():
    """Without --nodeport-addresses, kube-proxy matches NodePorts on every local address: `fib daddr type
    local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`. Port 8080 is no NodePort:
    answered as before. Made one, two NAT chains at one priority rewrite it (Docker's to the container,
    kube-proxy's to the pod): which the kernel runs first no listing tells."""
    earlier = KUBE.replace('ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports',
                           'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports', 1)
    assert earlier != KUBE
    [port] = ask(docker('sid'), earlier)['ports']
    assert [(s['interface'], s['verdict']) for s in port['slices']] == [
        ('docker0', 'unreachable'), ('ext0', 'reachable'), ('veth1', 'reachable'), ('wg0', 'reachable'), ('+', 'reachable')]
    colliding = earlier.replace('tcp . 30080 : goto external-AO6K2KWZ-lab/web-np/tcp/http',
                                'tcp . 8080 : goto external-AO6K2KWZ-lab/web-np/tcp/http', 1)
    [port] = ask(docker('sid'), colliding)['ports']
    order = ('base chains nat PREROUTING, ip kube-proxy nat-prerouting hook at the same priority; the order the kernel '
             'runs them in is not known, and it decides')
    for interface in ('ext0', 'veth1', 'wg0', '+'):
        assert by_interface(port['slices'], interface) == [(HOSTS, EVERYWHERE, 'unknown', dict(why=order))]


# --- what the engine does not model ----------------------------------------------------------------

EXTRA_PRE = 'table ip extra {\n\tchain pre {\n\t\ttype filter hook prerouting priority -120; policy accept;\n\t\t%s\n\t}\n}\n'


@pytest.mark.parametrize('rule, why', [
    ('iifname "veth1" ip daddr . meta mark vmap { 198.51.100.17 . 0x00000001 : drop }', 'a concatenation with meta mark'),
    ('iifname "veth1" ip daddr . tcp flags { 198.51.100.17 . syn } drop', 'a concatenation with tcp flags'),
    ('iifname "veth1" ip saddr . tcp sport { 203.0.113.1 . 1000 } drop', 'a concatenation of source addresses and source ports'),
    ('iifname "veth1" ip daddr . tcp dport vmap { 198.51.100.0/24 . 8080 : drop, 198.51.100.17 . 8000-8100 : accept }',
     'elements 198.51.100.0/24 . 8080 and 198.51.100.17 . 8000-8100 of a verdict map overlap'),
])
def test_a_concatenation_the_engine_cannot_read_is_unknown_naming_the_rule(rule, why):
    [port] = ask(docker('sid'), KUBE + EXTRA_PRE % rule)['ports']
    assert by_interface(port['slices'], 'veth1') == [
        (HOSTS, EVERYWHERE, 'unknown', dict(table='ip extra', chain='pre', rule=rule, why=why))]
    # Its known match (iifname) still splits: ext0 is answered.
    assert [s['verdict'] for s in port['slices'] if s['interface'] == 'ext0'] == ['reachable']


def test_overlapping_elements_with_one_verdict_are_read():
    rule = 'iifname "veth1" ip daddr . tcp dport vmap { 198.51.100.0/24 . 8080 : drop, 198.51.100.17 . 8000-8100 : drop }'
    [port] = ask(docker('sid'), KUBE + EXTRA_PRE % rule)['ports']
    dropped = dict(why='dropped', table='ip extra', chain='pre', rule=rule)
    assert by_interface(port['slices'], 'veth1') == [
        (['172.18.0.1'], EVERYWHERE, 'reachable', None), (['198.51.100.17'], EVERYWHERE, 'unreachable', dropped)]


def test_a_map_of_ranges_and_single_values():
    """`flags interval`: an element with a network (looked up as a range) beside single addresses (looked up by
    the packet's own): each destination takes its element's verdict; one no element holds goes on."""
    rule = ('iifname "veth1" ip daddr . meta l4proto . th dport vmap { 198.51.100.16/28 . tcp . 8000-8100 : accept, '
            '172.18.0.1 . tcp . 8080 : drop, 172.18.0.1 . udp . 8080 : accept, 172.18.0.9 . tcp . 8080 : accept }')
    [port] = ask(docker('sid'), KUBE + EXTRA_PRE % rule)['ports']
    assert by_interface(port['slices'], 'veth1') == [
        (['198.51.100.17'], EVERYWHERE, 'reachable', None),
        (['172.18.0.1'], EVERYWHERE, 'unreachable', dict(why='dropped', table='ip extra', chain='pre', rule=rule))]
    [reached] = [s for s in port['slices'] if s['interface'] == 'veth1' and s['verdict'] == 'reachable']
    assert path(reached)[:2] == [('raw', 'PREROUTING', '-P PREROUTING ACCEPT'), ('ip extra', 'pre', rule)]


# --- set membership with a concatenation ----------------------------------------------------------

PAIRS = ('\tset pairs {\n\t\ttype ipv4_addr . inet_service\n\t\tflags interval\n'
         '\t\telements = { 203.0.113.0/25 . 80,\n\t\t\t     198.51.100.0/24 . 81 }\n\t}\n\n')
EXTRA_FORWARD = ('table ip extra {\n' + PAIRS + '\tchain forward {\n'
                 '\t\ttype filter hook forward priority filter - 5; policy accept;\n%s\t}\n}\n')


def test_set_membership_of_a_concatenation_negated_and_not():
    """In FORWARD, after DNAT: the packet goes to 172.18.0.2 port 80, so of `pairs` only 203.0.113.0/25 . 80
    can hold."""
    rules = ('\t\tiifname "ext0" ip saddr . tcp dport @pairs drop\n'
             '\t\tiifname "veth1" ip saddr . tcp dport != { 203.0.113.0/25 . 80, 198.51.100.0/24 . 81 } drop\n'
             '\t\tiifname "wg0" ip daddr . tcp dport { 172.18.0.3 . 80, 172.18.0.2 . 80 } drop\n'
             '\t\tiifname "docker0" ip daddr . tcp dport 172.18.0.2 . 81 drop\n')
    [port] = ask(docker('sid'), KUBE + EXTRA_FORWARD % rules)['ports']
    inside, outside = ['203.0.113.0-203.0.113.127'], ['0.0.0.0-203.0.112.255', '203.0.113.128-255.255.255.255']

    def dropped(rule):
        return dict(why='dropped', table='ip extra', chain='forward', rule=rule)
    assert by_interface(port['slices'], 'ext0') == [
        (HOSTS, outside, 'reachable', None), (HOSTS, inside, 'unreachable', dropped('iifname "ext0" ip saddr . tcp dport @pairs drop'))]
    assert by_interface(port['slices'], 'veth1') == [
        (HOSTS, inside, 'reachable', None),
        (HOSTS, outside, 'unreachable',
         dropped('iifname "veth1" ip saddr . tcp dport != { 203.0.113.0/25 . 80, 198.51.100.0/24 . 81 } drop'))]
    assert by_interface(port['slices'], 'wg0') == [
        (HOSTS, EVERYWHERE, 'unreachable', dropped('iifname "wg0" ip daddr . tcp dport { 172.18.0.3 . 80, 172.18.0.2 . 80 } drop'))]
    assert by_interface(port['slices'], '+') == [(HOSTS, EVERYWHERE, 'reachable', None)]


def test_a_concatenation_of_another_family_never_holds_even_negated():
    """`ip6 saddr . tcp dport != {...}` implies IPv6, as a single `ip6 saddr !=` does."""
    rules = '\t\tip6 saddr . tcp dport != { 2001:db8::/32 . 80 } drop\n'
    [port] = ask(docker('sid'), KUBE + EXTRA_FORWARD % rules)['ports']
    assert set(s['verdict'] for s in port['slices'] if s['interface'] != 'docker0') == {'reachable'}


# --- numgen and mark set ----------------------------------------------------------------------------

LB = ('table inet lb {\n\tchain forward {\n\t\ttype filter hook forward priority filter - 5; policy accept;\n%s\t}\n\n'
      '\tchain even {\n\t\tmeta mark set meta mark | 0x00004000\n\t}\n\n'
      '\tchain odd {\n\t\tmeta mark set meta mark ^ 0x00004000 counter\n\t}\n}\n')


def test_numgen_is_exact_where_every_branch_ends_alike_else_unknown():
    rules = ('\t\tiifname "ext0" numgen random mod 2 vmap { 0 : jump even, 1 : jump odd }\n'
             '\t\tiifname "veth1" numgen random mod 2 vmap { 0 : drop, 1 : accept }\n'
             '\t\tiifname "wg0" numgen inc mod 3 offset 1 vmap { 1 : drop, 2 : drop }\n'
             '\t\tiifname "docker0" numgen random mod 2 vmap { 0 : drop, 1 : drop }\n')
    [port] = ask(docker('sid'), KUBE + LB % rules)['ports']
    # Both branches set a mark and come back: the walk goes on.
    assert by_interface(port['slices'], 'ext0') == [(HOSTS, EVERYWHERE, 'reachable', None)]
    [ext0] = [s for s in port['slices'] if s['interface'] == 'ext0']
    # Raw, kube-proxy's chain before DNAT, Docker's DNAT, then this table's forward chain (priority filter - 5).
    assert path(ext0)[5:7] == [
        ('inet lb', 'forward', 'iifname "ext0" numgen random mod 2 vmap { 0 : jump even, 1 : jump odd }'),
        ('inet lb', 'forward', 'policy accept')]
    assert by_interface(port['slices'], 'veth1') == [(HOSTS, EVERYWHERE, 'unknown', dict(
        table='inet lb', chain='forward', rule='iifname "veth1" numgen random mod 2 vmap { 0 : drop, 1 : accept }',
        why='the kernel picks one branch per packet, and they end otherwise'))]
    # Value 3 has no element: the rule does not match that packet, which goes on.
    assert by_interface(port['slices'], 'wg0') == [(HOSTS, EVERYWHERE, 'unknown', dict(
        table='inet lb', chain='forward', rule='iifname "wg0" numgen inc mod 3 offset 1 vmap { 1 : drop, 2 : drop }',
        why='the kernel picks one branch per packet, and they end otherwise'))]


def test_numgen_with_one_verdict_is_that_verdict():
    rules = '\t\tnumgen random mod 2 vmap { 0 : drop, 1 : drop }\n'
    [port] = ask(docker('sid'), KUBE + LB % rules)['ports']
    dropped = dict(why='dropped', table='inet lb', chain='forward', rule='numgen random mod 2 vmap { 0 : drop, 1 : drop }')
    assert by_interface(port['slices'], 'ext0') == [(HOSTS, EVERYWHERE, 'unreachable', dropped)]


def test_a_mark_set_is_passed_over_and_a_mark_read_stays_unknown():
    rules = ('\t\tiifname "ext0" meta mark set 0x00000001\n'
             '\t\tiifname "veth1" meta mark set 0x00000001\n'
             '\t\tiifname "veth1" meta mark 0x00000001 drop\n')
    [port] = ask(docker('sid'), KUBE + LB % rules)['ports']
    assert by_interface(port['slices'], 'ext0') == [(HOSTS, EVERYWHERE, 'reachable', None)]
    assert by_interface(port['slices'], 'veth1') == [(HOSTS, EVERYWHERE, 'unknown', dict(
        table='inet lb', chain='forward', rule='iifname "veth1" meta mark 0x00000001 drop', why='statement meta mark 0x00000001'))]


def test_kube_proxy_s_service_chains_are_walked_to_their_dnat():
    """Asked about a ClusterIP (forwarded): services -> service-URTH2HAX (mark-for-masquerade, numgen mod 1)
    -> endpoint-37ZMMCAJ: DNAT to the pod 198.51.100.226 port 8000. Where a DNAT'd packet goes is not the
    engine's question: unknown, naming the DNAT, not the mark nor numgen. With two endpoints, numgen picks one
    per packet: unknown, naming it."""
    addresses = dict(ADDRESSES, cni0=['198.51.100.225/28', '2001:db8:10::1/64'])  # the pods' bridge
    interfaces = INTERFACES + ['cni0']
    answer = reachability(docker('sid'), 'ipv4', [], addresses, interfaces=interfaces, nftables_ruleset=KUBE,
                          forwarded=[dict(address='198.51.100.200', port=80)])
    [target] = answer['forwarded']
    dnat = dict(why='DNAT sends it to 198.51.100.226 port 8000: where a rewritten packet goes is not asked')
    assert [(s['interface'], s['source_ranges'], s['verdict'], s['reason']) for s in target['slices']] == [
        (interface, EVERYWHERE, 'unknown', dnat) for interface in ('cni0', 'docker0', 'ext0', 'veth1', 'wg0', '+')]
    two = KUBE.replace(
        'numgen random mod 1 vmap { 0 : goto endpoint-37ZMMCAJ-lab/web/tcp/http__198.51.100.226/8000 }',
        'numgen random mod 2 vmap { 0 : goto endpoint-37ZMMCAJ-lab/web/tcp/http__198.51.100.226/8000, '
        '1 : goto endpoint-2ND-lab/web/tcp/http__198.51.100.227/8000 }', 1)
    two = with_chain(two, 'endpoint-2ND-lab/web/tcp/http__198.51.100.227/8000', 'meta l4proto tcp dnat to 198.51.100.227:8000')
    answer = reachability(docker('sid'), 'ipv4', [], addresses, interfaces=interfaces, nftables_ruleset=two,
                          forwarded=[dict(address='198.51.100.200', port=80)])
    [target] = answer['forwarded']
    assert set((s['verdict'], s['reason']['chain'], s['reason']['why']) for s in target['slices']) == {
        ('unknown', 'service-URTH2HAX-lab/web/tcp/http', 'the kernel picks one branch per packet, and they end otherwise')}
    # IPv6: the ip6 table's service chain, to the pod's IPv6 address.
    answer = reachability(capture('sid', 'q2-published-default.ip6tables-save'), 'ipv6', [], addresses,
                          interfaces=interfaces, nftables_ruleset=KUBE, forwarded=[dict(address='2001:db8:10:96::c8', port=80)])
    assert set((s['verdict'], s['reason']['why']) for s in answer['forwarded'][0]['slices']) == {
        ('unknown', 'DNAT sends it to 2001:db8:10::e2 port 8000: where a rewritten packet goes is not asked')}
