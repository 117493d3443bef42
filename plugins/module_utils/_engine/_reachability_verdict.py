# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One packet's verdict, read from a reachability answer (_reachability): would a new connection from
this source, arriving on this interface, get to this address and port? Private to this collection.
Pure: no host access, no Ansible imports; it reads the answer, it never walks rules again. The
filter reachability_verdict and the lab's oracle (molecule/shared/tasks/oracle.yml) use it.

The answer holds the questions it was asked: published ports (the host's addresses, the host port),
container addresses with their container ports (routed access) and, where asked, any address and port
the host forwards to. A packet outside all of them is `not_modelled`, never guessed: a destination
the answer did not ask about, an address of the host's own on a port nothing is published on (what
listens there is not modelled), the host's own connections (lo), a family the answer has no rules for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _reachability as reach

NOT_MODELLED = 'not_modelled'
VERDICTS = (reach.REACHABLE, reach.UNREACHABLE, reach.UNKNOWN, NOT_MODELLED)
PROTOCOLS = ('tcp', 'udp', 'sctp')
# Which verdict decides where the answers of several questions hold the packet (a port published on
# one host address for one container and on another for a second: only one of them takes it).
_PRECEDENCE = (reach.REACHABLE, reach.UNKNOWN, reach.UNREACHABLE)


class Packet:
    """The first packet of a new connection: incoming interface, source and destination addresses,
    destination port, protocol; the source port where it is known (None: any)."""

    __slots__ = ('interface', 'source', 'destination', 'port', 'protocol', 'source_port', 'family')

    def __init__(self, interface, source, destination, port, protocol='tcp', source_port=None):
        if not interface or not isinstance(interface, str) or interface.endswith('+'):
            raise ValueError('interface must be the name of one interface, not %r' % (interface,))
        self.interface = interface
        try:
            self.source = ipaddress.ip_address(str(source))
            self.destination = ipaddress.ip_address(str(destination))
        except ValueError as exc:
            raise ValueError('source and destination must be addresses: %s' % exc)
        if self.source.version != self.destination.version:
            raise ValueError('source %s and destination %s are of different families' % (source, destination))
        self.family = 'ipv4' if self.destination.version == 4 else 'ipv6'
        self.port = _port('port', port)
        self.source_port = None if source_port is None else _port('source_port', source_port)
        self.protocol = str(protocol).lower()
        if self.protocol not in PROTOCOLS:
            raise ValueError('protocol must be one of %s, not %r' % (', '.join(PROTOCOLS), protocol))

    def __repr__(self):
        return 'Packet(%s %s -> %s port %d/%s)' % (self.interface, self.source, self.destination, self.port, self.protocol)


