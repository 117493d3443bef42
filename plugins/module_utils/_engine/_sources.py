# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A declaration's input, checked before anything on the host is read: the sources of an allowlist or of
routed access (addresses, CIDR networks, ranges a-b, and the lines of a sources file), merged per
family into the fewest entries, and the interfaces, ports, destination networks, protocol and
source_sets beside them. Bad input raises InputError, which names the field and the value.

Private to this collection. Pure: no host access, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import socket

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import merge_spans

FAMILIES = ('ipv4', 'ipv6')
PROTOCOLS = ('tcp', 'udp', 'sctp')

# Interfaces on the container side: a source allowlist there would cut the containers' own egress.
_CONTAINER_SIDE = re.compile(r'docker\d+|docker_gwbridge|br-.*|veth.*')
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


def parse_sources(field, entries):
    """The Sources of a declaration's entries: a text is parsed (see parse_source; a bad one names `field`),
    a Source (a line of sources_text, which declared_sources parsed) is taken as it is."""
    return [entry if isinstance(entry, Source) else parse_source(field, entry) for entry in entries]


UNREAD_SOURCES_FILE = ('a sources file is read on the controller, by the action plugin of the module, which passes '
                       'its entries on as sources_text; this run did not go through it')


def declared_sources(prefix, sources, text):
    """The entries of a declaration's `sources` (a list or None) and `sources_text` (the lines of a sources
    file, as the action plugins pass a sources_file on, or None); None when it gives neither. The lines of
    `sources_text` come as the Sources they were parsed into here, so that the block (parse_sources) parses
    no entry twice; the `sources` come as given, for the block to check under its own field."""
    if text is None:
        return sources
    field = prefix + 'sources_text'
    return list(sources or []) + [source for _entry, source in parse_sources_text(field, field, text)]


def parse_sources_text(field, path, text):
    """The entries of a sources file, each with its Source: [(entry, Source), ...]. One entry a line, blank
    lines and '#' comments (whole-line or after an entry) ignored. Each entry is parsed once, as `sources`
    entries are; a bad one names the file and line."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split('#', 1)[0].strip()
        if not entry:
            continue
        try:
            entries.append((entry, parse_source(field, entry)))
        except InputError as exc:
            raise InputError(field, entry, exc.reason, where='%s line %d' % (path, number))
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


def parse_ports(field, ports):
    """The ports of a declaration, normalised (8000:8100), duplicates left out, in the order given."""
    port_list = []
    for port in ports or []:
        normal = parse_port(field, port)
        if normal not in port_list:
            port_list.append(normal)
    return port_list


def check_choices(prefix, protocol, source_sets):
    """A declaration's protocol and source_sets are among their choices (`prefix` names the declaration)."""
    if protocol not in PROTOCOLS:
        raise InputError(prefix + 'protocol', protocol, 'one of %s' % ', '.join(PROTOCOLS))
    if source_sets not in ipset.MODES:
        raise InputError(prefix + 'source_sets', source_sets, 'one of %s' % ', '.join(ipset.MODES))
