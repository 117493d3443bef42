# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's nftables table, for Docker's nftables firewall backend (which has no
DOCKER-USER): render it from the same blocks as DOCKER-USER, read it back from `nft list table`,
compare by meaning, and build the one-transaction payload that replaces it. Private to this
collection. Pure: no host access, no Ansible imports.

The table is `inet netops-docker-firewall`, ours alone; Docker's `ip`/`ip6 docker-bridges` and
every other table are never written. Its base chain `forward` hooks forward at priority
`filter - 10`, before Docker's filter-FORWARD (priority filter): a drop there is final whatever
Docker's chains accept later. Per allowlist: one regular chain and one interval set per family,
each carrying the block's tag as comment:

  chain forward:         iifname "ext0" jump allowlist-ext0
  chain allowlist-ext0:  replies return; (ports mode: new connections routed into a container
                         bridge without DNAT drop); listed sources return; the rest drops (ports
                         mode: only connections whose original destination port is listed)

Routed access (who may reach a container's own address) is one regular chain `routed`, jumped to
from the base chain, per container bridge pattern, by new connections without DNAT that arrive on
an interface that is not one of that pattern; it returns what comes from the other kind of
container bridge (Docker's business), accepts each declaration's connections (sources and
networks in interval sets per declaration and family) and drops the rest: the guard.

Base chain order: router pairs, the routed jumps, the allowlist jumps (as in DOCKER-USER). Router
pairs are accepted before any allowlist: Docker's nftables rules never drop traffic between two
non-Docker interfaces, but an allowlist on the WAN side would. An accept in our base chain (or in a
chain it jumps to) only ends our table's verdict; Docker's chains still see the packet, and a drop
anywhere stays final. That is why a declared routed connection is accepted, not returned: as a
RETURN in DOCKER-USER does, it leaves the collection's rules (the allowlists of its interface,
which concern published ports, included) and goes on to Docker's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import TAG_PREFIX
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import CONTAINER_BRIDGES, ROUTED
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import block_order
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import merge_spans

TABLE = 'netops-docker-firewall'
FAMILY = 'inet'
TABLE_COMMENT = 'netops.docker_firewall'
BASE_CHAIN = 'forward'
BASE_HEADER = 'type filter hook forward priority filter - 10; policy accept;'
_SET_TYPE = {'ipv4': 'ipv4_addr', 'ipv6': 'ipv6_addr'}
_SADDR = {'ipv4': 'ip saddr', 'ipv6': 'ip6 saddr'}
_DADDR = {'ipv4': 'ip daddr', 'ipv6': 'ip6 daddr'}
_VERSION = {'ipv4': 4, 'ipv6': 6}
ROUTED_CHAIN = 'routed'
# Characters kept as they are in our chain and set names; others become _XX (hex).
_NAME_SAFE = re.compile(r'[A-Za-z0-9-]')


class NftSyntaxError(ValueError):
    """`nft list table` output that is not the shape this module writes."""


# ---------------------------------------------------------------------------------------------
# Model: what the table holds, comparable whether rendered by us or printed back by nft.


class NftSet:
    __slots__ = ('name', 'type', 'comment', 'intervals')

    def __init__(self, name, set_type, comment, intervals):
        self.name = name
        self.type = set_type
        self.comment = comment
        self.intervals = intervals  # sorted, merged [(first int, last int)]

    def key(self):
        return (self.name, self.type, self.comment, tuple(self.intervals))


class NftChain:
    __slots__ = ('name', 'header', 'comment', 'rules')

    def __init__(self, name, header, comment, rules):
        self.name = name
        self.header = header  # base chains: 'type ... policy accept;', else ''
        self.comment = comment
        self.rules = rules

    def key(self):
        return (self.name, self.header, self.comment, tuple(self.rules))


class Table:
    """Our table: sets and chains by name. The base chain's rules are grouped by block (comment)."""

    def __init__(self, sets=None, chains=None):
        self.sets = sets or {}
        self.chains = chains or {}

    def key(self):
        return (sorted(s.key() for s in self.sets.values()), sorted(c.key() for c in self.chains.values()))

    def blocks(self):
        """Names of the blocks the table holds, from the objects' comments, sorted."""
        names = set(_block_of(obj) for obj in list(self.sets.values()) + list(self.chains.values())) - set([None])
        for rule in self.chains.get(BASE_CHAIN, NftChain(BASE_CHAIN, '', None, [])).rules:
            name = _rule_block(rule)
            if name:
                names.add(name)
        return sorted(names)


def same_table(left, right):
    """True when two tables hold the same sets (as address intervals) and the same chains."""
    if left is None or right is None:
        return left is right
    return left.key() == right.key()


def table_differences(wanted, found):
    """What `found` (the table read back, or None) holds otherwise than `wanted` (None: no table), each
    named, sets then chains by name; [] exactly when same_table(wanted, found)."""
    if wanted is None or found is None:
        if wanted is found:
            return []
        return ['the table is missing'] if found is None else ['the table is still there']
    differences = []
    for kind, mine, theirs, held in (('set', wanted.sets, found.sets, 'elements'),
                                     ('chain', wanted.chains, found.chains, 'rules')):
        for name in sorted(set(mine) | set(theirs)):
            if name not in theirs:
                differences.append('%s %s is missing' % (kind, name))
            elif name not in mine:
                differences.append('%s %s was not written' % (kind, name))
            elif mine[name].key() != theirs[name].key():
                # key()'s last item is what the object holds: intervals or rules.
                alike = mine[name].key()[:-1] == theirs[name].key()[:-1]
                differences.append('%s %s %s' % (kind, name, 'holds other %s' % held if alike else 'differs'))
    return differences


def _block_of(obj):
    """The block a set or chain belongs to (its comment), or None."""
    if obj.comment and obj.comment.startswith(TAG_PREFIX):
        return obj.comment[len(TAG_PREFIX):]
    return None


def _rule_block(rule):
    match = re.search(r' comment "%s([^"]*)"$' % re.escape(TAG_PREFIX), rule)
    return match.group(1) if match else None


def _intervals(elements):
    """Merged [(first, last)] of nft elements: addresses, CIDR networks, ranges a-b."""
    spans = []
    for element in elements:
        if '-' in element:
            first, last = element.split('-', 1)
            spans.append((int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))))
        else:
            network = ipaddress.ip_network(element, strict=False)
            spans.append((int(network.network_address), int(network.broadcast_address)))
    return merge_spans(spans)


