# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decisions the collection takes about a host, each in one function: whether a rule is ours
(the engines, the restore program, docker_firewall_info's facts and compliance all ask owner() or
is_ours(), and TAG_PREFIX is defined here alone).

Private to this collection. Pure: no host access, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._rules import Rule

# --- whether a rule is ours ------------------------------------------------------------------------

# Every rule, set and chain the collection writes carries a comment that starts with this.
TAG_PREFIX = 'netops.docker_firewall/'
_NFT_COMMENT = re.compile(r'(?:^|\s)comment "([^"]*)"')


def owner(rule):
    """The block name a rule of ours belongs to (its comment after TAG_PREFIX), or None for a rule we
    did not write. `rule`: a parsed iptables Rule, an iptables-save `-A` line, or a line of `nft list`
    output. A comment that only mentions the prefix further on is not ours."""
    if not isinstance(rule, Rule):
        if TAG_PREFIX not in rule:
            return None  # most lines of a host: nothing to parse
        if not rule.lstrip().startswith('-'):
            return next((c[len(TAG_PREFIX):] for c in _NFT_COMMENT.findall(rule) if c.startswith(TAG_PREFIX)), None)
        rule = Rule(rule)
    for comment in rule.option_values('--comment'):
        if comment.startswith(TAG_PREFIX):
            return comment[len(TAG_PREFIX):]
    return None


def is_ours(rule):
    """Whether the collection wrote a rule (see owner)."""
    return owner(rule) is not None
