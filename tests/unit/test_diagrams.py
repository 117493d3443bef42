# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The packet-flow diagrams (docs/diagrams/*.dot) say what the code and the captures say. Every
rule row is checked: Docker's and kube-proxy's against the capture the diagram is drawn from (in
that capture, in that chain, in that order), ours against what the engines write for the
diagrams' example declaration (all of it, in order, ahead of the others' rules in a shared chain).
Each base chain's hook and priority is checked too, base chains on one hook must be drawn on the
packet's path in the order of their priorities, and every jump drawn from a rule row must lead to
the chain the rule names. On Docker's iptables backend the docker_on_router role keeps the
collection's nftables table beside DOCKER-USER as a backstop: the iptables diagrams draw it, all of
it, as the engine renders it, before iptables' filter FORWARD. (tests/diagrams/check.py checks that
the SVGs are rendered from them.)"""

import html
import os
import re

import pytest
import yaml

from captures import FIXTURES
from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import declared_blocks
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import CHAIN, block_order
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _publish as publish

DIAGRAMS = os.path.join(ROOT, 'docs', 'diagrams')
CAPTURES = os.path.join(FIXTURES, 'docker-iptables')
# Row colours: whose rule a row is (the legend's colours).
OURS, DOCKER, KUBE = '#dbeafe', '#fed7aa', '#dcfce7'
# What each diagram is drawn from: the captures of Docker's or kube-proxy's rules.
SOURCES = {
    'docker-20-26-iptables.dot': [os.path.join(CAPTURES, 'bookworm', 'q2-published-default.iptables-save.txt'),
                                  os.path.join(CAPTURES, 'trixie', 'q2-published-default.iptables-save.txt')],
    'docker-28-iptables.dot': [os.path.join(CAPTURES, 'sid', 'q2-published-default.iptables-save.txt')],
    'docker-29-iptables.dot': [os.path.join(CAPTURES, 'docker29', 'q2-published-default.iptables-save.txt')],
    'docker-29-nftables.dot': [os.path.join(CAPTURES, 'docker29', 'n3-switched-after-reboot.nft-ruleset.txt')],
    'docker-proxy.dot': [],
    'kube-node-publisher.dot': [os.path.join(ROOT, 'molecule', 'kube', 'files', 'kube-proxy.rules')],
    'kube-node-nftables.dot': [os.path.join(ROOT, 'molecule', 'kube', 'files', 'kube-proxy-nftables.nft'),
                               os.path.join(FIXTURES, 'kube-proxy', 'leftovers', 'nftables-node.docker26.iptables-save.txt')],
}
# Diagrams of nftables tables, checked by their own tests (rows against nft listings).
NFTABLES = ['docker-29-nftables.dot', 'kube-node-nftables.dot']
# Docker's iptables backend, where the docker_on_router role keeps the backstop beside DOCKER-USER.
BACKSTOP = ['docker-20-26-iptables.dot', 'docker-28-iptables.dot', 'docker-29-iptables.dot']
OUR_TABLE = '%s %s' % (nft.FAMILY, nft.TABLE)
# iptables-nft's tables as nft lists them (Docker 29 on iptables): the hooks and priorities of the
# iptables chains drawn with one. iptables-legacy registers its filter table on the same hooks at
# NF_IP_PRI_FILTER (0, nftables' "filter"), so the kernel runs our base chain before it there too.
IPTABLES_NFT = os.path.join(CAPTURES, 'docker29', 'q2-published-default.nft-ruleset.txt')
# nftables' named priorities (the ip/ip6/inet families), as numbers.
PRIORITIES = {'raw': -300, 'mangle': -150, 'dstnat': -100, 'filter': 0, 'security': 50, 'srcnat': 100}
# The example the diagrams show: a router pair, routed access from the VPN, an allowlist with ports,
# one published container.
EXAMPLE = declared_blocks(
    [{'in_interface': 'wg0', 'out_interface': 'eth0'}],
    [{'interface': 'eth0', 'sources': ['198.51.100.0/24', '2001:db8:10::/48'], 'ports': [8080]}],
    [{'interface': 'wg0'}])
PUBLISHED = [publish.Binding('registry-mirror', 'ipv4', '198.51.100.130', None, '5000', '5000', 'tcp')]

COMMENT = re.compile(r' -m comment --comment ("[^"]*"|\S+)')
COUNTER = re.compile(r'counter packets \d+ bytes \d+ ')
OUR_NFT_COMMENT = re.compile(r' comment "%s[^"]*"$' % re.escape(decisions.TAG_PREFIX))
NODE = re.compile(r'^  (\w+) \[label=<(<TABLE.*?</TABLE>)>\];', re.M | re.S)
CELL = re.compile(r'<TD([^>]*)>(.*?)</TD>', re.S)
EDGE = re.compile(r'^  (\w+):(\w+) -> (\w+) ', re.M)
PATH = re.compile(r'^  (\w+) -> (\w+) \[penwidth=2\b', re.M)  # the packet's path: bold edges between nodes
HOOK = re.compile(r'hook (\w+),? priority ([a-z]+(?: [-+] \d+)?|-?\d+)')


def uncommented(rule):
    return COMMENT.sub('', ' ' + rule).strip()


def text(cell):
    return html.unescape(re.sub(r'<BR[^>]*>', ' ', re.sub(r'<(?!BR)[^>]*>', '', cell))).strip()


class Chain:
    """One table node of a diagram: its chain, the hook line of its header, its rows."""

    def __init__(self, table):
        cells = CELL.findall(table)
        header = cells[0][1]
        self.name = text(re.search(r'<B>(.*?)</B>', header).group(1))  # 'nat DOCKER', 'ip docker-bridges nat-PREROUTING'
        self.hook = HOOK.search(text(header))
        self.rows = []  # (owner, rule text, port)
        for attributes, cell in cells[1:]:
            colour = re.search(r'BGCOLOR="([^"]+)"', attributes).group(1)
            port = re.search(r'PORT="([^"]+)"', attributes)
            if 'DejaVu Sans Mono' in cell:
                self.rows.append((colour, text(cell), port.group(1) if port else None))

    @property
    def table(self):
        return self.name.rsplit(' ', 1)[0]

    @property
    def chain(self):
        return self.name.rsplit(' ', 1)[1]

    def owned(self, owner):
        return [rule for colour, rule, _port in self.rows if colour == owner]


def diagram(name):
    with open(os.path.join(DIAGRAMS, name), encoding='utf-8') as handle:
        source = handle.read()
    return source, dict((node, Chain(table)) for node, table in NODE.findall(source))


def iptables_capture(path):
    """{(table, chain): [rule, ...]} of an iptables-save text, comments left out."""
    rules, table = {}, None
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            if line.startswith('*'):
                table = line[1:].strip()
            elif line.startswith('-A '):
                chain, rule = line.split(None, 2)[1:]
                rules.setdefault((table, chain), []).append(uncommented(rule.strip()))
    return rules


def nft_rules(listing):
    """{(table, chain): [rule, ...]} and {(table, chain): (hook, priority)} of `nft list` output."""
    rules, hooks, table, chain = {}, {}, None, None
    for line in listing.splitlines():
        line = line.strip()
        if line.startswith('table '):
            table = line[len('table '):-2]
        elif line.startswith(('map ', 'set ')):
            chain = None
        elif line.startswith('chain '):
            chain = line.split()[1]
            rules[(table, chain)] = []
        elif chain and line.startswith('type '):
            found = re.match(r'type \w+ hook (\w+) priority ([^;]+);', line)
            hooks[(table, chain)] = (found.group(1), found.group(2))
        elif chain and line and not line.startswith(('comment ', '}', '#')):
            rules[(table, chain)].append(COUNTER.sub('', line))
    return rules, hooks


def our_iptables_rules(table, chain):
    """What the engines write in one chain for the example, comments left out (IPv4)."""
    if chain == CHAIN:
        lines = [line for name in sorted(EXAMPLE, key=block_order) for line in EXAMPLE[name].rules['ipv4']]
    elif chain == publish.CHAIN:
        lines = publish.chain_rules(PUBLISHED, 'ipv4')[table]
    else:
        lines = ['-A %s %s' % jump for jump in publish.jump_lines('ipv4').get(table, []) if jump[0] == chain]
    return [uncommented(line.split(None, 2)[2] if line.startswith('-A ') else line) for line in lines]


def our_nft_table():
    """Our table as the engine renders it for the example, our comments left out."""
    rules, hooks = nft_rules(nft.render(nft.plan_table(None, EXAMPLE)))
    return dict((key, [OUR_NFT_COMMENT.sub('', rule) for rule in value]) for key, value in rules.items()), hooks


def priority(name):
    """A priority as nft prints it ('filter - 10') or as a number ('-110') as a number."""
    if re.match(r'-?\d+$', name):
        return int(name)
    found = re.match(r'([a-z]+)(?: ([-+]) (\d+))?$', name)
    offset = int(found.group(3) or 0) * (-1 if found.group(2) == '-' else 1)
    return PRIORITIES[found.group(1)] + offset


def packet_paths(source):
    """The packet's paths drawn (bold edges), each a list of nodes from a node nothing leads to."""
    following = {}
    for tail, head in PATH.findall(source):
        following.setdefault(tail, []).append(head)
    heads = set(head for heads in following.values() for head in heads)
    paths = []

    def walk(path):
        if path[-1] not in following:
            paths.append(path)
        for head in following.get(path[-1], []):
            walk(path + [head])
    for start in sorted(set(following) - heads):
        walk([start])
    return paths


