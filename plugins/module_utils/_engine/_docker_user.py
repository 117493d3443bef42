# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DOCKER-USER engine: validate input, build blocks of rules, plan the chain, render the
iptables-restore payload. Private to this collection. Pure: no host access, no Ansible imports.

Every rule the collection writes carries the comment ``netops.docker_firewall/<block>``. A block
is the unit a module call owns (one router pair, one allowlist per interface, the one routed-access
block for every declaration of who may route to a container's own address). The chain we write is:
our blocks in canonical order (router ACCEPTs, routed access, then allowlists, each sorted by name),
then every rule we did not write, in its original order. Docker's own chains are never written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import socket

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import TAG_PREFIX, owner
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import (
    Rule,
    merge_spans,
    render_rule,
    restore_text,
    save_string,
)

CHAIN = 'DOCKER-USER'
FAMILIES = ('ipv4', 'ipv6')
KIND_ORDER = {'accept': 0, 'routed': 1, 'allowlist': 2}
ROUTED = 'routed'  # the name of the routed-access block (one for every declaration)
PROTOCOLS = ('tcp', 'udp', 'sctp')

# Interfaces on the container side: a source allowlist there would cut the containers' own egress.
_CONTAINER_SIDE = re.compile(r'docker\d+|docker_gwbridge|br-.*|veth.*')
# The bridges Docker creates (docker0, docker_gwbridge, br-<network id>), as iptables wildcards.
CONTAINER_BRIDGES = ('docker+', 'br-+')
# New connections Docker did not DNAT: what routed access and its guard match (replies and published
# ports, which Docker DNATs, never are).
_NEW_NOT_DNAT = ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'conntrack', '!', '--ctstate', 'DNAT']
# Linux interface names: at most 15 bytes, no '/', ':' or white space; '+' only as the final
# iptables wildcard.
_INTERFACE = re.compile(r'[A-Za-z0-9_.@-]{1,15}')
_INTERFACE_WILDCARD = re.compile(r'[A-Za-z0-9_.@-]{1,14}\+')


class InputError(ValueError):
    """Bad input: names the field and the value (and, for a line of a file, where it is). Raised
    before anything on the host is read."""

    def __init__(self, field, value, reason, where=None):
        self.field = field
        self.value = value
        self.reason = reason
        self.where = where
        super(InputError, self).__init__('%s: %r%s is not valid: %s' % (field, value, ' (%s)' % where if where else '',
                                                                        reason))


# ---------------------------------------------------------------------------------------------
# Validation


def check_interface(field, value, container_side_ok=True):
    if not isinstance(value, str) or not value:
        raise InputError(field, value, 'an interface name is required')
    if not (_INTERFACE.fullmatch(value) or _INTERFACE_WILDCARD.fullmatch(value)) or value in ('.', '..'):
        raise InputError(field, value, 'an interface name has 1 to 15 characters from A-Z a-z 0-9 _ . @ -, '
                                       'optionally ending in the iptables wildcard +')
    if not container_side_ok and _CONTAINER_SIDE.fullmatch(value.rstrip('+')):
        raise InputError(field, value, 'this is a container-side interface; allowlists and routed access belong on '
                                       'the external interface the clients arrive on (on docker0, br-* or veth* '
                                       'their drops would cut the containers\' own outgoing traffic)')
    return value


def bridge_covered(name):
    """Whether a container bridge (docker0, br-1a2b3c4d5e6f, a name given with
    com.docker.network.bridge.name) is one the routed-access guard's patterns (CONTAINER_BRIDGES) match."""
    return any(name.startswith(pattern.rstrip('+')) for pattern in CONTAINER_BRIDGES)


class Source:
    """One allowlist entry: an address, a network or an inclusive range. A merged entry is made from
    its span alone and builds its network only when it is rendered as a rule (a long list kept in a
    set never is)."""

    __slots__ = ('family', '_network', 'first', 'last', '_span', '_prefix')

    def __init__(self, family, network=None, first=None, last=None, span=None, prefix=None):
        self.family = family
        self._network = network
        self.first = first
        self.last = last
        self._span = span  # (first, last) as integers, when known
        self._prefix = prefix  # the prefix length of a span that is one network

    @property
    def network(self):
        if self._network is None and self._prefix is not None:
            self._network = ipaddress.ip_network((_ADDRESS[self.family](self._span[0]), self._prefix))
        return self._network

    def match_parts(self):
        if self.network is not None:
            # Every address of the family: iptables-save prints no -s for 0.0.0.0/0 or ::/0.
            return (['-s', str(self.network)] if self.network.prefixlen else []), []
        return [], ['-m', 'iprange', '--src-range', '%s-%s' % (self.first, self.last)]

    def span(self):
        """(first, last) address as integers."""
        if self._span is None:
            if self.network is not None:
                self._span = int(self.network.network_address), int(self.network.broadcast_address)
            else:
                self._span = int(self.first), int(self.last)
        return self._span

    def __str__(self):
        return str(self.network) if self.network is not None else '%s-%s' % (self.first, self.last)