# ---------------------------------------------------------------------------------------------
# From blocks


def _escaped(interface):
    return ''.join(c if _NAME_SAFE.match(c) else '_%02X' % ord(c) for c in interface)


def object_name(block_name):
    """A chain or set name for a block: 'allowlist:eth0.100' -> 'allowlist-eth0_2E100'."""
    kind, _colon, interface = block_name.partition(':')
    return '%s-%s' % (kind, _escaped(interface))


def _nft_interface(interface):
    return interface[:-1] + '*' if interface.endswith('+') else interface


def _port_values(ports):
    """Ports or ranges ('8000-8100') as nft prints them: overlapping and adjacent ranges merged (nft
    merges an interval set), braces only around more than one value."""
    spans = []
    for first, _dash, last in sorted((p.replace(':', '-').partition('-') for p in ports), key=lambda t: int(t[0])):
        first, last = int(first), int(last or first)
        if spans and first <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], last)
        else:
            spans.append([first, last])
    values = ['%d' % a if a == b else '%d-%d' % (a, b) for a, b in spans]
    return values[0] if len(values) == 1 else '{ %s }' % ', '.join(values)


def _port_match(protocol, ports):
    return 'meta l4proto %s ct original proto-dst %s' % (protocol, _port_values(ports))


def allowlist_objects(block):
    """(sets, chain, base chain rules) of one allowlist block."""
    spec = block.spec
    tag = TAG_PREFIX + block.name
    name = object_name(block.name)
    sets = {}
    for family in ('ipv4', 'ipv6'):
        set_name = '%s-%s' % (name, family)
        # The sources come merged (nft refuses overlapping intervals in a set without auto-merge).
        spans = merge_spans(source.span() for source in spec['sources'] if source.family == family)
        sets[set_name] = NftSet(set_name, _SET_TYPE[family], tag, spans)
    rules = ['ct state established,related return']
    ports = spec['ports']
    if ports:
        rules += ['oifname "%s" ct status ! dnat drop' % _nft_interface(bridges) for bridges in CONTAINER_BRIDGES]
    rules += ['%s @%s-%s return' % (_SADDR[family], name, family) for family in ('ipv4', 'ipv6')]
    rules.append('%s drop' % _port_match(spec['protocol'], ports) if ports else 'drop')
    jump = 'iifname "%s" jump %s comment "%s"' % (_nft_interface(spec['interface']), name, tag)
    return sets, NftChain(name, '', tag, rules), [jump]