def is_subsequence(part, whole):
    rest = iter(whole)
    return all(item in rest for item in part)


def test_every_diagram_is_listed_here():
    assert sorted(f for f in os.listdir(DIAGRAMS) if f.endswith('.dot')) == sorted(SOURCES)


@pytest.mark.parametrize('name', sorted(n for n in SOURCES if n not in NFTABLES))
def test_iptables_rows_are_the_captures_and_the_engines(name):
    _source, chains = diagram(name)
    captures = [iptables_capture(path) for path in SOURCES[name]]
    with open(IPTABLES_NFT, encoding='utf-8') as handle:
        _rules, iptables_hooks = nft_rules(handle.read())
    for chain in chains.values():
        if chain.table == OUR_TABLE:
            continue  # the backstop: test_backstop_is_the_engines_table_before_iptables_forward
        if chain.hook:
            assert chain.hook.groups() == iptables_hooks[('ip ' + chain.table, chain.chain)], (name, chain.name)
        if not chain.rows:
            continue  # a node that describes, with no rule in it
        key = (chain.table, chain.chain)
        for theirs in (DOCKER, KUBE):
            for capture in captures:
                assert is_subsequence(chain.owned(theirs), capture.get(key, [])), (name, key, chain.owned(theirs))
        ours = chain.owned(OURS)
        if ours:
            assert ours == our_iptables_rules(*key), (name, key)
            others = [index for index, row in enumerate(chain.rows) if row[0] != OURS]
            assert not others or max(i for i, row in enumerate(chain.rows) if row[0] == OURS) < min(others), key