def _family(address):
    return 'ipv4' if address.version == 4 else 'ipv6'


_IPV4_MAPPED = ipaddress.ip_network('::ffff:0:0/96')


def _ipv4_form(address):
    return address.ipv4_mapped if address.version == 6 and address in _IPV4_MAPPED else None


def _refuse_ipv4_mapped(field, value, ipv4_form):
    """An IPv4-mapped IPv6 source (::ffff:a.b.c.d) matches no packet: IPv4 clients arrive as IPv4."""
    raise InputError(field, value, 'an IPv4-mapped IPv6 address matches no packet (IPv4 clients arrive as IPv4); '
                                   'write the IPv4 form %s' % ipv4_form)


# The plain addresses most entries of a long list are, read without ipaddress (_plain_address): IPv4 as
# ipaddress prints it (decimal octets without leading zeros), IPv6 of hex digits and colons alone.
_IPV4_OCTET = r'(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
_IPV4_ADDRESS = re.compile(r'(?:%s\.){3}%s' % (_IPV4_OCTET, _IPV4_OCTET))
_IPV6_TEXT = re.compile(r'[0-9A-Fa-f:]{2,39}')


def _plain_address(text):
    """The Source of a plain address (see _IPV4_ADDRESS, _IPV6_TEXT), or None for any other text, which
    the full parse decides on (an IPv4-mapped IPv6 address too, which it refuses)."""
    if _IPV4_ADDRESS.fullmatch(text):
        octets = [int(octet) for octet in text.split('.')]
        number = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
        return Source('ipv4', span=(number, number), prefix=32)
    if _IPV6_TEXT.fullmatch(text):
        try:
            number = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), 'big')
        except (OSError, ValueError):
            return None
        if number >> 32 != 0xffff:
            return Source('ipv6', span=(number, number), prefix=128)
    return None


def parse_source(field, value):
    """'198.51.100.7', '198.51.100.0/24', '2001:db8::/32' or '198.51.100.10-198.51.100.20'.

    0.0.0.0/0 and ::/0 are accepted and mean every address of that family."""
    text = str(value)
    plain = _plain_address(text)
    if plain is not None:
        return plain
    if not text or any(c.isspace() for c in text) or '"' in text:
        raise InputError(field, value, 'expected an IP address, a CIDR network or a range a-b')
    if '%' in text:
        raise InputError(field, value, 'a scope id (%...) names a link of this host, which a firewall rule cannot '
                                       'match; write the address without it')
    if '-' in text:
        first_text, last_text = text.split('-', 1)
        try:
            first = ipaddress.ip_address(first_text)
            last = ipaddress.ip_address(last_text)
        except ValueError as exc:
            raise InputError(field, value, 'a range is two IP addresses joined by "-" (%s)' % exc)
        if first.version != last.version:
            raise InputError(field, value, 'a range cannot mix IPv4 and IPv6')
        if first > last:
            raise InputError(field, value, 'the range is reversed (first address is after the last)')
        if _ipv4_form(first) and _ipv4_form(last):
            _refuse_ipv4_mapped(field, value, '%s-%s' % (_ipv4_form(first), _ipv4_form(last)))
        if first == last:
            return Source(_family(first), network=ipaddress.ip_network(first))
        return Source(_family(first), first=first, last=last)
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InputError(field, value, 'expected an IP address, a CIDR network without host bits, '
                                       'or a range a-b (%s)' % exc)
    if network.version == 6 and network.subnet_of(_IPV4_MAPPED):
        _refuse_ipv4_mapped(field, value, ipaddress.ip_network('%s/%d' % (_ipv4_form(network.network_address),
                                                                          network.prefixlen - 96)))
    return Source(_family(network), network=network)


def declared_sources(prefix, sources, text):
    """The entries of a declaration's `sources` (a list or None) and `sources_text` (the lines of a sources
    file, as the action plugins pass a sources_file on, or None); None when it gives neither."""
    if text is None:
        return sources
    return list(sources or []) + parse_sources_text(prefix + 'sources_text', prefix + 'sources_text', text)


