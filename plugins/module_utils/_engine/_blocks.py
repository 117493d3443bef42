# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Blocks: each declaration made into the DOCKER-USER rules it owns, per address family, as
iptables-save lines (router pairs, allowlists, routed access), from input checked by _sources.

Every rule the collection writes carries the comment ``netops.docker_firewall/<block>``. A block
is the unit a module call owns (one router pair, one allowlist per interface, the one routed-access
block for every declaration of who may route to a container's own address). _chain_plan puts the
blocks in the chain.

Private to this collection. Pure: no host access, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import CHAIN
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import TAG_PREFIX
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import render_rule, save_string
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import (
    FAMILIES,
    UNREAD_SOURCES_FILE,
    InputError,
    check_choices,
    check_interface,
    declared_sources,
    merge_sources,
    parse_network,
    parse_ports,
    parse_sources,
)

ROUTED = 'routed'  # the name of the routed-access block (one for every declaration)
# The bridges Docker creates (docker0, docker_gwbridge, br-<network id>), as iptables wildcards.
CONTAINER_BRIDGES = ('docker+', 'br-+')
# New connections Docker did not DNAT: what routed access and its guard match (replies and published
# ports, which Docker DNATs, never are).
_NEW_NOT_DNAT = ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'conntrack', '!', '--ctstate', 'DNAT']


def bridge_covered(name):
    """Whether a container bridge (docker0, br-1a2b3c4d5e6f, a name given with
    com.docker.network.bridge.name) is one the routed-access guard's patterns (CONTAINER_BRIDGES) match."""
    return any(name.startswith(pattern.rstrip('+')) for pattern in CONTAINER_BRIDGES)


class Block:
    """Rules one module call owns, per address family, already rendered as save lines, and the
    validated declaration they came from (for the nftables renderer), and the ipsets its rules match."""

    __slots__ = ('name', 'rules', 'spec', 'sets')

    def __init__(self, name, rules, spec=None, sets=None):
        self.name = name
        self.rules = rules  # {'ipv4': [line, ...], 'ipv6': [line, ...]}
        # accept: in/out/bidirectional; allowlist: interface/sources/ports/protocol; routed: declarations
        self.spec = spec or {}
        self.sets = sets or {}  # {name: IpSet}: the ipsets its rules match (IpSet.family says the family)

    @property
    def tag(self):
        return TAG_PREFIX + self.name

    def __repr__(self):
        return 'Block(%r, %r)' % (self.name, self.rules)


def _line(tag, parts, target):
    return render_rule(CHAIN, parts + ['-m', 'comment', '--comment', save_string(tag), '-j', target])


def accept_block_name(in_interface, out_interface):
    return 'accept:%s:%s' % (in_interface, out_interface)


def accept_block(in_interface, out_interface, bidirectional=True):
    """Router fix: forward between two interfaces although Docker set the FORWARD policy to DROP.

    One-way pairs still let the replies back (RELATED,ESTABLISHED from out to in)."""
    check_interface('in_interface', in_interface)
    check_interface('out_interface', out_interface)
    if in_interface == out_interface:
        raise InputError('out_interface', out_interface, 'must differ from in_interface')
    name = accept_block_name(in_interface, out_interface)
    tag = TAG_PREFIX + name
    lines = [_line(tag, ['-i', in_interface, '-o', out_interface], 'ACCEPT')]
    if bidirectional:
        lines.append(_line(tag, ['-i', out_interface, '-o', in_interface], 'ACCEPT'))
    else:
        lines.append(_line(tag, ['-i', out_interface, '-o', in_interface, '-m', 'conntrack',
                                 '--ctstate', 'RELATED,ESTABLISHED'], 'ACCEPT'))
    return Block(name, dict((family, list(lines)) for family in FAMILIES),
                 spec=dict(in_interface=in_interface, out_interface=out_interface, bidirectional=bidirectional))