def _routed_rules(tag, declaration, sets):
    """The accept rules of one routed-access declaration, adding the interval sets they match to
    `sets`: one rule for both families when it names neither sources nor networks, else one per
    family its sources and networks both leave in."""
    escaped = _escaped(declaration['interface'])
    head = 'iifname "%s" ' % _nft_interface(declaration['interface'])
    ports = declaration['ports']
    tail = ('%s dport %s ' % (declaration['protocol'], _port_values(ports)) if ports else '') + 'accept'
    if declaration['sources'] is None and declaration['networks'] is None:
        return [head + tail]
    rules = []
    for family in ('ipv4', 'ipv6'):
        matched = []
        for what, found, address in (('sources', declaration['sources'], _SADDR),
                                     ('networks', declaration['networks'], _DADDR)):
            if found is None:
                continue
            if what == 'sources':
                spans = merge_spans(s.span() for s in found if s.family == family)
            else:
                spans = merge_spans((int(n.network_address), int(n.broadcast_address))
                                    for n in found if n.version == _VERSION[family])
            name = 'routed-%s-%s-%s' % (escaped, what, family)
            matched.append((address[family], NftSet(name, _SET_TYPE[family], tag, spans)))
        if all(found.intervals for _address, found in matched):  # else this family is denied
            sets.update((found.name, found) for _address, found in matched)
            rules.append(head + ''.join('%s @%s ' % (address, found.name) for address, found in matched) + tail)
    return rules


def routed_objects(block):
    """(sets, chain, base chain rules) of the routed-access block: the chain `routed`, jumped to per
    container bridge pattern by new connections without DNAT from interfaces of another pattern."""
    tag = TAG_PREFIX + block.name
    sets = {}
    patterns = [_nft_interface(bridges) for bridges in CONTAINER_BRIDGES]
    # From the other kind of container bridge: between containers, Docker's business.
    rules = ['iifname "%s" return' % pattern for pattern in patterns]
    for declaration in block.spec['declarations']:
        rules.extend(_routed_rules(tag, declaration, sets))
    rules.append('drop')
    jumps = ['oifname "%s" iifname != "%s" ct state new ct status ! dnat jump %s comment "%s"'
             % (pattern, pattern, ROUTED_CHAIN, tag) for pattern in patterns]
    return sets, NftChain(ROUTED_CHAIN, '', tag, rules), jumps


def accept_rules(block):
    """The base chain rules of a router pair."""
    spec = block.spec
    tag = TAG_PREFIX + block.name
    inside, outside = _nft_interface(spec['in_interface']), _nft_interface(spec['out_interface'])
    reverse = 'accept' if spec['bidirectional'] else 'ct state established,related accept'
    return ['iifname "%s" oifname "%s" accept comment "%s"' % (inside, outside, tag),
            'iifname "%s" oifname "%s" %s comment "%s"' % (outside, inside, reverse, tag)]


def plan_table(current, blocks, purge=False):
    """Our table after setting `blocks` ({name: Block or None to remove}) on `current` (a Table
    or None). With purge, blocks of ours not named are removed. Returns None when no block
    remains (the table goes). Base chain: router pairs, the routed jumps, then allowlist jumps, each
    kind by name."""
    current = current or Table()
    keep = set() if purge else set(current.blocks())
    keep -= set(blocks)
    table = Table()
    jumps = []
    for rule in current.chains.get(BASE_CHAIN, NftChain(BASE_CHAIN, '', None, [])).rules:
        if _rule_block(rule) in keep:
            jumps.append((_rule_block(rule), rule))
    for obj in current.sets.values():
        if _block_of(obj) in keep:
            table.sets[obj.name] = obj
    for obj in current.chains.values():
        if obj.name != BASE_CHAIN and _block_of(obj) in keep:
            table.chains[obj.name] = obj
    for name, block in blocks.items():
        if block is None:
            continue
        if name.startswith('accept:'):
            jumps.extend((name, rule) for rule in accept_rules(block))
            continue
        sets, chain, block_jumps = routed_objects(block) if name == ROUTED else allowlist_objects(block)
        table.sets.update(sets)
        table.chains[chain.name] = chain
        jumps.extend((name, jump) for jump in block_jumps)
    if not jumps:
        return None
    # A stable sort: a pair's two rules keep their order, and so do the routed jumps.
    rules = [rule for _name, rule in sorted(jumps, key=lambda item: block_order(item[0]))]
    table.chains[BASE_CHAIN] = NftChain(BASE_CHAIN, BASE_HEADER, None, rules)
    return table


# ---------------------------------------------------------------------------------------------
# Rendering and the payload


