# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DOCKER-USER chain, planned: the complete content of the chain per family from the blocks
(_blocks) set or removed, the iptables-restore payload that writes it, the FORWARD jump to it, and
whether a chain read back holds the plan.

The chain we write is: our blocks in canonical order (router ACCEPTs, routed access, then allowlists,
each sorted by name), then every rule we did not write, in its original order. Docker's own chains are
never written.

Private to this collection. Pure: no host access, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import owner
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule, restore_text

CHAIN = 'DOCKER-USER'
KIND_ORDER = {'accept': 0, 'routed': 1, 'allowlist': 2}


def block_order(name):
    """Where a block goes in the chain, by its name: by kind (KIND_ORDER), then by name."""
    kind = name.split(':', 1)[0]
    return (KIND_ORDER.get(kind, len(KIND_ORDER)), name)


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