def allowlist_block_name(interface):
    return 'allowlist:%s' % interface


def allowlist_block(interface, sources, ports=None, protocol='tcp', source_sets='auto'):
    """Who may reach published ports through `interface` (the external one).

    Per family: replies pass (RETURN to Docker's rules), listed sources pass, everything else from
    the interface is dropped. With ports, only connections whose original (pre-DNAT) destination
    port is listed are restricted, and connections routed into a container bridge without DNAT
    are dropped for everyone. A family with no sources is denied entirely.

    The sources of a family are one rule each per port, or (source_sets: always, or auto above
    ipset.SET_THRESHOLD merged entries) one ipset matched by one rule per port."""
    check_interface('interface', interface, container_side_ok=False)
    check_choices('', protocol, source_sets)
    parsed = parse_sources('sources', sources or [])
    merged = merge_sources(parsed)
    port_list = parse_ports('ports', ports)
    name = allowlist_block_name(interface)
    tag = TAG_PREFIX + name
    # Restricted destinations: one per port, or the whole interface.
    if port_list:
        destinations = [['-p', protocol, '-m', 'conntrack', '--ctorigdstport', port] for port in port_list]
    else:
        destinations = [[]]
    rules = {}
    sets = {}
    for family in FAMILIES:
        family_sources = [source for source in merged if source.family == family]
        if ipset.uses_set(source_sets, len(family_sources)):
            kept = ipset.source_set(interface, family, [source.span() for source in family_sources])
            sets[kept.name] = kept
            matches = [([], ['-m', 'set', '--match-set', kept.name, 'src'])]
        else:
            matches = [source.match_parts() for source in family_sources]
        lines = [_line(tag, ['-i', interface, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], 'RETURN')]
        if port_list:
            # A client routed straight to a container's address (no DNAT, so no listed original port)
            # reaches it on Docker 20.10 and 26, which have no raw-table drop for it: new connections
            # into a container bridge that Docker did not DNAT are dropped, for every source.
            for bridges in CONTAINER_BRIDGES:
                lines.append(_line(tag, ['-i', interface, '-o', bridges, '-m', 'conntrack', '!', '--ctstate', 'DNAT'],
                                   'DROP'))
        for base, match in matches:
            for destination in destinations:
                # iptables-save order: -s, -i, -p, then matches in the order given.
                proto, conntrack = destination[:2], destination[2:]
                lines.append(_line(tag, base + ['-i', interface] + proto + match + conntrack, 'RETURN'))
        for destination in destinations:
            lines.append(_line(tag, ['-i', interface] + destination, 'DROP'))
        rules[family] = lines
    return Block(name, rules, spec=dict(interface=interface, sources=merged, declared=len(parsed),
                                        ports=[port.replace(':', '-') for port in port_list], protocol=protocol),
                 sets=sets)


def sources_count(block):
    """How many entries an allowlist block was given (`declared`, duplicates included) and how many
    went in per family after merging (one rule per port each in DOCKER-USER, or one ipset element or
    more for a range; one set interval each in nftables)."""
    counts = dict(declared=block.spec['declared'])
    for family in FAMILIES:
        counts[family] = len([source for source in block.spec['sources'] if source.family == family])
    # The families kept in an ipset: its name and how many networks it holds (ranges split).
    counts['ipsets'] = dict((s.name, len(s.entries)) for s in block.sets.values())
    return counts


# ---------------------------------------------------------------------------------------------
# Routed access: who may reach a container's own address (no DNAT), in one block for all


