# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iptables-save text: parse it, normalise rules so that equal rules compare equal, render lines.

Private to this collection. Pure: no host access, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# Characters iptables-save prints without quotes (xtables_save_string); anything else is quoted.
_UNQUOTED = frozenset("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Base options, long and short spellings, in the order iptables-save prints them.
_BASE_OPTIONS = {
    '-s': 's', '--source': 's', '--src': 's',
    '-d': 'd', '--destination': 'd', '--dst': 'd',
    '-i': 'i', '--in-interface': 'i',
    '-o': 'o', '--out-interface': 'o',
    '-p': 'p', '--protocol': 'p',
    '-f': 'f', '--fragment': 'f',
}
_ADDRESS_OPTIONS = frozenset(('s', 'd'))
_ANY_ADDRESS = frozenset(('0.0.0.0/0', '::/0'))
_ADDRESS_VALUES = frozenset(('--src-range', '--dst-range', '--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst'))


# The built-in chains of the filter, nat, raw and mangle tables (the kernel's hooks).
BUILTIN_CHAINS = frozenset(('PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'))


class RuleSyntaxError(ValueError):
    """A line that is not an iptables-save rule we can read."""


def save_string(value):
    """Quote a value the way iptables-save does, so rendered and saved lines compare as text."""
    if value and all(c in _UNQUOTED for c in value):
        return value
    escaped = value.replace('\\', '\\\\').replace('"', '\\"').replace("'", "\\'")
    return '"%s"' % escaped


def tokenize(text):
    """Split a rule into (token, quoted) pairs, honouring iptables-save's double quotes."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == ' ':
            i += 1
            continue
        if text[i] == '"':
            i += 1
            chars = []
            while i < n and text[i] != '"':
                if text[i] == '\\' and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise RuleSyntaxError('unterminated quote in: %s' % text)
            tokens.append((''.join(chars), True))
            i += 1
        else:
            j = text.find(' ', i)
            j = n if j < 0 else j
            tokens.append((text[i:j], False))
            i = j
    return tokens


def _is_option(token):
    text, quoted = token
    return not quoted and (text == '!' or (text.startswith('-') and len(text) > 1))


def _normal_address(value):
    try:
        if '-' in value:
            first, last = value.split('-', 1)
            return '%s-%s' % (ipaddress.ip_address(first), ipaddress.ip_address(last))
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return value


def rule_key(tokens):
    """A comparable form of a rule: option order, match order, negation placement, quoting and
    address spelling (/32, /128, IPv6 compression) do not change it."""
    base = []
    matches = []
    target = None
    target_options = []
    current = None  # options of the current -m match, or of the target
    protocol = None
    negate = False
    i, n = 0, len(tokens)
    while i < n:
        text, quoted = tokens[i]
        i += 1
        if text == '!' and not quoted:
            negate = True
            continue
        values = []
        while i < n and not _is_option(tokens[i]):
            values.append(tokens[i][0])
            i += 1
        # Old style negation: "-s ! 198.51.100.0/24".
        if i < n and tokens[i] == ('!', False) and not values and i + 1 < n and not _is_option(tokens[i + 1]):
            negate = True
            values.append(tokens[i + 1][0])
            i += 2
        expected = 0 if text in ('-f', '--fragment') else 1
        if (text in _BASE_OPTIONS or text in ('-m', '--match', '-j', '--jump', '-g', '--goto')) \
                and len(values) != expected:
            raise RuleSyntaxError('%s takes %d value(s), got %r' % (text, expected, values))
        if text in _BASE_OPTIONS and target is None:
            name = _BASE_OPTIONS[text]
            value = values[0] if values else ''
            if name in _ADDRESS_OPTIONS:
                value = _normal_address(value)
                if not negate and value in _ANY_ADDRESS:
                    current = None  # iptables-save prints no -s/-d that matches every address
                    continue
            elif name == 'p':
                value = value.lower()
                protocol = value
            base.append((name, negate, value))
            current = None
        elif text in ('-m', '--match'):
            current = []
            matches.append((values[0], current))
        elif text in ('-j', '--jump', '-g', '--goto'):
            target = (text in ('-g', '--goto'), values[0])
            current = target_options
        elif text.startswith('--'):
            if current is None:
                # Implicit protocol match ("-p tcp --dport 80" is saved as "-p tcp -m tcp --dport 80").
                current = []
                matches.append((protocol or '', current))
            if text in _ADDRESS_VALUES:
                values = [_normal_address(v) for v in values]
            current.append((text, negate, tuple(values)))
        else:
            raise RuleSyntaxError('unexpected token %r' % text)
        negate = False
    normal_matches = sorted((name, tuple(sorted(options))) for name, options in matches)
    return (tuple(sorted(base)), tuple(normal_matches), target, tuple(target_options))


class Rule:
    """One `-A CHAIN ...` line of iptables-save output."""

    __slots__ = ('chain', 'line', '_tokens', '_key')

    def __init__(self, line):
        tokens = tokenize(line)
        if len(tokens) < 2 or tokens[0][0] not in ('-A', '--append'):
            raise RuleSyntaxError('not an append rule: %s' % line)
        self.chain = tokens[1][0]
        self.line = line
        self._tokens = tokens[2:]
        self._key = None

    @property
    def key(self):
        if self._key is None:
            self._key = (self.chain,) + rule_key(self._tokens)
        return self._key

    def option_values(self, option):
        """Values following every occurrence of `option` (e.g. '--comment')."""
        found = []
        for index, token in enumerate(self._tokens[:-1]):
            if token == (option, False):
                found.append(self._tokens[index + 1][0])
        return found

    def __eq__(self, other):
        return isinstance(other, Rule) and self.key == other.key

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return 'Rule(%r)' % self.line


class Table:
    """One table of iptables-save output: chains with their policies, and rules in order."""

    def __init__(self, name):
        self.name = name
        self.chains = {}  # name -> policy ('-' for user-defined chains)
        self.rules = []

    def chain_rules(self, chain):
        return [rule for rule in self.rules if rule.chain == chain]


def parse_save(text):
    """Parse iptables-save / ip6tables-save output into {table name: Table}."""
    tables = {}
    table = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('*'):
            table = tables.setdefault(line[1:], Table(line[1:]))
        elif line == 'COMMIT':
            table = None
        elif table is None:
            raise RuleSyntaxError('line %d outside a table: %s' % (number, line))
        elif line.startswith(':'):
            parts = line[1:].split()
            table.chains[parts[0]] = parts[1] if len(parts) > 1 else '-'
        else:
            if line.startswith('['):  # counters from iptables-save -c
                line = line.split(']', 1)[1].strip()
            table.rules.append(Rule(line))
    return tables


def merge_spans(spans):
    """Sorted [(first, last)] address spans (integers) with overlapping and adjacent spans merged."""
    merged = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def render_rule(chain, parts):
    """Render an append line. `parts` are printed as given: quote string values with save_string()."""
    return '-A %s %s' % (chain, ' '.join(parts))


def restore_text(sections):
    """iptables-restore input from [(table, lines)]: one `*table ... COMMIT` section each, in order.
    The one writer of restore payloads: the DOCKER-USER engine, the publisher and the host programs."""
    text = []
    for table, lines in sections:
        text.append('*%s' % table)
        text.extend(lines)
        text.append('COMMIT')
    return '\n'.join(text) + '\n' if text else ''
