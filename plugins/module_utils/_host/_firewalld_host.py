# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What docker_firewall_info reads of firewalld on a host: whether it runs, its zones and policies
and the backend firewalld.conf names; _firewalld parses and evaluates them. Private to this
collection. Read-only, commands in the C locale.

Each firewall-cmd is a Python start on the host, so as few as the answer needs: none where
firewall-cmd is not installed or firewalld does not run (systemctl says so); where it runs,
--list-all-zones (interfaces per zone, the default zone marked from firewalld 2.1) and
--list-all-policies, and --get-default-zone only where the listing marks no default zone
(firewalld before 2.1). --get-active-zones adds nothing to --list-all-zones."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _firewalld as firewalld
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import read_text, run_c

FIREWALLD_CONF = '/etc/firewalld/firewalld.conf'
UNIT = 'firewalld.service'
# The table firewalld's nftables backend keeps its rules in, as `nft list tables` names it.
NFT_TABLE = 'inet firewalld'


class FirewallCmdError(Exception):
    """firewall-cmd failed or printed what is not a listing."""


def running(module, firewall_cmd):
    """Whether firewalld runs: systemd's word for its unit, or where there is no systemctl, firewall-cmd --state."""
    systemctl = module.get_bin_path('systemctl')
    if systemctl:
        return run_c(module, [systemctl, 'is-active', UNIT])[1].strip() == 'active'
    rc, out, _err = run_c(module, [firewall_cmd, '--state'])
    return rc == 0 and out.strip() == 'running'


def _firewall_cmd(module, firewall_cmd, option):
    rc, out, err = run_c(module, [firewall_cmd, option])
    if rc != 0:
        raise FirewallCmdError('firewall-cmd %s failed (rc %d): %s' % (option, rc, (err or out).strip()))
    return out


def _backend_in_force(parsed, nft_tables):
    """A sentence where nftables contradicts firewalld.conf (edited since firewalld started, or
    firewalld's table flushed), else None. nft_tables: `nft list tables` as info read it (None: not read)."""
    if nft_tables is None:
        return None
    has_table = NFT_TABLE in nft_tables
    if parsed['backend'] == firewalld.NFTABLES and not has_table:
        return ('firewalld.conf names the nftables backend but nftables holds no table %s: firewalld\'s rules were '
                'flushed, and come back at its next reload' % NFT_TABLE)
    if parsed['backend'] == firewalld.IPTABLES and has_table:
        return ('firewalld.conf names the iptables backend but nftables holds firewalld\'s table %s: firewalld runs '
                'the nftables backend until it restarts' % NFT_TABLE)
    return None


def read(module, nft_tables):
    """(what docker_firewall_info returns under `firewalld`, without `forwarding`; the parsed state for
    _firewalld.evaluate, None when firewalld does not run or could not be read - then `error` says why)."""
    firewall_cmd = module.get_bin_path('firewall-cmd')
    found = dict(installed=bool(firewall_cmd), running=False, backend=None, default_zone=None, zones={},
                 zones_of_interfaces={}, policies=[], error=None)
    if not firewall_cmd or not running(module, firewall_cmd):
        return found, None
    found['running'] = True
    try:
        zones = _firewall_cmd(module, firewall_cmd, '--list-all-zones')
        policies = _firewall_cmd(module, firewall_cmd, '--list-all-policies')
        default = None if firewalld.parse_zones(zones)[1] else _firewall_cmd(module, firewall_cmd, '--get-default-zone')
        parsed = firewalld.state(zones, policies, default, read_text(FIREWALLD_CONF))
    except (FirewallCmdError, firewalld.FirewalldSyntaxError) as exc:
        found['error'] = str(exc)
        return found, None
    found.update(firewalld.summary(parsed), backend=parsed['backend'], error=_backend_in_force(parsed, nft_tables))
    return found, None if found['error'] else parsed
