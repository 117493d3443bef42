# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What docker_firewall_info reads of a host, firewalld aside (_firewalld_host): Docker, its networks
and containers, the iptables rule sets, the nftables tables, the collection's ipsets, kube-proxy's
tables and IPVS structures, kernel forwarding, and the collection's units and kept files. Each read
hands its text to the pure engines and returns their facts.

Private to this collection. Read-only, commands in the C locale; a failed read is reported as one,
never as "nothing there"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import (
    IP6TABLES_DEFAULT_ON_SINCE,
    docker_major,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kube_proxy as kube_proxy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._kept_state import (
    parse_policy,
    published_containers,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import FAMILIES
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._daemon_host import DaemonHost
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import (
    DockerError,
    docker_networks,
    read_text,
    run_c,
    running_containers,
    stopped_containers,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    BACKENDS,
    CommandError,
    IpsetHost,
    IptablesHost,
    NftHost,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._kept_state_host import read_state

BRIDGE_OPTION = 'com.docker.network.bridge.'


def read_flag(path):
    text = read_text(path)
    return None if text is None else text.strip() == '1'


def ip_forward():
    """Kernel forwarding per family (None where it cannot be read)."""
    return dict(ipv4=read_flag('/proc/sys/net/ipv4/ip_forward'),
                ipv6=read_flag('/proc/sys/net/ipv6/conf/all/forwarding'))


def _json_object(text):
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def nftables_state(module, nft_path):
    """The host's nftables tables ('FAMILY NAME') and the collection's own, read-only. nft_path: where
    nft is (the decision's; None: not installed)."""
    if not nft_path:
        return dict(installed=False, tables=[], ours=None)
    host = NftHost(module, nft.FAMILY, nft.TABLE)
    try:
        tables = nft.table_names(host.list_tables())
    except CommandError as exc:
        message = 'nft list tables failed: %s' % exc.stderr.strip()
        module.warn(message)
        # Not "no table": compliance must say it could not read ours.
        return dict(installed=True, tables=None, ours=dict(text='', blocks=[], error=message))
    ours = None
    if '%s %s' % (nft.FAMILY, nft.TABLE) in tables:
        text = host.list_table()
        try:
            table = nft.parse_table(text)
            ours = dict(text=text, blocks=table.blocks() if table else [], error=None)
        except nft.NftSyntaxError as exc:
            ours = dict(text=text, blocks=[], error=str(exc))
    return dict(installed=True, tables=tables, ours=ours)


def nftables_ruleset(module):
    """(`nft list ruleset`: every table, sets with their elements, for the reachability engine; None and
    why when it cannot be read)."""
    try:
        return NftHost(module, nft.FAMILY, nft.TABLE).list_ruleset(), None
    except CommandError as exc:
        return None, '%s: %s' % (exc, exc.stderr.strip())


def ipv6_routing(module):
    """The host's IPv6 rules and routes for the reachability engine's reverse-path lookups (firewalld's IPv6
    check): {rules, routes} (`ip -j -6 rule show`, `ip -j -6 route show table all`) and ignore_linkdown
    ({device: its ignore_routes_with_linkdown} for the devices of linkdown routes, from /proc), or {error}."""
    ip = module.get_bin_path('ip')
    if not ip:
        return dict(error='ip (iproute2) is not installed')
    found = {}
    for name, args in (('rules', ['-j', '-6', 'rule', 'show']), ('routes', ['-j', '-6', 'route', 'show', 'table', 'all'])):
        rc, out, err = run_c(module, [ip] + args)
        if rc != 0:
            return dict(error='ip %s failed (rc %d): %s' % (' '.join(args), rc, err.strip()))
        found[name] = out
    # Imported here: only a host whose ruleset holds a reverse-path lookup compiles it.
    from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._routing import linkdown_devices
    found['ignore_linkdown'] = {}
    for device in linkdown_devices(found['routes']):
        if re.match(r'^[^/]+$', device) and device not in ('.', '..'):
            flag = read_flag('/proc/sys/net/ipv6/conf/%s/ignore_routes_with_linkdown' % device)
            if flag is not None:
                found['ignore_linkdown'][device] = flag
    return found


def docker_state(module, settings):
    """(Docker's state, `docker inspect` of the running containers, its networks (None when they could not
    be read), why they could not be). The version is the running dockerd's (`docker info`); `dockerd
    --version` runs only when no dockerd answers."""
    state = dict(installed=False, version=None, major=None, running=False, live_restore=None, firewall_backend=None)
    dockerd = module.get_bin_path('dockerd')
    state['installed'] = dockerd is not None
    docker = module.get_bin_path('docker')
    inspects, networks, networks_error = [], None, 'the docker CLI is not installed'
    if docker:
        rc, out, err = run_c(module, [docker, 'info', '--format', '{{json .}}'])
        info = _json_object(out) if rc == 0 else {}
        # A CLI that reaches no dockerd may still exit 0, its JSON carrying only ServerErrors (20.10's does).
        state['running'] = rc == 0 and not info.get('ServerErrors')
        networks_error = 'docker does not answer: %s' % (err.strip() or '; '.join(info.get('ServerErrors') or []))
        if state['running']:
            if info.get('ServerVersion'):
                state['version'] = 'Docker version %s' % info['ServerVersion']
                state['major'] = docker_major(state['version'])
            state['live_restore'] = info.get('LiveRestoreEnabled') is True
            # Reported from Docker 28.1 (API 1.49); older engines only have iptables.
            state['firewall_backend'] = decisions.reported_firewall_backend(
                (info.get('FirewallBackend') or {}).get('Driver'))
            try:
                inspects = running_containers(module, docker)
            except DockerError as exc:
                module.warn('%s: containers are not reported' % exc)
            try:
                networks, networks_error = [network_summary(n) for n in docker_networks(module, docker)], None
            except DockerError as exc:
                networks_error = str(exc)
                module.warn('%s: the Docker networks are not reported' % exc)
    if dockerd and state['version'] is None:
        state['major'], state['version'] = DaemonHost(module).docker_major()
    state['manages_iptables'] = settings.get('iptables', True) is not False
    ip6_default = state['major'] is not None and state['major'] >= IP6TABLES_DEFAULT_ON_SINCE
    state['manages_ip6tables'] = state['manages_iptables'] and bool(settings.get('ip6tables', ip6_default))
    state['allow_direct_routing'] = settings.get('allow-direct-routing') is True
    return state, inspects, networks, networks_error


def stopped_inspects(module):
    """`docker inspect` of the containers that do not run (created or exited), or None where they could
    not be read (a warning says why)."""
    docker = module.get_bin_path('docker')
    if not docker:
        return None
    try:
        return stopped_containers(module, docker)
    except DockerError as exc:
        module.warn('%s: the stopped containers are not reported' % exc)
        return None


def network_summary(inspect):
    """What a network lets route to its containers: its bridge, subnets, gateway modes (Docker's default
    nat where none is set), trusted host interfaces."""
    options = inspect.get('Options') or {}
    bridge = inspect.get('Driver') == 'bridge'
    trusted = options.get(BRIDGE_OPTION + 'trusted_host_interfaces') or ''
    return dict(
        name=inspect.get('Name'),
        id=(inspect.get('Id') or '')[:12],
        driver=inspect.get('Driver'),
        bridge=(options.get(BRIDGE_OPTION + 'name') or 'br-' + (inspect.get('Id') or '')[:12]) if bridge else None,
        subnets=[c['Subnet'] for c in (inspect.get('IPAM') or {}).get('Config') or [] if (c or {}).get('Subnet')],
        gateway_mode=dict((family, options.get(BRIDGE_OPTION + 'gateway_mode_' + family, 'nat') if bridge else None)
                          for family in FAMILIES),
        trusted_host_interfaces=[name for name in trusted.split(':') if name],
        internal=inspect.get('Internal') is True,
    )


def iptables_state(module):
    """(facts per backend and family, the iptables-save texts read, per backend and family)."""
    host = IptablesHost(module)
    found, saves = {}, {}
    for backend in BACKENDS:
        families = {}
        for family in FAMILIES:
            if not host.binary(family, backend, 'save'):
                continue
            text = host.save(family, backend)
            saves.setdefault(backend, {})[family] = text
            families[family] = family_facts(text)
            families[family]['docker_leftovers'] = leftovers.plan_family(text).summary()
        if families and any(f['tables'] for f in families.values()):
            found[backend] = families
    return found, saves


def ipsets_state(module, iptables, persistence):
    """The collection's sets as `ipset save` lines, read where DOCKER-USER rules of any backend and
    family match one or sets are kept for boot; ipset is not run on other hosts."""
    lines = [line for families in iptables.values() for facts in families.values()
             for line in facts['docker_user']['rules']]
    if not ipset.match_sets(lines) and not persistence['kept_sets']:
        return dict(text='', error=None)
    try:
        text = IpsetHost(module).save()
    except CommandError as exc:
        stderr = (exc.stderr or '').strip()
        return dict(text='', error='%s (%s)' % (exc, stderr) if stderr else str(exc))
    ours = [line for line in text.splitlines() if len(line.split()) > 1 and ipset.is_ours(line.split()[1])]
    return dict(text=''.join(line + '\n' for line in ours), error=None)


def kube_proxy_tables(module, nftables):
    """{table: text} of kube-proxy's nftables tables among those listed, without their set elements;
    None for a table that could not be read."""
    tables = {}
    for name in kube_proxy.NFT_TABLES:
        if name in (nftables['tables'] or []):
            try:
                tables[name] = NftHost(module, *name.split()).list_table(terse=True)
            except CommandError:
                tables[name] = None  # detect() reports it: never "no kube-proxy"
    return tables


def ipvs_state(module, iptables, ipset_path):
    """kube-ipvs0 and the KUBE-* ipsets, read where IPVS mode's chains or its interface show. ipset_path:
    where ipset is (the decision's; None: not installed)."""
    state = dict(interface=False, addresses=[], sets=None, error=None)
    if not (kube_proxy.ipvs_chains_seen(iptables)
            or os.path.exists(os.path.join('/sys/class/net', kube_proxy.IPVS_INTERFACE))):
        return state
    ip, errors = module.get_bin_path('ip'), []
    rc, out, err = (127, '', 'ip is not installed') if not ip else \
        run_c(module, [ip, 'addr', 'show', 'dev', kube_proxy.IPVS_INTERFACE])
    if rc == 0:
        state.update(interface=True, addresses=kube_proxy.interface_addresses(out))
    elif 'does not exist' not in err:
        errors.append('ip addr show dev %s failed: %s' % (kube_proxy.IPVS_INTERFACE, err.strip()))
    if ipset_path:
        try:
            state['sets'] = [name for name in IpsetHost(module).names() if name.startswith('KUBE-')]
        except CommandError as exc:
            errors.append('%s: %s' % (exc, (exc.stderr or '').strip()))
    else:
        errors.append('ipset is not installed: IPVS mode\'s sets cannot be read')
    state['error'] = '; '.join(errors) or None
    return state


def persistence_state():
    """The collection's units, launchers and kept files on the host (whether its engine is current
    aside: _module._firewall_info.engine_current). A kept file that cannot be read raises IOError or
    OSError: never "nothing kept"."""
    def unit(name, enabled=False):
        if enabled:
            return os.path.exists(os.path.join(layout.UNIT_DIR, layout.WANTED_BY[name] + '.wants', name))
        return os.path.exists(os.path.join(layout.UNIT_DIR, name))

    texts = read_state()
    kept = parse_policy(texts)
    return dict(
        docker_user_unit=unit(layout.RESTORE_UNIT),
        docker_user_unit_enabled=unit(layout.RESTORE_UNIT, enabled=True),
        firewalld_watch_unit_enabled=unit(layout.FIREWALLD_WATCH_UNIT, enabled=True),
        kept_rules=kept.rules,
        kept_backend=kept.backend,
        kept_table=kept.table,
        kept_sets=kept.sets,
        publisher_unit=unit(layout.PUBLISHER_UNIT),
        publisher_unit_enabled=unit(layout.PUBLISHER_UNIT, enabled=True),
        published_containers=published_containers(texts),
        programs=dict((name, os.path.exists(path)) for name, (path, _module, _what) in layout.PROGRAMS.items()),
    )


def files_current(files, source):
    """Whether every file, each (name, path), holds source(name) on the host; None when none of them exists."""
    if not any(os.path.exists(path) for _name, path in files):
        return None
    return all(read_text(path) == source(name) for name, path in files)