def test_nftables_rows_hooks_and_priorities_are_the_capture_and_the_engine():
    _source, chains = diagram('docker-29-nftables.dot')
    with open(SOURCES['docker-29-nftables.dot'][0], encoding='utf-8') as handle:
        docker_rules, docker_hooks = nft_rules(handle.read())
    our_rules, our_hooks = our_nft_table()
    assert our_hooks == {('inet %s' % nft.TABLE, nft.BASE_CHAIN): ('forward', 'filter - 10')}
    seen = set()
    for chain in chains.values():
        key = (chain.table, chain.chain)
        rules, hooks = (our_rules, our_hooks) if chain.table == 'inet %s' % nft.TABLE else (docker_rules, docker_hooks)
        assert key in rules, key
        assert chain.owned(OURS) + chain.owned(DOCKER) == rules[key], key
        assert (chain.hook.groups() if chain.hook else None) == hooks.get(key), key
        seen.add(key)
    # Every chain the packet meets on its way in is drawn: our two, and Docker's on the path.
    assert set(our_rules) <= seen
    assert {('ip docker-bridges', 'raw-PREROUTING'), ('ip docker-bridges', 'nat-PREROUTING'),
            ('ip docker-bridges', 'filter-FORWARD'), ('ip docker-bridges', 'nat-POSTROUTING')} <= seen