def _routed_declaration(prefix, declaration):
    """One validated declaration: {interface, sources (merged Sources, or None: any source), networks
    (collapsed networks, or None: any container address), ports, protocol, sets ({family: IpSet} of
    the families kept in an ipset)}."""
    interface = check_interface(prefix + 'interface', declaration.get('interface'), container_side_ok=False)
    protocol = declaration.get('protocol') or 'tcp'
    source_sets = declaration.get('source_sets') or 'auto'
    check_choices(prefix, protocol, source_sets)
    if declaration.get('sources_file') is not None:
        raise InputError(prefix + 'sources_file', declaration['sources_file'], UNREAD_SOURCES_FILE)
    sources = declared_sources(prefix, declaration.get('sources'), declaration.get('sources_text'))
    networks = declaration.get('networks')
    merged = None if sources is None else merge_sources(parse_sources(prefix + 'sources', sources))
    if networks is not None:
        found = [parse_network(prefix + 'networks', n) for n in networks]
        networks = [n for version in (4, 6) for n in ipaddress.collapse_addresses(
            [f for f in found if f.version == version])]
    sets = {}
    for family in FAMILIES:
        spans = [source.span() for source in merged or [] if source.family == family]
        if ipset.uses_set(source_sets, len(spans)):
            sets[family] = ipset.source_set(interface, family, spans, kind='routed')
    return dict(interface=interface, sources=merged, networks=networks,
                ports=parse_ports(prefix + 'ports', declaration.get('ports')), protocol=protocol, sets=sets)


def _routed_family(declaration, family):
    """Whether a declaration lets a family through: its sources and its networks (where given) hold
    addresses of that family."""
    version = 4 if family == 'ipv4' else 6
    return (declaration['sources'] is None or any(s.family == family for s in declaration['sources'])) and (
        declaration['networks'] is None or any(n.version == version for n in declaration['networks']))


def _routed_returns(tag, declaration, family):
    """The RETURN rules of one declaration in one family: none when its sources or its networks leave
    that family out (the family is denied for it)."""
    if not _routed_family(declaration, family):
        return []
    if declaration['sources'] is None:
        sources = [([], [])]
    elif family in declaration['sets']:
        sources = [([], ['-m', 'set', '--match-set', declaration['sets'][family].name, 'src'])]
    else:
        sources = [source.match_parts() for source in declaration['sources'] if source.family == family]
    version = 4 if family == 'ipv4' else 6
    destinations = [[]] if declaration['networks'] is None else [
        ['-d', str(n)] if n.prefixlen else [] for n in declaration['networks'] if n.version == version]
    protocol = declaration['protocol']
    ports = [(['-p', protocol], ['-m', protocol, '--dport', port]) for port in declaration['ports']] or [([], [])]
    lines = []
    for base, source_match in sources:
        for destination in destinations:
            for proto, port_match in ports:
                for bridges in CONTAINER_BRIDGES:
                    # iptables-save order: -s, -d, -i, -o, -p, then matches in the order given.
                    parts = base + destination + ['-i', declaration['interface'], '-o', bridges] + proto
                    lines.append(_line(tag, parts + source_match + port_match + _NEW_NOT_DNAT, 'RETURN'))
    return lines


def routed_block(declarations):
    """Who may route to a container's own address (no DNAT), declared per interface, in one block.

    Per family: new connections between the two kinds of container bridges are Docker's business
    (RETURN); each declaration's new connections, from its sources, to its networks and ports, go on
    to Docker's rules (RETURN: Docker's filter still decides what a network lets in); then the guard
    drops every other new connection that arrives on a non-container interface for a container
    bridge without DNAT. Replies, published ports (DNAT), the host's own traffic and traffic within
    a bridge are never matched. An empty list is the guard alone."""
    parsed = []
    for index, declaration in enumerate(declarations):
        prefix = 'routed[%d].' % index
        if not isinstance(declaration, dict):
            raise InputError('routed[%d]' % index, declaration, 'a declaration is a dict with at least interface')
        found = _routed_declaration(prefix, declaration)
        for other in parsed:
            if interfaces_overlap(found['interface'], other['interface']):
                raise InputError(prefix + 'interface', found['interface'],
                                 'one declaration per interface: merge the two into one entry' if
                                 found['interface'] == other['interface'] else
                                 'it matches interfaces of the declaration on %s too: in DOCKER-USER the first would '
                                 'decide; use patterns that do not overlap' % other['interface'])
        parsed.append(found)
    parsed.sort(key=lambda found: found['interface'])
    tag = TAG_PREFIX + ROUTED
    rules = {}
    for family in FAMILIES:
        lines = [_line(tag, ['-i', inside, '-o', outside] + _NEW_NOT_DNAT, 'RETURN')
                 for inside in CONTAINER_BRIDGES for outside in CONTAINER_BRIDGES if inside != outside]
        for declaration in parsed:
            lines.extend(_routed_returns(tag, declaration, family))
        lines.extend(_line(tag, ['!', '-i', bridges, '-o', bridges] + _NEW_NOT_DNAT, 'DROP')
                     for bridges in CONTAINER_BRIDGES)
        rules[family] = lines
    sets = dict((s.name, s) for declaration in parsed for s in declaration['sets'].values())
    return Block(ROUTED, rules, spec=dict(declarations=parsed), sets=sets)


