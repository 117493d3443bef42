# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's ipsets: large allowlists on Docker's iptables backend keep their sources in a
set, so that DOCKER-USER holds the same few rules whatever the number of sources. Render a set from
merged sources, read `ipset save` back, compare by meaning, plan the `ipset restore` payloads that
put the sets in place. Private to this collection. Pure: no host access, no Ansible imports.

Names: `netops-dfw-<interface>-v4` and `-v6` for an allowlist's sources, `netops-dfwr-<interface>-v4`
and `-v6` for a routed-access declaration's (at most 30 characters: ipset allows 31; a prefix of their
own, so that no interface name makes the two kinds collide); a set is replaced through its staging
twin `-t4`/`-t6`, filled aside and swapped in (`ipset swap` exchanges the two names at once, so the
rules that match the set never see it half filled), then destroyed.
Every set is `hash:net` of its family; ranges are split into networks, the whole address space
(which `hash:net` cannot hold) into its two halves. The limits come from the entry count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import merge_spans

PREFIX = 'netops-dfw-'  # an allowlist's sets
ROUTED_PREFIX = 'netops-dfwr-'  # a routed-access declaration's sets
_PREFIXES = {'allowlist': PREFIX, 'routed': ROUTED_PREFIX}
SET_TYPE = 'hash:net'
MODES = ('auto', 'always', 'never')
# With source_sets=auto, a family of an allowlist keeps its sources as plain rules up to this many
# merged entries (readable in iptables-save, no ipset needed) and in a set above (docs/benchmarks.md).
SET_THRESHOLD = 64
_SUFFIX = {'ipv4': '4', 'ipv6': '6'}
_INET = {'ipv4': 'inet', 'ipv6': 'inet6'}
_FAMILY_OF = {'inet': 'ipv4', 'inet6': 'ipv6'}
_ADDRESS = {'ipv4': ipaddress.IPv4Address, 'ipv6': ipaddress.IPv6Address}
_BITS = {'ipv4': 32, 'ipv6': 128}
# ipset's defaults; larger sets get the entry count rounded up to a power of two.
_MIN_HASHSIZE = 1024
_MIN_MAXELEM = 65536


class IpsetSyntaxError(ValueError):
    """`ipset save` output this module cannot read."""


class IpSet:
    """One set: its name, family ('ipv4'/'ipv6'), entries (networks as ipset prints them, in address
    order) and limits; `flagged`: entries read with options the collection never writes (an
    exception added by hand with `nomatch`, a timeout), which make the set differ from any declared one."""

    __slots__ = ('name', 'family', 'set_type', 'entries', 'hashsize', 'maxelem', 'flagged')

    def __init__(self, name, family, entries, hashsize=None, maxelem=None, set_type=SET_TYPE):
        self.name = name
        self.family = family
        self.set_type = set_type
        self.entries = entries
        self.hashsize = hashsize if hashsize is not None else _power_of_two(len(entries), _MIN_HASHSIZE)
        self.maxelem = maxelem if maxelem is not None else _power_of_two(len(entries), _MIN_MAXELEM)
        self.flagged = []

    def spans(self):
        """The addresses the set holds as merged [(first, last)] integers."""
        spans = []
        for entry in self.entries:
            network = ipaddress.ip_network(entry, strict=False)
            spans.append((int(network.network_address), int(network.broadcast_address)))
        return merge_spans(spans)

    def renamed(self, name):
        return IpSet(name, self.family, self.entries, self.hashsize, self.maxelem, self.set_type)

    def __repr__(self):
        return 'IpSet(%r, %r, %d entries)' % (self.name, self.family, len(self.entries))


def _power_of_two(count, minimum):
    value = minimum
    while value < count:
        value *= 2
    return value


def set_name(interface, family, kind='allowlist'):
    """'ext0', 'ipv4' -> 'netops-dfw-ext0-v4'; of kind 'routed', 'netops-dfwr-ext0-v4' (interface names
    have at most 15 characters)."""
    return '%s%s-v%s' % (_PREFIXES[kind], interface, _SUFFIX[family])


def staging_name(name):
    """The set a new content is filled into before it is swapped in: '...-v4' -> '...-t4'."""
    return name[:-2] + 't' + name[-1]


def live_family(name):
    """The family of a live set of ours ('ipv4' or 'ipv6'), None for any other name."""
    if name.startswith((PREFIX, ROUTED_PREFIX)) and name[-3:-1] == '-v':
        return {'4': 'ipv4', '6': 'ipv6'}.get(name[-1])
    return None


def is_ours(name):
    return name.startswith((PREFIX, ROUTED_PREFIX)) and name[-3:-1] in ('-v', '-t') and name[-1] in '46'


def uses_set(mode, count):
    """Whether a family of an allowlist with `count` merged entries keeps them in a set."""
    if count == 0 or mode == 'never':
        return False
    return mode == 'always' or count > SET_THRESHOLD


