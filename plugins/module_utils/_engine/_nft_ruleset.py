# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's whole nftables ruleset, as `nft list ruleset` prints it, read into its structure: tables,
their chains (base chains with type, hook, priority and policy), named sets and maps with their
elements, and each rule as tokens. Private to this collection. Pure: no host access, no Ansible imports.

It gives the structure only; what a rule means is the reachability engine's (_reachability), which
walks the base chains. (The collection's own table is read for comparison by _nft, in the one shape
it writes.) Objects a table may also hold (flowtables, counters, quotas, ct helpers...) are skipped:
a rule that refers to one is a statement the engine does not model.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The named priorities of the ip, ip6 and inet families (nft(8), CHAINS), and the bridge family's own.
PRIORITIES = {'raw': -300, 'mangle': -150, 'dstnat': -100, 'filter': 0, 'security': 50, 'srcnat': 100}
BRIDGE_PRIORITIES = {'dstnat': -300, 'filter': -200, 'out': 100, 'srcnat': 300}
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{},]|!=|==|[^\s{},"]+')
# A comment: from a '#' outside quotes to the end of the line (nft prints `# handle N`, and a table
# that a process owns `# progname NAME`).
_COMMENT = re.compile(r'^((?:[^"#]|"(?:[^"\\]|\\.)*")*?)\s*#.*$')
_COUNTER = re.compile(r'\bcounter packets \d+ bytes \d+')
_HEADER = re.compile(r'^type (\w+) hook (\w+)(?: device [^;]*?| devices = \{[^}]*\})? priority ([^;]+);(?: policy (\w+);)?')


class NftRulesetError(ValueError):
    """Text that is not the listing of an nftables ruleset."""


class NftSet:
    """A named set or map: key type (`ifname`, `ipv4_addr`, ... or None where not read), flags, and
    its elements: value texts for a set, (key text, verdict tokens) for a verdict map; `data` is the
    map's data type (`verdict` for a verdict map, None for a set)."""

    __slots__ = ('name', 'key_type', 'data', 'flags', 'elements')

    def __init__(self, name, key_type, data, flags, elements):
        self.name = name
        self.key_type = key_type
        self.data = data
        self.flags = flags
        self.elements = elements


class NftChain:
    """A chain: for a base chain its type, hook, priority (a number) and policy ('accept', 'drop'),
    else all None; its rules as (text, tokens)."""

    __slots__ = ('name', 'type', 'hook', 'priority', 'policy', 'rules')

    def __init__(self, name, chain_type=None, hook=None, priority=None, policy=None, rules=None):
        self.name = name
        self.type = chain_type
        self.hook = hook
        self.priority = priority
        self.policy = policy
        self.rules = rules or []

    @property
    def base(self):
        return self.hook is not None


class NftTable:
    __slots__ = ('family', 'name', 'chains', 'sets', 'order', 'flags')

    def __init__(self, family, name):
        self.family = family
        self.name = name
        self.chains = {}
        self.sets = {}
        self.order = 0  # its place in the listing
        self.flags = set()  # `flags dormant, owner, persist`: a dormant table's chains see no packet

    @property
    def label(self):
        return '%s %s' % (self.family, self.name)


def tokens(text):
    """A rule's tokens: words, quoted strings (quotes kept), and braces and commas each alone."""
    return _TOKEN.findall(text)


def uncommented(line):
    """The line stripped, without its comment (from a '#' outside quotes)."""
    found = _COMMENT.match(line.strip())
    return (found.group(1) if found else line).strip()


def rule_text(line):
    """A rule as it is shown in a path: counters without their values (they change at every read)."""
    return _COUNTER.sub('counter', uncommented(line))


def priority(text, family='ip'):
    """A base chain's priority from `filter`, `filter - 10`, `-150`, `dstnat + 10` (names as the table's
    family has them: a bridge table's `filter` is -200, its `out` 100); None if it is none of these."""
    found = re.match(r'^(-?\d+|[a-z]+)\s*(?:([+-])\s*(\d+))?$', text.strip())
    if not found:
        return None
    base, sign, offset = found.groups()
    names = BRIDGE_PRIORITIES if family == 'bridge' else PRIORITIES
    value = int(base) if base.lstrip('-').isdigit() else names.get(base)
    if value is None:
        return None
    return value + (int(offset) * (1 if sign == '+' else -1) if sign else 0)


def _logical_lines(text):
    """Lines with their ' # handle N' cut, blank and comment lines left out, and an element list
    spread over several lines joined into one (braces counted outside quotes)."""
    lines, pending, depth = [], [], 0  # pending: the parts of a line not closed yet (kept apart: one join)
    for raw in text.splitlines():
        line = uncommented(raw)
        if not line or (line.startswith('#') and not pending):
            continue
        opens = line.endswith('{') and not pending and not line.startswith('elements')
        pending.append(line)
        if not opens:
            depth += sum(1 if t == '{' else -1 if t == '}' else 0 for t in tokens(line))
            if depth > 0:
                continue
        lines.append(' '.join(pending))
        pending, depth = [], 0
    if pending:
        raise NftRulesetError('unbalanced braces at the end: %s' % ' '.join(pending))
    return lines


def parse(text):
    """The tables of a `nft list ruleset` listing, in its order ([NftTable])."""
    lines = _logical_lines(text)
    tables, index = [], 0
    while index < len(lines):
        words = lines[index].split()
        if len(words) != 4 or words[0] != 'table' or words[3] != '{':
            raise NftRulesetError('expected a table, found: %s' % lines[index])
        table = NftTable(words[1], words[2].strip('"'))
        table.order = len(tables)
        index = _parse_table(lines, index + 1, table)
        tables.append(table)
    return tables


def _skip_block(lines, index):
    """The index after the block opened on lines[index - 1]."""
    depth = 1
    while index < len(lines) and depth:
        if lines[index].endswith('{'):
            depth += 1
        elif lines[index] == '}':
            depth -= 1
        index += 1
    return index


def _parse_table(lines, index, table):
    while index < len(lines) and lines[index] != '}':
        line = lines[index]
        words = line.split()
        if line.endswith('{') and words[0] == 'chain' and len(words) == 3:
            chain = NftChain(words[1].strip('"'))
            index = _parse_chain(lines, index + 1, chain, table.family)
            table.chains[chain.name] = chain
        elif line.endswith('{') and words[0] in ('set', 'map') and len(words) == 3:
            found, index = _parse_set(lines, index + 1, words[1].strip('"'), words[0] == 'map')
            table.sets[found.name] = found
        elif line.endswith('{'):
            index = _skip_block(lines, index + 1)
        else:
            if words[0] == 'flags':
                table.flags.update(flag.strip() for flag in line[len('flags'):].split(',') if flag.strip())
            index += 1  # the table's comment, flags
    if index >= len(lines):
        raise NftRulesetError('table %s is not closed' % table.label)
    return index + 1


def _parse_chain(lines, index, chain, family):
    while index < len(lines) and lines[index] != '}':
        line = lines[index]
        header = _HEADER.match(line)
        if header:
            chain.type, chain.hook = header.group(1), header.group(2)
            chain.priority = priority(header.group(3), family)
            if chain.priority is None:
                raise NftRulesetError('chain %s: priority %r not read' % (chain.name, header.group(3)))
            chain.policy = header.group(4) or 'accept'
        elif line.startswith('type ') or line.startswith('policy '):
            raise NftRulesetError('chain %s: header not read: %s' % (chain.name, line))
        elif not re.match(r'^comment "[^"]*"$', line):
            chain.rules.append((rule_text(line), tokens(line)))
        index += 1
    if index >= len(lines):
        raise NftRulesetError('chain %s is not closed' % chain.name)
    return index + 1


def split_elements(found):
    """The top-level comma-separated parts of tokens (a brace's content), each a token list."""
    parts, current, depth = [], [], 0
    for token in found:
        if token == ',' and depth == 0:
            parts.append(current)
            current = []
            continue
        depth += 1 if token == '{' else -1 if token == '}' else 0
        current.append(token)
    if current:
        parts.append(current)
    return [part for part in parts if part]


_TYPEOF = {'iifname': 'ifname', 'oifname': 'ifname', 'meta iifname': 'ifname', 'meta oifname': 'ifname',
           'ip saddr': 'ipv4_addr', 'ip daddr': 'ipv4_addr', 'ip6 saddr': 'ipv6_addr', 'ip6 daddr': 'ipv6_addr',
           'tcp dport': 'inet_service', 'udp dport': 'inet_service', 'th dport': 'inet_service',
           'tcp sport': 'inet_service', 'udp sport': 'inet_service', 'th sport': 'inet_service',
           'meta l4proto': 'inet_proto', 'ip protocol': 'inet_proto'}


def _key_type(line):
    """'ifname', 'ipv4_addr', 'ipv4_addr . inet_proto . inet_service'... of `type T` or `typeof EXPR` (with
    ': DATA' for a map; a concatenation's parts joined by ' . '), and the data type."""
    kind, _space, rest = line.partition(' ')
    key, _colon, data = rest.partition(' : ')
    if kind == 'typeof':
        parts = [_TYPEOF.get(' '.join(part.split())) for part in key.split(' . ')]
        key = None if None in parts else ' . '.join(parts)
    return key.strip() if key else None, data.strip() or None


def _without_comment(part):
    """An element's tokens without its `comment "..."` (kube-proxy names a service so: `1.2.3.4 . tcp . 80
    comment "ns/svc:port" : drop`)."""
    found = list(part)
    while 'comment' in found and found.index('comment') + 1 < len(found):
        at = found.index('comment')
        del found[at:at + 2]
    return found


def _parse_set(lines, index, name, is_map):
    key_type, data, flags, elements = None, None, [], []
    while index < len(lines) and lines[index] != '}':
        line = lines[index]
        if line.startswith('type ') or line.startswith('typeof '):
            key_type, data = _key_type(line)
        elif line.startswith('flags '):
            flags = [flag.strip() for flag in line[6:].split(',')]
        elif line.startswith('elements = {') and line.endswith('}'):
            for part in split_elements(tokens(line[len('elements = {'):-1])):
                if is_map:
                    if ':' not in part:
                        raise NftRulesetError('map %s: element %s without data' % (name, ' '.join(part)))
                    colon = part.index(':')
                    elements.append((' '.join(_without_comment(part[:colon])), part[colon + 1:]))
                else:
                    elements.append(' '.join(_without_comment(part)))
        index += 1
    if index >= len(lines):
        raise NftRulesetError('set %s is not closed' % name)
    return NftSet(name, key_type, data if is_map else None, flags, elements), index + 1