def test_kube_proxy_s_nftables_rows_hooks_and_priorities_are_its_ruleset_and_docker_s_the_capture():
    _source, chains = diagram('kube-node-nftables.dot')
    ruleset, capture = SOURCES['kube-node-nftables.dot']
    with open(ruleset, encoding='utf-8') as handle:
        kube_rules, kube_hooks = nft_rules(handle.read())
    with open(IPTABLES_NFT, encoding='utf-8') as handle:
        _rules, iptables_hooks = nft_rules(handle.read())
    seen = set()
    for chain in chains.values():
        key = (chain.table, chain.chain)
        if chain.table == 'filter':  # iptables: Docker's rows are the capture's, in order
            assert is_subsequence(chain.owned(DOCKER), iptables_capture(capture)[key]) and chain.owned(DOCKER), key
            assert chain.hook.groups() == iptables_hooks[('ip filter', chain.chain)]
            continue
        assert chain.owned(KUBE) == kube_rules[key], key  # kube-proxy's chains drawn whole
        hook = kube_hooks.get(key)
        assert (chain.hook.group(1), priority(chain.hook.group(2))) == (hook[0], priority(hook[1])) if hook \
            else chain.hook is None, key
        seen.add(key)
    # Every base chain of kube-proxy's the packet meets on this path is drawn.
    assert set(('ip kube-proxy', name) for name in ('filter-prerouting-pre-dnat', 'nat-prerouting', 'filter-forward',
                                                    'nat-postrouting')) <= seen


@pytest.mark.parametrize('name', BACKSTOP)
def test_backstop_is_the_engines_table_before_iptables_forward(name):
    source, chains = diagram(name)
    our_rules, our_hooks = our_nft_table()
    seen = set()
    for chain in chains.values():
        if chain.table != OUR_TABLE:
            continue
        key = (chain.table, chain.chain)
        assert key in our_rules, (name, key)
        assert set(colour for colour, _rule, _port in chain.rows) == set([OURS]), (name, key)
        assert chain.owned(OURS) == our_rules[key], (name, key)
        assert (chain.hook.groups() if chain.hook else None) == our_hooks.get(key), (name, key)
        seen.add(key)
    # The whole table is drawn: its base chain, the routed-access chain and the allowlist's chain.
    assert set(our_rules) == seen, name
    nodes = dict((chain.name, node) for node, chain in chains.items())
    ours, theirs = nodes['%s %s' % (OUR_TABLE, nft.BASE_CHAIN)], nodes['filter FORWARD']
    # Both on the forward hook, ours at the lower priority, and drawn so: the packet meets it first.
    assert chains[ours].hook.group(1) == chains[theirs].hook.group(1) == 'forward', name
    assert priority(chains[ours].hook.group(2)) < priority(chains[theirs].hook.group(2)), name
    assert any(ours in path and theirs in path and path.index(ours) + 1 == path.index(theirs)
               for path in packet_paths(source)), name
    # Labelled as what the role keeps: the backstop, where nft is installed (the routed-access guard is
    # always declared, so the table always holds something).
    header = text(re.search(r'^  %s \[label=<.*?<TD[^>]*>(.*?)</TD>' % ours, source, re.M | re.S).group(1))
    assert 'the backstop' in header and 'where nft is installed' in header, (name, header)
    with open(os.path.join(ROOT, 'roles', 'docker_on_router', 'vars', 'main.yml'), encoding='utf-8') as handle:
        kept = yaml.safe_load(handle)['__docker_on_router_backstop']
    assert kept == '{{ __docker_on_router_decisions.backstop }}'
    # The decision the role reads: on Docker's iptables backend where nft is installed, whatever is declared.
    assert decisions.backstop('auto', 'iptables', '/usr/sbin/nft').value is True
    assert decisions.backstop('auto', 'iptables', None).value is False
    assert decisions.backstop('auto', 'nftables', '/usr/sbin/nft').value is False


