# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kept state: the files of the state directory that the host programs read, planned from what
the modules decided, and parsed back into what the programs and docker_firewall_info use.

- The restore program (and the firewalld watcher, which runs it) reads the firewall backend, the
  collection's DOCKER-USER rules per family, the ipsets they match (`ipset restore` input) and the
  collection's nftables table (`nft -f` input).
- The publisher watcher reads the list of containers it publishes, with the iptables backend.

Private to this collection. No host access, no Ansible imports: the docker_firewall_persistence
module reads and writes the files (_kept_state_host reads them), and a host program can use it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import owner
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import FAMILIES
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule, RuleSyntaxError

IPTABLES_BACKENDS = ('nft', 'legacy')
NFTABLES = 'nftables'  # Docker's nftables firewall backend: the table alone holds the policy
BACKENDS = {'restore': IPTABLES_BACKENDS + (NFTABLES,), 'publish': IPTABLES_BACKENDS}

# The files of each program's kept state, in the order they are installed: the sets and the table
# before the rules that need them, the backend (without which the restore program writes nothing) last.
FILES = {
    'restore': (layout.KEPT_SETS, layout.KEPT_TABLE) + tuple(layout.KEPT_RULES % family for family in FAMILIES)
    + (layout.KEPT_BACKEND,),
    'publish': (layout.PUBLISH_CONFIG,),
}
# Options of the docker_firewall_persistence module that belong to one program's kept state.
OPTIONS = {'restore': ('rules', 'ipsets', 'table'), 'publish': ('containers',)}
MODE = 0o644
TABLE_REFUSED = "table: not the nft -f input of the collection's table (the DOCKER-USER modules' payload)"
SETS_REFUSED = "ipsets: not the ipset restore input of the collection's sets (the DOCKER-USER modules' ipset_payload)"


class KeptStateError(ValueError):
    """What was given cannot be kept; nothing is written."""


class KeptPolicy:
    """What the restore program puts back."""

    def __init__(self, backend, rules, table, sets=None):
        self.backend = backend  # nft, legacy (iptables backends) or nftables (Docker's nftables backend)
        self.rules = rules  # {family: [line, ...]} for each kept family
        self.table = table  # nft -f input, or None
        self.sets = sets  # ipset restore input, or None


def ours(lines):
    """The rules of the collection among DOCKER-USER lines, in their order (owner() decides)."""
    try:
        return [line for line in lines if owner(Rule(line)) is not None]
    except RuleSyntaxError as exc:
        raise KeptStateError('rules: %s' % exc)


def _canonical(text, parse, render, what):
    """`text` as `render(parse(text))` has it when that is the same text (a trailing newline aside), else
    KeptStateError: only what the DOCKER-USER modules return for the collection's own table and sets is kept."""
    try:
        canonical = render(parse(text))
    except (nft.NftSyntaxError, ipset.IpsetSyntaxError):
        canonical = None
    if canonical is None or canonical.rstrip('\n') != text.rstrip('\n'):
        raise KeptStateError(what)
    return canonical


def _sets_text(sets):
    return ipset.restore_text([line for name in sorted(sets) for line in ipset.render(sets[name])])


def restore_texts(backend, rules, sets, table):
    """{file name: text, or None when it is not kept} of the restore program's kept policy.

    `rules` is the DOCKER-USER module's result ({family: lines}): the families it manages are kept,
    with the collection's rules only. Under Docker's nftables backend the table alone is kept."""
    texts = dict.fromkeys(FILES['restore'])
    texts[layout.KEPT_BACKEND] = backend + '\n'
    texts[layout.KEPT_TABLE] = _canonical(table, nft.parse_payload, nft.payload, TABLE_REFUSED) if table else None
    if backend == NFTABLES:
        return texts
    unknown = sorted(set(rules) - set(FAMILIES))
    if unknown:
        raise KeptStateError('rules: %s is not an address family (%s)' % (', '.join(unknown), ', '.join(FAMILIES)))
    for family, lines in rules.items():
        if not isinstance(lines, list):
            raise KeptStateError('rules: %s is not a list of rule lines' % family)
        texts[layout.KEPT_RULES % family] = '\n'.join(ours(lines)) + '\n'
    # Sets of others are skipped by parse_save: a text that names one is not canonical.
    texts[layout.KEPT_SETS] = _canonical(sets, ipset.parse_save, _sets_text, SETS_REFUSED) if sets else None
    return texts


def publish_texts(backend, containers):
    """{file name: text} of the publisher's list."""
    config = dict(backend=backend, containers=sorted(set(containers)))
    return {layout.PUBLISH_CONFIG: json.dumps(config, indent=4, sort_keys=True, separators=(',', ': ')) + '\n'}


def plan(program, wanted, current):
    """(names to write in install order, names to remove). `wanted`: {name: text or None};
    `current`: {name: (text, mode) or None} as the host has them."""
    write = [name for name in FILES[program]
             if wanted.get(name) is not None and current.get(name) != (wanted[name], MODE)]
    remove = [name for name in FILES[program] if wanted.get(name) is None and current.get(name) is not None]
    return write, remove


def parse_policy(texts):
    """The KeptPolicy of {file name: text or None}; backend None when it is not kept."""
    rules = {}
    for family in FAMILIES:
        text = texts.get(layout.KEPT_RULES % family)
        if text is not None:
            rules[family] = [line for line in text.splitlines() if line.strip()]
    backend = texts.get(layout.KEPT_BACKEND)
    return KeptPolicy(backend.strip() if backend is not None else None, rules, texts.get(layout.KEPT_TABLE),
                      texts.get(layout.KEPT_SETS))


def published_containers(texts):
    """The containers of the publisher's list ([] when there is none or it is not a list)."""
    text = texts.get(layout.PUBLISH_CONFIG)
    try:
        containers = json.loads(text).get('containers', []) if text else []
    except (ValueError, AttributeError):
        return []
    return containers if isinstance(containers, list) else []


def wanted(params):
    """{file name: text, or None when it is not kept} for docker_firewall_persistence's parameters."""
    program = params['program']
    if params['state'] == 'absent':
        return dict.fromkeys(FILES[program])
    misplaced = [option for other, options in sorted(OPTIONS.items()) if other != program
                 for option in options if params.get(option)]
    if misplaced:
        raise KeptStateError('%s: not part of the kept state of program=%s' % (', '.join(misplaced), program))
    if params['backend'] not in BACKENDS[program]:
        raise KeptStateError('backend: %s is not a backend of program=%s (%s)'
                             % (params['backend'], program, ', '.join(BACKENDS[program])))
    if program == 'publish':
        return publish_texts(params['backend'], params['containers'])
    return restore_texts(params['backend'], params['rules'], params['ipsets'], params['table'])