def entries(family, spans):
    """Networks covering exactly the merged `spans` of a family, as ipset prints them (a host
    without its /32 or /128). hash:net holds no /0: the whole space is its two halves."""
    make = _ADDRESS[family]
    found = []
    for first, last in spans:
        if first == last:
            found.append(str(make(first)))  # most entries of a long list: one address, no parsing
            continue
        for network in ipaddress.summarize_address_range(make(first), make(last)):
            for part in (network.subnets(prefixlen_diff=1) if network.prefixlen == 0 else [network]):
                found.append(str(part.network_address) if part.prefixlen == _BITS[family] else str(part))
    return found


def source_set(interface, family, spans, kind='allowlist'):
    """The set of the sources of one family (`spans`: merged [(first, last)]) of an allowlist, or of a
    routed-access declaration (kind 'routed')."""
    return IpSet(set_name(interface, family, kind), family, entries(family, spans))


def same_set(have, want):
    """True when the set on the host holds exactly the wanted addresses in a set of the same kind,
    with room for them (the hash size the kernel grows by itself is not compared)."""
    if have is None or have.set_type != want.set_type or have.family != want.family or have.flagged:
        return False
    if have.maxelem < len(want.entries):
        return False
    # Entries read are in the form rendered here: the same strings are the same set, without parsing.
    return set(have.entries) == set(want.entries) or have.spans() == want.spans()


# ---------------------------------------------------------------------------------------------
# `ipset save` and `ipset restore`


def parse_save(text):
    """{name: IpSet} of the collection's sets (and staging twins) in `ipset save` output; the sets
    of others are skipped unread."""
    sets = {}
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split()
        if len(words) < 3 or not is_ours(words[1]):
            continue
        if words[0] == 'create':
            options = dict(zip(words[3::2], words[4::2]))
            family = _FAMILY_OF.get(options.get('family', 'inet'))
            try:
                sets[words[1]] = IpSet(words[1], family, [], int(options.get('hashsize', _MIN_HASHSIZE)),
                                       int(options.get('maxelem', _MIN_MAXELEM)), words[2])
            except ValueError:
                raise IpsetSyntaxError('line %d: %s' % (number, raw))
        elif words[0] == 'add' and words[1] in sets and len(words) == 3:
            sets[words[1]].entries.append(words[2])
        elif words[0] == 'add' and words[1] in sets:
            sets[words[1]].flagged.append(' '.join(words[2:]))
        else:
            raise IpsetSyntaxError('line %d: %s' % (number, raw))
    for ipset in sets.values():
        try:
            ipset.entries = [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
                             for n in sorted(ipaddress.ip_network(e, strict=False) for e in ipset.entries)]
        except (ValueError, TypeError) as exc:
            raise IpsetSyntaxError('set %s: %s' % (ipset.name, exc))
    return sets


def render(ipset):
    """`ipset restore` lines that create the set and fill it."""
    lines = ['create %s %s family %s hashsize %d maxelem %d'
             % (ipset.name, ipset.set_type, _INET[ipset.family], ipset.hashsize, ipset.maxelem)]
    lines.extend('add %s %s' % (ipset.name, entry) for entry in ipset.entries)
    return lines


def plan(current, wanted, removable):
    """(lines before the iptables write, lines after it) that put the `wanted` sets ({name: IpSet})
    in place over `current` (parse_save of the host) and destroy the `removable` names of ours.

    Before: a missing set is created; a differing one is filled aside and swapped in, then its old
    content destroyed; staging sets left by an interrupted run are destroyed first. After (once no
    rule matches them any more): the removable sets and staging sets of sets no longer wanted."""
    before, after = [], []
    for name in sorted(wanted):
        want = wanted[name]
        staging = staging_name(name)
        if staging in current:
            before.append('destroy %s' % staging)
        if name not in current:
            before.extend(render(want))
        elif not same_set(current[name], want):
            before.extend(render(want.renamed(staging)))
            before += ['swap %s %s' % (staging, name), 'destroy %s' % staging]
    for name in sorted(removable):
        if name in current and name not in wanted:
            after.append('destroy %s' % name)
    for name in sorted(current):
        if live_family(name) is None and name[:-2] + 'v' + name[-1] not in wanted:
            after.append('destroy %s' % name)  # a staging set of a set no longer wanted
    return before, after


def split_commit(before):
    """The lines before the iptables write in three: those that touch no set a rule matches (destroying
    leftover staging sets, creating and filling new and staging sets); the swaps, which change what the
    rules match; and the destroys of the swapped-out staging sets, which hold the sets' old content
    and are kept until the chains are written and read back (until then a swap puts it back)."""
    prepare, swaps, retired, swapped = [], [], [], set()
    for line in before:
        words = line.split()
        if words[0] == 'swap':
            swapped.add(words[1])
            swaps.append(line)
        elif words[0] == 'destroy' and words[1] in swapped:
            retired.append(line)
        else:
            prepare.append(line)
    return prepare, swaps, retired


def restore_text(lines):
    return '\n'.join(lines) + '\n' if lines else ''


def match_sets(lines):
    """Names of our sets that rule lines match (`--match-set NAME`), in order of appearance."""
    names = []
    for line in lines:
        words = line.split()
        for index, word in enumerate(words[:-1]):
            if word == '--match-set' and is_ours(words[index + 1]) and words[index + 1] not in names:
                names.append(words[index + 1])
    return names