def _port(name, value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError('%s must be a port number, not %r' % (name, value))
    if not 0 < number < 65536:
        raise ValueError('%s must be 1 to 65535, not %d' % (name, number))
    return number


def family_answer(answer, family):
    """The answer of one family from docker_firewall_info's result, its `reachability`, or one
    family's answer (reachability()); None where that family has none."""
    if not isinstance(answer, dict):
        raise ValueError('the answer must be a dict (docker_firewall_info with reachability: true), not %s'
                         % type(answer).__name__)
    if 'families' not in answer and 'family' not in answer:
        if 'reachability' not in answer:
            raise ValueError('no reachability answer: docker_firewall_info\'s result, its reachability or one family\'s')
        if answer['reachability'] is None:
            raise ValueError('docker_firewall_info ran without reachability: true')
        answer = answer['reachability']
    if 'families' in answer:
        return (answer['families'] or {}).get(family)
    if answer.get('family') != family:
        raise ValueError('the answer is of %s, the packet of %s' % (answer.get('family'), family))
    return answer


def predict(answer, packet):
    """What the answer says of one packet (a Packet, or a dict of its arguments).

    Returns {verdict (reachable, unreachable, unknown or not_modelled), family, question (published,
    routed, forwarded, or None where not modelled), subject (the published port or the target asked
    about), interface (the slice's: a name, or a class such as '+'), sources (the slice's source
    ranges), to, path (the rules that took it there, when reachable), reason (the rule that dropped
    it, what was not understood, or why it is not modelled) and text (path or reason in one line)}."""
    if not isinstance(packet, Packet):
        packet = Packet(**packet)
    found = family_answer(answer, packet.family)
    if packet.interface == 'lo':
        return _not_modelled(packet, 'the host\'s own connections (lo) are not modelled')
    if found is None:
        return _not_modelled(packet, 'the answer holds no %s rules' % packet.family)
    for question, asked in (('published', _published), ('routed', _routed), ('forwarded', _forwarded)):
        verdict = _verdict(packet, question, asked(found, packet))
        if verdict:
            return verdict
    return _not_modelled(packet, _why_not(found, packet))


def _published(found, packet):
    return [(entry['port'], entry['slices']) for entry in found.get('ports') or []
            if str(entry['port'].get('host_port')) == str(packet.port)
            and (entry['port'].get('protocol') or 'tcp') == packet.protocol]


def _targets(entries, packet):
    return [(entry['target'], entry['slices']) for entry in entries
            if ipaddress.ip_address(entry['target']['address']) == packet.destination
            and int(entry['target']['port']) == packet.port
            and (entry['target'].get('protocol') or 'tcp') == packet.protocol]


def _routed(found, packet):
    return _targets(found.get('routed') or [], packet)


def _forwarded(found, packet):
    return _targets([entry for entry in found.get('forwarded') or [] if not entry.get('local')], packet)


def _why_not(found, packet):
    asked = '%s port %d/%s' % (packet.destination, packet.port, packet.protocol)
    local = [entry for entry in found.get('forwarded') or [] if entry.get('local')
             and ipaddress.ip_address(entry['target']['address']) == packet.destination]
    if local or any(packet.destination in _destinations(s) for entry in found.get('ports') or [] for s in entry['slices']):
        return '%s: an address of the host where the port is not published; what listens there is not modelled' % asked
    return ('%s was not asked about: neither a published port, nor a container address and port for routed '
            'access, nor an address asked about as forwarded' % asked)


def _destinations(found):
    return [ipaddress.ip_address(address) for address in found['destinations']]


def _holding(slices, packet):
    """The slices of one question that hold the packet (more than one only where source ports split it)."""
    number = int(packet.source)
    held = []
    for found in reach.slices_on(slices, packet.interface):
        if packet.destination not in _destinations(found):
            continue
        if not any(first <= number <= last for first, last in reach.spans_of(found['source_ranges'])):
            continue
        if packet.source_port is not None and found['source_ports'] is not None and not any(
                int(first) <= packet.source_port <= int(last)
                for first, last in (span.split('-', 1) for span in found['source_ports'])):
            continue
        held.append(found)
    return held


def _verdict(packet, question, asked):
    """The verdict of the questions of one kind whose slices hold the packet (the one that takes it,
    if any does), or None where none holds it."""
    candidates = []
    for subject, slices in asked:
        found = _holding(slices, packet)
        verdicts = set(s['verdict'] for s in found)
        if len(verdicts) > 1:
            return _result(packet, reach.UNKNOWN, question, subject, found[0], dict(
                why='the verdict depends on the source port (%s): give source_port' % ', '.join(
                    '%s %s' % (', '.join(s['source_ports'] or ['any']), s['verdict']) for s in found)))
        if found:
            candidates.append((_PRECEDENCE.index(found[0]['verdict']), subject, found[0]))
    if not candidates:
        return None
    _rank, subject, chosen = min(candidates, key=lambda c: c[0])
    return _result(packet, chosen['verdict'], question, subject, chosen, chosen['reason'])


def _result(packet, verdict, question, subject, found, reason):
    path = found['path'] if verdict == reach.REACHABLE else []
    text = ('path: ' + reach.path_text(path)) if verdict == reach.REACHABLE else reach.reason_text(reason)
    return dict(verdict=verdict, family=packet.family, question=question, subject=subject,
                interface=found['interface'], sources=list(found['source_ranges']), to=found['to'],
                path=path, reason=reason, text=text)


def _not_modelled(packet, why):
    return dict(verdict=NOT_MODELLED, family=packet.family, question=None, subject=None, interface=None,
                sources=[], to=None, path=[], reason=dict(why=why), text=why)
