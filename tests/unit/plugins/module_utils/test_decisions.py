# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_decisions: whether a rule is ours, on iptables-save and nft lines. Every expected value is written out."""

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils import _docker_user, _nft, _publish
from ansible_collections.netops.docker_firewall.plugins.module_utils._rules import Rule, RuleSyntaxError

# --- whether a rule is ours ------------------------------------------------------------------------

OURS = '-A DOCKER-USER -i ext0 -m comment --comment "netops.docker_firewall/allowlist:ext0" -j DROP'


@pytest.mark.parametrize('line, name', [
    (OURS, 'allowlist:ext0'),
    ('-A FORWARD -m comment --comment netops.docker_firewall/publish -j NETOPS-DFW-PUBLISH', 'publish'),
    ('-A DOCKER-USER -m comment --comment "kept" -m comment --comment "netops.docker_firewall/routed" -j RETURN',
     'routed'),
    # nft list output: a rule, and our set and chain comments.
    ('iifname "ext0" jump allowlist-ext0 comment "netops.docker_firewall/allowlist:ext0"', 'allowlist:ext0'),
    ('\t\tjump services comment "netops.docker_firewall/publish"', 'publish'),
    # Not ours: no comment of ours, or one that only mentions the prefix further on.
    ('-A DOCKER-USER -j RETURN', None),
    ('-A FORWARD -m comment --comment "copied from netops.docker_firewall/routed" -j ACCEPT', None),
    ('ip daddr 10.0.0.1 comment "see netops.docker_firewall/x"', None),
    ('jump services comment "kube-proxy"', None),
    ('comment "netops.docker_firewall"', None),  # the table's comment names the collection, not a block
])
def test_owner_and_is_ours(line, name):
    assert decisions.owner(line) == name
    assert decisions.is_ours(line) is (name is not None)


def test_a_parsed_rule_is_read_as_its_line():
    assert decisions.owner(Rule(OURS)) == 'allowlist:ext0' and not decisions.is_ours(Rule('-A FORWARD -j DOCKER-USER'))


def test_a_line_without_the_prefix_is_not_parsed_and_a_bad_one_with_it_is_an_error():
    assert decisions.is_ours('not a rule at all') is False
    with pytest.raises(RuleSyntaxError):
        decisions.is_ours('-X netops.docker_firewall/x')


def test_one_prefix_for_every_tag():
    assert decisions.TAG_PREFIX == 'netops.docker_firewall/'
    assert _docker_user.TAG_PREFIX is decisions.TAG_PREFIX and _nft.TAG_PREFIX is decisions.TAG_PREFIX
    assert _publish.TAG == 'netops.docker_firewall/publish'