def parse_sources_text(field, path, text):
    """The entries of a sources file: one a line, blank lines and '#' comments (whole-line or after an
    entry) ignored. Each entry is checked as `sources` entries are; a bad one names the file and line."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split('#', 1)[0].strip()
        if not entry:
            continue
        try:
            parse_source(field, entry)
        except InputError as exc:
            raise InputError(field, entry, exc.reason, where='%s line %d' % (path, number))
        entries.append(entry)
    return entries


_ADDRESS = {'ipv4': ipaddress.IPv4Address, 'ipv6': ipaddress.IPv6Address}


def _span_source(family, first, last):
    """The Source of a merged span: a network when the span is exactly one, else a range."""
    prefix = span_prefix(family, first, last)
    if prefix is not None:
        return Source(family, span=(first, last), prefix=prefix)
    return Source(family, first=_ADDRESS[family](first), last=_ADDRESS[family](last), span=(first, last))


def span_prefix(family, first, last):
    """The prefix length of the network that is exactly the span, or None when it is none."""
    size = last - first + 1
    if size & (size - 1) == 0 and first % size == 0:
        return (32 if family == 'ipv4' else 128) - size.bit_length() + 1
    return None


def merge_sources(sources):
    """Sources with duplicates, overlaps and adjacent entries merged, per family (IPv4 first), in
    address order: one entry per run of consecutive addresses, a network when the run is exactly
    one (`-s`), else a range (`-m iprange`). The result depends only on the addresses covered, so
    any spelling or order of the same addresses renders the same rules."""
    merged = []
    for family in FAMILIES:
        spans = merge_spans(source.span() for source in sources if source.family == family)
        merged.extend(_span_source(family, first, last) for first, last in spans)
    return merged


def parse_port(field, value):
    """A port (8080) or an inclusive range ('8000-8100' or '8000:8100'), as conntrack prints it."""
    text = str(value)
    if isinstance(value, bool):
        raise InputError(field, value, 'expected a port 1-65535 or a range a-b')
    parts = re.split(r'[-:]', text, maxsplit=1)
    if not all(p.isdigit() and p.isascii() for p in parts):
        raise InputError(field, value, 'expected a port 1-65535 or a range a-b')
    numbers = [int(p) for p in parts]
    if not all(1 <= n <= 65535 for n in numbers):
        raise InputError(field, value, 'ports are 1-65535')
    if len(numbers) == 2:
        if numbers[0] > numbers[1]:
            raise InputError(field, value, 'the port range is reversed')
        if numbers[0] == numbers[1]:
            return str(numbers[0])
        return '%d:%d' % tuple(numbers)
    return str(numbers[0])


def parse_network(field, value):
    """A destination of routed access: an address or a CIDR network, IPv4 or IPv6 (a container
    network, e.g. 172.18.0.0/16). 0.0.0.0/0 and ::/0 mean every address of that family."""
    text = str(value)
    if not text or any(c.isspace() for c in text) or '"' in text or '%' in text or '-' in text:
        raise InputError(field, value, 'expected an IP address or a CIDR network (write a range as the networks '
                                       'that cover it)')
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InputError(field, value, 'expected an IP address or a CIDR network without host bits (%s)' % exc)
    if network.version == 6 and network.subnet_of(_IPV4_MAPPED):
        _refuse_ipv4_mapped(field, value, ipaddress.ip_network('%s/%d' % (_ipv4_form(network.network_address),
                                                                          network.prefixlen - 96)))
    return network


def _port_list(field, ports):
    """The ports of a declaration, normalised (8000:8100), duplicates left out, in the order given."""
    port_list = []
    for port in ports or []:
        normal = parse_port(field, port)
        if normal not in port_list:
            port_list.append(normal)
    return port_list


def _check_choices(prefix, protocol, source_sets):
    if protocol not in PROTOCOLS:
        raise InputError(prefix + 'protocol', protocol, 'one of %s' % ', '.join(PROTOCOLS))
    if source_sets not in ipset.MODES:
        raise InputError(prefix + 'source_sets', source_sets, 'one of %s' % ', '.join(ipset.MODES))


# ---------------------------------------------------------------------------------------------
# Blocks


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
    _check_choices('', protocol, source_sets)
    parsed = [parse_source('sources', s) for s in sources or []]
    merged = merge_sources(parsed)
    port_list = _port_list('ports', ports)
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
    _check_choices(prefix, protocol, source_sets)
    if declaration.get('sources_file') is not None:
        raise InputError(prefix + 'sources_file', declaration['sources_file'], UNREAD_SOURCES_FILE)
    sources = declared_sources(prefix, declaration.get('sources'), declaration.get('sources_text'))
    networks = declaration.get('networks')
    merged = None if sources is None else merge_sources([parse_source(prefix + 'sources', s) for s in sources])
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
                ports=_port_list(prefix + 'ports', declaration.get('ports')), protocol=protocol, sets=sets)


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


UNREAD_SOURCES_FILE = ('a sources file is read on the controller, by the action plugin of the module, which passes '
                       'its entries on as sources_text; this run did not go through it')


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


def block_order(name):
    kind = name.split(':', 1)[0]
    return (KIND_ORDER.get(kind, len(KIND_ORDER)), name)


# ---------------------------------------------------------------------------------------------
# Planning


def split_chain(rules):
    """Current DOCKER-USER rules -> ({block name: [line, ...]} of ours, [line, ...] of others)."""
    ours = {}
    others = []
    for rule in rules:
        name = owner(rule)
        if name is None:
            others.append(rule.line)
        else:
            ours.setdefault(name, []).append(rule.line)
    return ours, others


def plan_chain(current_lines, family, blocks, purge=False):
    """The complete DOCKER-USER content for one family.

    blocks: {name: Block to set, or None to remove}. With purge, blocks of ours not named in
    `blocks` are removed too (whole-chain mode); otherwise they stay as they are."""
    ours, others = split_chain([Rule(line) for line in current_lines])
    wanted = {} if purge else dict(ours)
    for name, block in blocks.items():
        if block is None:
            wanted.pop(name, None)
        else:
            wanted[name] = block.rules[family]
    lines = []
    for name in sorted(wanted, key=block_order):
        lines.extend(wanted[name])
    return lines + others


def same_chain(left_lines, right_lines):
    """True when two rule lists are the same rules in the same order."""
    if len(left_lines) != len(right_lines):
        return False
    # Identical text needs no parsing: the common case of a converged chain.
    return all(a == b or Rule(a) == Rule(b) for a, b in zip(left_lines, right_lines))


def blocks_in(lines):
    """Names of our blocks present in a chain, in chain order."""
    names = []
    for line in lines:
        name = owner(Rule(line))
        if name is not None and name not in names:
            names.append(name)
    return names


FORWARD_JUMP = '-A FORWARD -j %s' % CHAIN


def jump_repair(forward, passable=()):
    """Lines that leave FORWARD (`forward`: its rule lines) with exactly one jump to DOCKER-USER, as
    its first rule but for `passable` rules above it; [] when it is so. The jumps are deleted and the
    one inserted in the same transaction, so a jump is there at every moment."""
    jumps = forward.count(FORWARD_JUMP)
    first = [line for line in forward if line not in passable][:1]
    if jumps == 1 and first == [FORWARD_JUMP]:
        return []
    return ['-D' + FORWARD_JUMP[2:]] * jumps + ['-I FORWARD 1 -j %s' % CHAIN]


def restore_payload(before, after, forward_repair=()):
    """iptables-restore --noflush input that turns DOCKER-USER from `before` (the lines read, or
    None: no such chain) into `after` (a plan_chain result) and touches nothing else but the
    `forward_repair` lines (a jump_repair result) of an existing chain.

    An existing chain is never flushed: the lines read that are ours or dropped from the plan are
    deleted by their spec, and ours are inserted at the top, so a rule another tool adds between our
    read and our write stays. A new chain is created with `after` and with the FORWARD
    jump: a chain that nothing jumps to would filter nothing."""
    out = list(forward_repair) if before is not None else []
    if before is None:
        out.append(':%s - [0:0]' % CHAIN)
        out.append('-I FORWARD 1 -j %s' % CHAIN)
        out.extend(after)
    else:
        kept = [line for line in after if owner(Rule(line)) is None]
        for line in before:
            if owner(Rule(line)) is None and line in kept:
                kept.remove(line)
            else:
                out.append('-D' + line[2:])
        prefix = '-A %s ' % CHAIN
        ours = [line[len(prefix):] for line in after if owner(Rule(line)) is not None]
        out.extend('-I %s %d %s' % (CHAIN, position, spec) for position, spec in enumerate(ours, 1))
    return restore_text([('filter', out)])


def holds_plan(lines, planned):
    """True when DOCKER-USER as read back (`lines`) holds what was planned: our rules as planned and
    together, with nothing above them but rules another tool inserted meanwhile (a planned rule of
    others above ours, Docker's RETURN for one, would keep ours from ever running), and every other
    planned rule. Rules another tool added at the same time are allowed: they are theirs."""
    ours = [line for line in lines if owner(Rule(line)) is not None]
    planned_ours = [line for line in planned if owner(Rule(line)) is not None]
    if not same_chain(ours, planned_ours):
        return False
    start = lines.index(ours[0]) if ours else len(lines)
    if ours and lines[start:start + len(ours)] != ours:
        return False
    remaining = list(lines)
    for line in planned:
        if owner(Rule(line)) is None:
            if line not in remaining:
                return False
            remaining.remove(line)
    # What is left over are the rules nobody planned; only those may stand above ours.
    above = lines[:start] if ours else []
    return all(above.count(line) <= remaining.count(line) for line in above)