# Direct routing per generation: what Docker does of its own (a raw-table drop from 28 on, which
# allow-direct-routing lifts) and the routed block that decides then.
RAW_DROP = {'docker-20-26-iptables.dot': None,
            'docker-28-iptables.dot': ('raw PREROUTING', '-d 172.18.0.2/32 ! -i docker0 -j DROP'),
            'docker-29-iptables.dot': ('raw PREROUTING', '-d 172.17.0.2/32 ! -i docker0 -j DROP'),
            'docker-29-nftables.dot': ('ip docker-bridges raw-PREROUTING',
                                       'ip daddr 172.17.0.2 iifname != "docker0" drop comment "DROP DIRECT ACCESS"')}


@pytest.mark.parametrize('name', sorted(RAW_DROP))
def test_each_generation_shows_docker_s_direct_routing_drop_and_the_routed_guard(name):
    source, chains = diagram(name)
    raw = [chain for chain in chains.values() if 'raw' in chain.name.lower() and chain.hook is not None
           or chain.name.startswith('raw ')]
    if RAW_DROP[name] is None:
        assert raw == [] and "drop none of it" in source, name
    else:
        assert [(chain.name, chain.owned(DOCKER)) for chain in raw] == [(RAW_DROP[name][0], [RAW_DROP[name][1]])]
        assert 'allow-direct-routing' in source, name
    routed = [chain for chain in chains.values() if chain.chain == nft.ROUTED_CHAIN]
    assert len(routed) == 1 and routed[0].owned(OURS)[-1] == 'drop', name
    if name != 'docker-29-nftables.dot':
        guard = [rule for rule in chains['user_chain'].owned(OURS) if rule.endswith('-j DROP') and '! -i ' in rule]
        assert guard == [uncommented(line.split(None, 2)[2]) for line in EXAMPLE['routed'].rules['ipv4'][-2:]]


@pytest.mark.parametrize('name', sorted(SOURCES))
def test_base_chains_of_one_hook_are_met_in_the_order_of_their_priorities(name):
    source, chains = diagram(name)
    for path in packet_paths(source):
        hooked = [chains[node].hook.groups() for node in path if node in chains and chains[node].hook]
        for (hook, first), (next_hook, then) in zip(hooked, hooked[1:]):
            if hook == next_hook:
                assert priority(first) < priority(then), (name, path, hook, first, then)


@pytest.mark.parametrize('name', sorted(SOURCES))
def test_each_jump_drawn_from_a_rule_leads_to_the_chain_it_names(name):
    source, chains = diagram(name)
    for tail, port, head in EDGE.findall(source):
        row = [rule for _colour, rule, row_port in chains[tail].rows if row_port == port]
        assert len(row) == 1, (name, tail, port)
        target = re.search(r'(?:-j|jump) (\S+)$', row[0])
        if target:  # a verdict map ('vmap') names no chain
            assert chains[head].chain == target.group(1), (name, tail, port, head)