def _render_elements(intervals, set_type):
    make = ipaddress.IPv4Address if set_type == 'ipv4_addr' else ipaddress.IPv6Address
    networks = []
    for first, last in intervals:
        networks.extend(ipaddress.summarize_address_range(make(first), make(last)))
    return [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in networks]


def render(table):
    """The table as nft input (and close to how `nft list table` prints it)."""
    lines = ['table %s %s {' % (FAMILY, TABLE), '\tcomment "%s"' % TABLE_COMMENT]
    for name in sorted(table.sets):
        obj = table.sets[name]
        lines += ['\tset %s {' % name, '\t\ttype %s' % obj.type, '\t\tflags interval',
                  '\t\tcomment "%s"' % obj.comment]
        elements = _render_elements(obj.intervals, obj.type)
        if elements:
            lines.append('\t\telements = { %s }' % ', '.join(elements))
        lines.append('\t}')
    for name in sorted(table.chains, key=lambda n: (n != BASE_CHAIN, n)):
        obj = table.chains[name]
        lines.append('\tchain %s {' % name)
        if obj.header:
            lines.append('\t\t' + obj.header)
        if obj.comment:
            lines.append('\t\tcomment "%s"' % obj.comment)
        lines += ['\t\t' + rule for rule in obj.rules]
        lines.append('\t}')
    lines.append('}')
    return '\n'.join(lines) + '\n'


def payload(table):
    """`nft -f` input that replaces our table in one transaction (and removes it for None).
    Declaring the table first makes the delete valid when it does not exist yet."""
    text = 'table %s %s\ndelete table %s %s\n' % (FAMILY, TABLE, FAMILY, TABLE)
    return text + (render(table) if table is not None else '')


# ---------------------------------------------------------------------------------------------
# Reading `nft list table inet netops-docker-firewall`


def table_names(text):
    """The tables of `nft list tables` output, as 'FAMILY NAME'."""
    return [line.split(None, 1)[1] for line in text.splitlines()
            if line.startswith('table ') and len(line.split()) == 3]


def parse_payload(text):
    """Our table from a payload() text (what the docker_on_router role keeps for boot)."""
    head = 'table %s %s\ndelete table %s %s\n' % (FAMILY, TABLE, FAMILY, TABLE)
    return parse_table(text[len(head):] if text.startswith(head) else text)


def _strip(line):
    return re.sub(r' # handle \d+$', '', line.strip())


def parse_table(text):
    """Our table from `nft list table` output; None for empty text (no table)."""
    lines = [_strip(line) for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    if lines[0] != 'table %s %s {' % (FAMILY, TABLE):
        raise NftSyntaxError('not the collection\'s table: %s' % lines[0])
    table = Table()
    index = 1
    while index < len(lines) and lines[index] != '}':
        line = lines[index]
        if line.startswith('comment '):
            index += 1
        elif line.startswith('set ') and line.endswith(' {'):
            index = _parse_set(lines, index, table)
        elif line.startswith('chain ') and line.endswith(' {'):
            index = _parse_chain(lines, index, table)
        else:
            raise NftSyntaxError('unexpected line in the table: %s' % line)
    return table


def _comment(line):
    match = re.match(r'comment "([^"]*)"$', line)
    return match.group(1) if match else None


def _parse_set(lines, index, table):
    name = lines[index][4:-2]
    set_type, comment, elements = None, None, []
    index += 1
    while lines[index] != '}':
        line = lines[index]
        if line.startswith('type '):
            set_type = line[5:]
        elif line.startswith('comment '):
            comment = _comment(line)
        elif line.startswith('elements = {'):
            text = line[len('elements = {'):]
            while not text.rstrip().endswith('}'):
                index += 1
                text += ' ' + lines[index]
            elements = [e.strip() for e in text.rstrip()[:-1].split(',') if e.strip()]
        elif not line.startswith('flags '):
            raise NftSyntaxError('unexpected line in set %s: %s' % (name, line))
        index += 1
    table.sets[name] = NftSet(name, set_type, comment, _intervals(elements))
    return index + 1


def _parse_chain(lines, index, table):
    name = lines[index][6:-2]
    header, comment, rules = '', None, []
    index += 1
    while lines[index] != '}':
        line = lines[index]
        if line.startswith('type ') and line.endswith(';'):
            header = line
        elif line.startswith('comment ') and _comment(line) is not None:
            comment = _comment(line)
        else:
            rules.append(line)
        index += 1
    table.chains[name] = NftChain(name, header, comment, rules)
    return index + 1