def routed_summary(block):
    """Per declaration of a routed block, by interface: the families it lets through (a family its
    sources or networks leave out is denied for it) and the ipsets that hold its sources."""
    summary = {}
    for declaration in block.spec['declarations']:
        families = [family for family in FAMILIES if _routed_family(declaration, family)]
        summary[declaration['interface']] = dict(
            families=families, ipsets=dict((s.name, len(s.entries)) for s in declaration['sets'].values()))
    return summary


def declared_blocks(accept, allowlists, routed=None):
    """{block name: Block} of a whole-chain declaration: router pairs, allowlists and routed access
    (None: no routed block; a list, even empty: the block with its guard) as the docker_user_chain
    module and the docker_on_router role take them (missing keys default as there). Used by that
    module and by the compliance checks alike."""
    blocks = {}
    if routed is not None:
        blocks[ROUTED] = routed_block(routed)
    for index, pair in enumerate(accept):
        block = accept_block(pair['in_interface'], pair['out_interface'], pair.get('bidirectional', True))
        if block.name in blocks:
            raise InputError('accept[%d]' % index, '%s -> %s' % (pair['in_interface'], pair['out_interface']),
                             'this pair is declared twice')
        blocks[block.name] = block
    for index, allowlist in enumerate(allowlists):
        if allowlist.get('sources_file') is not None:
            raise InputError('allowlists[%d].sources_file' % index, allowlist['sources_file'], UNREAD_SOURCES_FILE)
        sources = declared_sources('allowlists[%d].' % index, allowlist.get('sources'), allowlist.get('sources_text'))
        block = allowlist_block(allowlist['interface'], sources or [], allowlist.get('ports'),
                                allowlist.get('protocol') or 'tcp', allowlist.get('source_sets') or 'auto')
        if block.name in blocks:
            raise InputError('allowlists[%d].interface' % index, allowlist['interface'],
                             'one allowlist per interface: merge the sources into one entry')
        for other in allowlists[:index]:
            if interfaces_overlap(allowlist['interface'], other['interface']):
                raise InputError('allowlists[%d].interface' % index, allowlist['interface'],
                                 'it matches interfaces of the allowlist on %s too: in DOCKER-USER the first '
                                 'would decide, in nftables both; use patterns that do not overlap'
                                 % other['interface'])
        blocks[block.name] = block
    return blocks


def interfaces_overlap(left, right):
    """True when one interface could match both names or wildcards (`wan+` and `wan0`)."""
    if left.endswith('+') or right.endswith('+'):
        left_prefix, right_prefix = left.rstrip('+'), right.rstrip('+')
        if left.endswith('+') and right.endswith('+'):
            return left_prefix.startswith(right_prefix) or right_prefix.startswith(left_prefix)
        return (right.startswith(left_prefix) if left.endswith('+') else left.startswith(right_prefix))
    return left == right
