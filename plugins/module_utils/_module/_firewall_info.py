# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the docker_firewall_info module does: every read of the host once (_firewall_info_host,
_firewalld_host), then what the engines make of them - kube-proxy's mode, firewalld's verdicts, the
collection's decisions and, when asked, who can reach what. Read-only, the same in check mode.

Private to this collection. The module only declares its options and returns this."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _firewalld as firewalld
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kube_proxy as kube_proxy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import (
    container_addresses,
    container_name,
    finding,
    is_standalone,
    ports_published_twice,
    ports_text,
    requested_ports,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _firewall_info_host as info_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _firewalld_host as firewalld_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import (
    DockerError,
    host_addresses,
    read_daemon_json,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import BACKENDS, CommandError
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files


def firewall_info(module):
    """The module's result but `changed`: the host read once, then the decisions taken from it. A failed
    command of iptables or nft, or kept files that cannot be read, fail the task."""
    forwarded = module.params['reachability_forwarded']
    if forwarded is not None:  # checked before anything is read: a target that is no address reads nothing
        try:
            reachability_engine().check_targets(forwarded)
        except ValueError as exc:
            module.fail_json(msg='reachability_forwarded: %s' % exc)
    tools = dict((name, decisions.tool(name, module.get_bin_path(name))) for name in ('nft', 'ipset'))
    settings, settings_error = read_daemon_json(module.params['daemon_json'])
    docker, inspects, networks, networks_error = info_host.docker_state(module, settings)
    iptables, saves = command_read(module, info_host.iptables_state, module)
    nftables = command_read(module, info_host.nftables_state, module, tools['nft'].value)
    try:
        persistence = dict(info_host.persistence_state(), engine_current=engine_current())
    except (IOError, OSError) as exc:  # not "nothing kept": compliance would call a kept policy missing
        module.fail_json(msg='the kept state could not be read: %s' % exc)
    published = set(persistence['published_containers'])
    with_ports = [inspect for inspect in inspects if requested_ports(inspect)]
    in_use = sorted(backend for backend, families in iptables.items() if any(f['rule_count'] for f in families.values()))
    found = dict(
        docker=docker,
        daemon_json=settings,
        daemon_json_error=settings_error,
        iptables=iptables,
        nftables=nftables,
        ipsets=info_host.ipsets_state(module, iptables, persistence),
        docker_backend=docker_backend(iptables),
        backends_in_use=in_use,
        ip_forward=info_host.ip_forward(),
        networks=networks,
        networks_error=networks_error,
        containers=[container_summary(inspect) for inspect in with_ports],
        findings=[f for f in (finding(inspect, settings, published) for inspect in with_ports) if f],
        persistence=persistence,
        kube_proxy=kube_proxy_state(module, iptables, nftables, tools['ipset'].value),
        firewalld=firewalld_state(module, nftables),
        decisions=decisions_state(module.params, settings, docker, iptables, saves, in_use, tools),
        reachability=None,
        reachability_seconds=None,
    )
    if module.params['reachability'] or forwarded is not None:
        found['reachability'] = reachability_state(module, found, saves, settings, with_ports, found['ip_forward'],
                                                   forwarded)
        found['reachability_seconds'] = found['reachability'].pop('seconds')
    found['stopped_published_twice'] = stopped_published_twice(module, found['decisions'], docker['running'])
    return found


def command_read(module, read, *args):
    """read(*args); a command that fails fails the task, with its cmd, rc, stdout and stderr."""
    try:
        return read(*args)
    except CommandError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)


def kube_proxy_state(module, iptables, nftables, ipset_path):
    """kube-proxy's mode, its structures and forwarding under a FORWARD DROP (_kube_proxy), read-only.
    Its nftables tables are listed without set elements; ip and ipset run only where IPVS shows."""
    nft_read = dict(installed=nftables['installed'], tables=nftables['tables'],
                    kube_proxy=info_host.kube_proxy_tables(module, nftables))
    found = kube_proxy.detect(iptables, nft_read, info_host.ipvs_state(module, iptables, ipset_path))
    found['forwarding'] = kube_proxy.forwarding(iptables, found['mode'])
    return found


def reachability_engine():
    """The reachability engine (_reachability), imported here: compiled (AnsiballZ ships sources) only by
    the runs that ask for it (reachability or reachability_forwarded). Ansible still ships it, as it does
    whatever a module's code imports."""
    from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _reachability
    return _reachability


def reachability_state(module, found, saves, settings, inspects, forwarding, forwarded=None):
    """Who can reach each published port and container address (_reachability), from what the module
    read already, the host's addresses (`ip -j addr show`, read here once), where nft lists a table beside
    iptables', the nftables ruleset (`nft list ruleset`) and, where that ruleset holds a reverse-path lookup
    (firewalld's IPv6 check), the IPv6 rules and routes (`ip -j -6 rule show`, `ip -j -6 route show table all`)."""
    reachability = reachability_engine()
    errors = []
    ruleset = None
    if found['nftables']['installed'] and reachability.needs_ruleset(found['nftables']['tables']):
        ruleset, error = info_host.nftables_ruleset(module)
        if error:
            errors.append(error)
    try:
        names, addresses = host_addresses(module)
    except DockerError as exc:
        names, addresses = [], {}
        errors.append(str(exc))
    routing = None
    if ruleset is not None and reachability.needs_routing(ruleset):
        routing = dict(ipv6=info_host.ipv6_routing(module))
    backend = found['decisions']['iptables_variant']
    ipsets = found['ipsets']
    if ipsets['error']:
        errors.append('the ipsets cannot be read: %s' % ipsets['error'])
    return reachability.host_reachability(
        saves, backend, addresses, names, inspects, settings.get('userland-proxy', True) is not False, forwarding,
        ipsets_text=ipsets['text'], nftables_tables=found['nftables']['tables'], errors=errors, forwarded=forwarded,
        nftables_ruleset=ruleset, routing=routing)


def docker_holders(iptables):
    """The iptables variants that hold Docker's chains or DOCKER-USER, in the collection's order."""
    return [backend for backend in BACKENDS if any(f['docker_chains'] or f['docker_user']['exists']
                                                   for f in iptables.get(backend, {}).values())]


def docker_backend(iptables):
    holding = docker_holders(iptables)
    if len(holding) > 1:
        return 'both'
    return holding[0] if holding else None


def decisions_state(params, settings, docker, iptables, saves, in_use, tools):
    """What the collection decides from what was read (_decisions), for the roles and compliance to read:
    for the firewall backend and the backstop the module's options ask for."""
    configured = settings.get('firewall-backend')
    firewall = decisions.firewall_backend(configured, docker['firewall_backend'], params['firewall_backend'])
    installed = [backend for backend in BACKENDS if backend in saves]
    return decisions.report(
        firewall_backend=firewall,
        firewall_backend_switch=decisions.firewall_backend_switch(configured, params['firewall_backend']),
        iptables_variant=decisions.iptables_variant(installed, docker_holders(iptables), in_use=in_use),
        backstop=decisions.backstop(params['backstop'], firewall.value, tools['nft'].value),
        nft_path=tools['nft'],
        ipset_path=tools['ipset'],
        direct_routing_dropped=decisions.direct_routing_dropped(docker['major']),
        published_twice_needs_proxy=decisions.published_twice_needs_proxy(docker['major'], firewall.value),
    )


def engine_current():
    """Whether every engine file on the host is this version's (None: no engine installed)."""
    return info_host.files_current(engine_files.engine_file_paths(), engine_files.engine_source)


def container_summary(inspect):
    return dict(
        name=container_name(inspect),
        network=(inspect.get('HostConfig') or {}).get('NetworkMode') or 'default',
        addresses=container_addresses(inspect),
        ports=ports_text(inspect),
        standalone=is_standalone(inspect),
        ports_published_twice=ports_published_twice(inspect),
    )


def stopped_published_twice(module, decisions_found, docker_running):
    """The containers that do not run but publish one container port twice, read only where that keeps
    them from starting again (a restart policy or `docker start` would fail): [] elsewhere, None where
    they could not be read (dockerd does not answer, or the read failed)."""
    if not decisions_found['published_twice_needs_proxy']:
        return []
    if not docker_running:
        return None
    inspects = info_host.stopped_inspects(module)
    if inspects is None:
        return None
    return [dict(name=container_name(inspect),
                 restart_policy=((inspect.get('HostConfig') or {}).get('RestartPolicy') or {}).get('Name') or 'no',
                 ports_published_twice=ports_published_twice(inspect))
            for inspect in inspects if ports_published_twice(inspect)]


def firewalld_state(module, nftables):
    """firewalld: whether it runs, its zones and policies (_firewalld_host), and its verdict on the pairs
    asked about (_firewalld.evaluate), a warning for each it rejects or drops."""
    found, parsed = firewalld_host.read(module, nftables['tables'])
    pairs = firewalld.declared_pairs(module.params['forward_pairs'], module.params['forward_to_docker'])
    found['forwarding'] = [firewalld.evaluate(parsed, found['running'], in_interface, out_interface, found['error'])
                           for in_interface, out_interface in pairs]
    if found['error'] and pairs:
        module.warn('whether firewalld forwards %s is not known: %s'
                    % (', '.join('%s -> %s' % pair for pair in pairs), found['error']))
    for message in filter(None, (firewalld.warning(result) for result in found['forwarding'])):
        module.warn(message)
    return found
