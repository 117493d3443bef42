#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_firewall_info
short_description: Read how Docker, iptables and this collection stand on a host, changing nothing
version_added: 0.2.0
description:
  - Reads, per iptables backend and address family, the rule set once (C(iptables-save)), and
    reports what matters on a Docker host - FORWARD policy and jump order, DOCKER-USER with the
    collection's blocks identified, Docker's chains and rules (and what of them Docker left from before it
    kept out of iptables), kube-proxy's chains, the collection's NETOPS-DFW-PUBLISH chains.
  - Tells which mode kube-proxy runs (iptables, IPVS or nftables) from what is in the kernel (RV(kube_proxy)).
  - Also reads the Docker version, whether Docker manages iptables and allows direct routing (from C(daemon.json)),
    C(ip_forward), the Docker networks (what Docker lets route to their containers), running containers with
    published ports (and which of them cannot work), and whether the collection's persistence and publisher units
    are installed.
  - Where firewalld runs, reads its zones and policies and the backend C(firewalld.conf) names (RV(firewalld)), and
    with O(forward_pairs) and O(forward_to_docker) tells whether firewalld lets the host forward between those
    interfaces - on its nftables backend firewalld filters forwarded traffic in a chain of its own, which no
    C(DOCKER-USER) rule overrides. A warning names each pair firewalld rejects or drops, with the fix.
  - Takes the collection's decisions from what it read (RV(decisions)) - Docker's firewall backend, the iptables
    variant, whether the backstop table is kept, where C(nft) and C(ipset) are, what this Docker generation does of
    its own - which the roles and the compliance checks read instead of deciding again.
  - Read-only. It creates no table or chain - the legacy variant is read only when the kernel
    already holds legacy tables - and runs the same in check mode. The compliance role builds
    on it.
requirements:
  - iptables (C(iptables-nft-save) and/or C(iptables-legacy-save))
  - nftables (C(nft)), optional, to report nftables tables
  - ipset, where C(DOCKER-USER) rules match the collection's ipsets, and on nodes whose kube-proxy runs in IPVS mode
  - iproute2 (C(ip)), on nodes whose kube-proxy runs in IPVS mode, and with O(reachability)
  - the C(docker) CLI, optional, for the Docker version, the firewall backend, the networks and the running containers
  - firewalld (C(firewall-cmd)) and systemd (C(systemctl)), optional, for RV(firewalld)
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes.INFO_MODULE
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
options:
  daemon_json:
    description: daemon.json to read.
    type: path
    default: /etc/docker/daemon.json
  reachability:
    description:
      - Also work out, on the host, who can open a connection to each published port and to each container address
        (routed access) - per family, incoming interface and source addresses, with the rules on the way
        (RV(reachability)); see C(docs/reachability.md).
      - Reads besides the rest the host's addresses (C(ip -j addr show)) and, where C(nft list tables) shows a table
        beside iptables' own (Docker's nftables backend, the collection's, firewalld's), C(nft list ruleset); the rules,
        ipsets, forwarding and C(userland-proxy) are those read anyway.
    type: bool
    default: false
    version_added: 0.2.0
  reachability_forwarded:
    description:
      - Addresses and ports to ask about besides, as packets the host forwards unchanged (routing between two
        networks, such as a LAN and a WAN) - who can open a connection to them, through the same rules
        (RV(reachability.families) C(forwarded)), whether or not anything listens there; implies O(reachability).
      - An address of the host's own is answered C(local) and not walked (only published ports are asked about
        there); one routed by no connected subnet of the host is C(unknown).
    type: list
    elements: dict
    version_added: 0.2.0
    suboptions:
      address: {description: The destination address (either family)., type: str, required: true}
      port: {description: The destination port., type: int, required: true}
      protocol: {description: The protocol., type: str, choices: [tcp, udp, sctp], default: tcp}
  forward_pairs:
    description:
      - Interface pairs to ask firewalld about - whether it lets the host forward new connections from
        C(in_interface) to C(out_interface) (RV(firewalld.forwarding)); the same entries as
        O(netops.docker_firewall.docker_user_chain#module:accept) (the router profile's C(docker_on_router_accept)).
      - Costs no command more than RV(firewalld) itself.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      in_interface:
        description: Interface the forwarded traffic arrives on.
        type: str
        required: true
      out_interface:
        description: Interface the forwarded traffic leaves on.
        type: str
        required: true
      bidirectional:
        description: Also ask about new connections from O(forward_pairs[].out_interface) to O(forward_pairs[].in_interface).
        type: bool
        default: true
  forward_to_docker:
    description:
      - Interfaces whose traffic routed to containers to ask firewalld about, each as the pair interface -> C(docker0)
        (Docker puts all its bridges in firewalld's zone C(docker)) - the interfaces of the router profile's routed
        access (C(docker_on_router_routed)).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  firewall_backend:
    description:
      - The firewall backend Docker is to run, as the DOCKER-USER modules' option of that name takes it; RV(decisions) is
        taken for it. V(auto) is the one Docker runs (what the running dockerd reports, else what daemon.json names,
        else C(iptables)).
    type: str
    choices: [auto, iptables, nftables]
    default: auto
    version_added: 0.2.0
  backstop:
    description:
      - Whether the collection's nftables table is to be kept beside C(DOCKER-USER) on Docker's iptables backend, as the
        C(docker_on_router) role's C(docker_on_router_backstop) says it; RV(decisions.backstop) is taken for it.
        V(auto) keeps it where C(nft) is installed.
    type: str
    choices: [auto, always, never]
    default: auto
    version_added: 0.2.0
seealso:
  - module: netops.docker_firewall.docker_user_chain
  - module: netops.docker_firewall.docker_publish
'''

EXAMPLES = r'''
- name: Read the state of a Docker host
  netops.docker_firewall.docker_firewall_info:
  register: state

- name: Show whether DOCKER-USER is the first FORWARD jump
  ansible.builtin.debug:
    msg: "{{ state.iptables[state.docker_backend].ipv4.docker_user_first }}"
  when: state.docker_backend is not none

- name: Read who can reach the published ports
  netops.docker_firewall.docker_firewall_info:
    reachability: true
  register: reach

- name: Ask firewalld whether the host forwards between int0 and ext0 (a warning names what it rejects, with the fix)
  netops.docker_firewall.docker_firewall_info:
    forward_pairs:
      - {in_interface: int0, out_interface: ext0}
    forward_to_docker: [wg0]
  register: state

- name: Show firewalld's verdicts
  ansible.builtin.debug:
    msg: "{{ state.firewalld.forwarding | map(attribute='verdict') | list }}"

- name: Show the IPv4 sources that reach a container from outside
  ansible.builtin.debug:
    msg: >-
      {{ reach.reachability.families.ipv4.ports | map(attribute='slices') | flatten
         | selectattr('verdict', 'eq', 'reachable') | map(attribute='sources') | flatten | unique }}
'''

RETURN = r'''
docker:
  description: Docker on the host.
  returned: always
  type: dict
  contains:
    installed: {description: Whether dockerd is installed., type: bool}
    version:
      description:
        - The version of the running dockerd, as C(docker info) reports it (C(Docker version 28.5.2)); when no dockerd
          answers, the version line of the installed one (C(dockerd --version)); null when neither is known.
      type: str
    major: {description: 'Major version, or null.', type: int}
    running: {description: Whether the Docker API answers., type: bool}
    manages_iptables: {description: "Whether Docker writes iptables rules (C(iptables) in daemon.json, default true).", type: bool}
    manages_ip6tables: {description: "Whether Docker writes ip6tables rules (C(ip6tables); default true from Docker 27).", type: bool}
    allow_direct_routing:
      description:
        - Whether daemon.json sets C(allow-direct-routing) (Docker 28 and later) - Docker then no longer drops, in
          C(raw PREROUTING), packets routed to a container address from another interface than its bridge, in
          any network.
      type: bool
    live_restore: {description: What the running dockerd reports for live-restore (null when not running)., type: bool}
    firewall_backend:
      description:
        - The firewall backend the running dockerd reports (C(iptables) or C(nftables), without the C(+firewalld)
          Docker adds while firewalld runs); null when Docker does not run or is older than 28.1, which only has
          iptables.
      type: str
daemon_json:
  description: The parsed daemon.json (empty when absent), or the parse error in RV(daemon_json_error).
  returned: always
  type: dict
daemon_json_error:
  description: Why daemon.json could not be read, or null.
  returned: always
  type: str
iptables:
  description:
    - Per iptables variant (C(nft), C(legacy)) that is installed and holds tables, per family (C(ipv4), C(ipv6)),
      the facts read from the rule set.
    - "Each family has: C(tables), C(forward_policy), C(forward_jumps) (user chains FORWARD jumps to, in order),
      C(docker_user_first), C(docker_user_jump) (number of the FORWARD rule that jumps to DOCKER-USER, or null),
      C(docker_user_in_force) (the jump exists and no FORWARD rule before it can accept a packet),
      C(accepting_before_docker_user) (those rules),
      C(docker_user) (C(exists), C(rules), C(blocks) of the collection, C(foreign) rules),
      C(docker_chains), C(docker_rules) (rules Docker writes), C(foreign_in_docker_chains), C(kube_chains),
      C(ours_in_kube_chains),
      C(publish_rules) (per table) and C(rule_count)."
    - "Also: C(kube_proxy) (kube-proxy's own C(chains) per table, the C(jumps) the built-in chains make to them as
      C(TABLE CHAIN TARGET), the KUBE-* ipsets its rules match as C(sets)), C(forward_accepting) (the FORWARD rules,
      Docker's and the collection's left out, that can accept: what gets past a FORWARD DROP policy) and
      C(docker_leftovers) (what M(netops.docker_firewall.docker_leftovers) would remove: C(chains), C(rules), C(kept),
      C(forward_policy))."
  returned: always
  type: dict
nftables:
  description: The host's nftables tables as C(FAMILY NAME) (Docker's nftables backend writes C(ip docker-bridges)).
  returned: always
  type: dict
  contains:
    installed: {description: Whether C(nft) is installed., type: bool}
    tables: {description: "The tables, e.g. C(ip docker-bridges); null when C(nft list tables) failed.", type: list, elements: str}
    ours:
      description:
        - The collection's table C(inet netops-docker-firewall) (Docker's nftables backend), or null when it does not exist.
        - C(text) as C(nft list table) prints it, C(blocks) the collection's blocks in it, C(error) when it cannot be read
          (also when C(nft list tables) failed, with C(text) empty).
      type: dict
networks:
  description:
    - Docker's networks, from C(docker network ls) and C(docker network inspect); null when they could not be read
      (RV(networks_error) says why) - never an empty list for a failed read.
    - "Each has C(name), C(id) (12 characters), C(driver), C(bridge) (the Linux bridge of a C(bridge) network -
      C(com.docker.network.bridge.name), else C(br-) and the id; null for other drivers), C(subnets),
      C(gateway_mode) (C(ipv4) and C(ipv6), from C(com.docker.network.bridge.gateway_mode_ipv4) and C(_ipv6):
      C(nat) by default, C(nat-unprotected), C(routed), C(isolated); null for other drivers),
      C(trusted_host_interfaces) (from C(com.docker.network.bridge.trusted_host_interfaces): interfaces Docker 28
      and later let route to the network's containers) and C(internal)."
  returned: always
  type: list
  elements: dict
  sample:
    - {name: bridge, id: 0123456789ab, driver: bridge, bridge: docker0, subnets: [172.17.0.0/16],
       gateway_mode: {ipv4: nat, ipv6: nat}, trusted_host_interfaces: [], internal: false}
networks_error:
  description: Why the networks could not be read (the docker CLI missing, Docker not answering, a failed inspect), or null.
  returned: always
  type: str
ipsets:
  description:
    - The collection's ipsets (C(netops-dfw-*) of the allowlists, C(netops-dfwr-*) of routed access), read only where a
      C(DOCKER-USER) rule matches one or sets are kept for boot (RV(persistence.kept_sets)).
    - C(text) as C(ipset save) prints them (other sets left out), C(error) when they could not be read.
  returned: always
  type: dict
  sample: {text: "create netops-dfw-eth0-v4 hash:net family inet hashsize 1024 maxelem 65536\nadd netops-dfw-eth0-v4 198.51.100.7\n", error: null}
decisions:
  description:
    - What the collection decides from what was read, each in one function of its engine; the roles and the
      compliance checks read these and never decide again. C(reasons) holds, per decision, why, in words.
  returned: always
  type: dict
  contains:
    firewall_backend:
      description:
        - Docker's firewall backend the policy is for, C(iptables) or C(nftables) - O(firewall_backend) when not
          V(auto), else what the running dockerd reports (without C(+firewalld)), else what daemon.json names, else
          C(iptables) (Docker before 28.1 reports none and only has iptables; Docker not running reports none).
      type: str
      sample: iptables
    firewall_backend_switch:
      description: Whether daemon.json must change for dockerd to run O(firewall_backend) (always false with V(auto)).
      type: bool
    iptables_variant:
      description:
        - The iptables variant (C(nft), C(legacy)) whose rules are Docker's - the one holding Docker's chains or
          C(DOCKER-USER); where both or none do, the first holding rules, else the first installed. Null when no
          iptables is installed. RV(docker_backend) reports the holders themselves.
      type: str
      sample: nft
    backstop:
      description:
        - Whether the collection's nftables table is kept beside C(DOCKER-USER) (the backstop) for O(backstop) - never
          on Docker's nftables backend, where that table is the policy itself; with V(always) true even without C(nft)
          (the role then fails, compliance reports it).
      type: bool
    nft_path:
      description: Where C(nft) is, or null when it is not installed (the lookup every command of the collection uses).
      type: str
      sample: /usr/sbin/nft
    ipset_path:
      description: Where C(ipset) is, or null when it is not installed.
      type: str
      sample: /usr/sbin/ipset
    direct_routing_dropped:
      description:
        - Whether this Docker (28 and later) drops, in C(raw PREROUTING), what is routed to a container from another
          interface than its bridge, unless daemon.json sets C(allow-direct-routing); false when its version is not
          known.
      type: bool
    published_twice_needs_proxy:
      description:
        - Whether this Docker, on RV(decisions.firewall_backend), needs docker-proxy (C(userland-proxy)) to start a
          container that publishes one container port twice (Docker 29 on its nftables backend).
      type: bool
    reasons:
      description: Per decision above, why it was taken, in words.
      type: dict
      sample: {firewall_backend: "the running dockerd reports it", backstop: "backstop: auto, and nft is installed (/usr/sbin/nft)"}
docker_backend:
  description: The iptables variant (C(nft), C(legacy)) holding Docker's chains or DOCKER-USER, null when none does, C(both) when both do.
  returned: always
  type: str
backends_in_use:
  description: iptables variants holding at least one rule. More than one means two firewalls that do not see each other.
  returned: always
  type: list
  elements: str
ip_forward:
  description: Kernel forwarding, C(ipv4) (net.ipv4.ip_forward) and C(ipv6) (net.ipv6.conf.all.forwarding).
  returned: always
  type: dict
  sample: {ipv4: true, ipv6: false}
containers:
  description:
    - Running containers that ask for published ports.
    - C(ports_published_twice) lists the container ports (C(80/tcp)) published more than once in one address
      family (C(-p 8080:80 -p 8082:80)), which Docker 29's nftables firewall backend without docker-proxy cannot
      start (see the C(docker_on_router) role).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: web, network: default, addresses: {}, ports: "8080/tcp->80", standalone: true, ports_published_twice: []}
findings:
  description: Standalone containers whose published ports cannot work, with the fix (see M(netops.docker_firewall.docker_publish)).
  returned: always
  type: list
  elements: dict
kube_proxy:
  description:
    - Which mode kube-proxy runs on the node, read from what is in the kernel, and that mode's structures - its
      C(KUBE-*) chains and their jumps (iptables and IPVS modes), the tables C(ip kube-proxy) and C(ip6 kube-proxy)
      (nftables mode, listed without their set elements), the interface C(kube-ipvs0) and the C(KUBE-*) ipsets (IPVS
      mode; C(ip) and C(ipset) run only where IPVS mode's chains or its interface show). Chains kubelet creates in
      every mode (C(KUBE-IPTABLES-HINT), C(KUBE-KUBELET-CANARY), C(KUBE-FIREWALL)) mark no mode.
    - The compliance check C(kube_proxy) reads this decision; it never decides again.
  returned: always
  type: dict
  contains:
    mode:
      description:
        - C(iptables), C(ipvs), C(nftables), C(none) (nothing of kube-proxy's), C(several) (structures of more than
          one mode - leftovers of an earlier mode, or two proxies), or null when a read failed (see RV(kube_proxy.errors)).
      type: str
    seen: {description: The modes whose structures are there., type: list, elements: str}
    missing: {description: "Structures of the mode seen that are not there, e.g. C(nft ipv4: no jump filter FORWARD KUBE-FORWARD).", type: list, elements: str}
    ours: {description: "Rules of the collection (its tag) in kube-proxy's chains or tables.", type: list, elements: str}
    errors: {description: What could not be read (then RV(kube_proxy.mode) is null)., type: list, elements: str}
    nftables: {description: "Per kube-proxy table listed, its C(chains) (name -> C(type hook priority) for base chains) and C(ours).", type: dict}
    ipvs: {description: "C(interface) (kube-ipvs0 exists), C(addresses) on it, C(sets) (the C(KUBE-*) ipsets, null when not read), C(error).", type: dict}
    forwarding:
      description:
        - Per iptables variant and family whose FORWARD policy is DROP - C(accepting) (rules that can accept past it), C(blocked)
          (none can - kube-proxy's nftables mode adds none), C(docker_left) (Docker left its chains in that family)
          and C(reason).
      type: list
      elements: dict
reachability:
  description:
    - With O(reachability), who can open a new connection to each published port and each container address, worked
      out on the host by the reachability engine (C(docs/reachability.md)) from the rules of RV(reachability.backend);
      null otherwise.
    - A slice of the answer is C(unknown), never C(unreachable), where the engine meets what it does not model - a
      match, target or nftables expression, an nftables table or chain it does not walk (all of them where
      C(nft list ruleset) could not be read), rules in the other iptables variant.
  returned: always
  type: dict
  contains:
    backend: {description: "The iptables variant whose rules are walked - C(nft) or C(legacy), Docker's.", type: str}
    families:
      description:
        - Per family read (C(ipv4), C(ipv6)), the engine's answer - C(ports) (per published port C(port) and its
          C(slices)) and C(routed) (per container address and container port C(target) and its C(slices)); with
          O(reachability_forwarded) also C(forwarded) (per address and port asked about C(target), C(local) and
          C(slices), C(to) being C(target) where reachable).
        - "A slice is C(interface) (a name, or a class such as C(docker+) or C(+) when C(other_interfaces)),
          C(destinations), C(sources), C(source_ranges), C(source_ports) (null for any), C(verdict) (C(reachable),
          C(unreachable) or C(unknown)), C(to) (C(container) or C(host)), C(path) (the rules that took it there) and
          C(reason) (the rule that dropped it, or what was not understood)."
      type: dict
    left_out:
      description:
        - The nftables tables not walked although they are there - where C(nft list ruleset) was not read, the
          collection's own C(inet netops-docker-firewall) (the backstop), which only drops what the declared allowlists
          drop (the compliance check C(nft_table) holds it to them) - so a slice reachable here may still be dropped by
          it, never the other way round.
      type: list
      elements: str
    nftables_modelled:
      description:
        - Whether nftables is in the answer - C(nft list ruleset) was read and its tables walked (the families'
          C(nftables) say which, and what is not modelled), or C(nft list tables) shows none beside iptables'.
      type: bool
    errors:
      description: What could not be read for the answer (the addresses, the ipsets, forwarding, the nftables ruleset).
      type: list
      elements: str
  sample:
    backend: nft
    left_out: []
    nftables_modelled: true
    errors: []
    families:
      ipv4:
        family: ipv4
        ports:
          - port: {container: web, family: ipv4, address: 172.17.0.2, host_ip: null, host_port: '8080',
                   container_port: '80', protocol: tcp}
            slices:
              - {interface: eth0, other_interfaces: false, destinations: [192.0.2.10], sources: [198.51.100.18/32],
                 source_ranges: [198.51.100.18-198.51.100.18], source_ports: null, verdict: reachable, to: container,
                 path: [{table: filter, chain: FORWARD, rule: '-A FORWARD -j DOCKER-USER'}], reason: null}
        routed: []
reachability_seconds:
  description: How long the engine took on the host, in seconds (without the reads); null without O(reachability).
  returned: always
  type: float
firewalld:
  description:
    - firewalld on the host - read where C(firewall-cmd) is installed and firewalld runs (C(systemctl is-active
      firewalld.service), else C(firewall-cmd --state)) with C(firewall-cmd --list-all-zones) and
      C(--list-all-policies) (and C(--get-default-zone) before firewalld 2.1, whose listing does not mark the default
      zone), and C(FirewallBackend) from C(/etc/firewalld/firewalld.conf).
    - C(forwarding) is firewalld's verdict on each pair of O(forward_pairs) and O(forward_to_docker), from
      C(netops.docker_firewall)'s model of its nftables backend (see the compliance check C(firewalld_forwarding)).
  returned: always
  type: dict
  version_added: 0.2.0
  contains:
    installed: {description: Whether C(firewall-cmd) is installed., type: bool}
    running: {description: Whether firewalld runs., type: bool}
    backend:
      description:
        - C(nftables) or C(iptables), as C(firewalld.conf) names it (C(nftables), firewalld's default, when it does
          not); null when firewalld does not run.
        - With C(iptables) firewalld's rules sit in C(FORWARD) below Docker's jump to C(DOCKER-USER), whose rules
          decide; with C(nftables) its own chain filters forwarded traffic beside Docker's.
      type: str
    default_zone: {description: The default zone (null when firewalld does not run)., type: str}
    zones:
      description: "The zones with interfaces or sources, and the default zone - each C(target), C(forward),
        C(interfaces), C(sources)."
      type: dict
    zones_of_interfaces:
      description: Each interface a zone lists, and the zone. An interface not listed is only implicitly in the default zone.
      type: dict
    policies:
      description: "The policies by priority - C(name), C(priority), C(target), C(ingress_zones), C(egress_zones), C(active)."
      type: list
      elements: dict
    forwarding:
      description:
        - Per pair asked about, firewalld's verdict on new connections forwarded from C(in_interface) to C(out_interface)
          - C(in_zone), C(out_zone), C(in_zone_implicit), C(out_zone_implicit) (only implicitly in the default zone),
          C(verdict), C(by) (C(policy NAME), C(zone NAME) or C(firewalld's final reject)), C(reason) and C(fix) (the
          C(firewall-cmd) commands that make firewalld forward it).
        - "C(verdict): C(accept), C(reject), C(drop), C(depends) (something on the way may decide part of the traffic -
          a policy's services, ports or rich rules, a zone bound to sources, which the model leaves out - named in
          C(by) and C(reason); never a silent accept or reject) or C(not_applicable) (firewalld does not run, or runs
          its iptables backend)."
      type: list
      elements: dict
      sample:
        - {in_interface: int0, out_interface: ext0, in_zone: public, out_zone: public, in_zone_implicit: true,
           out_zone_implicit: true, verdict: reject, by: "firewalld's final reject",
           reason: "both interfaces are only implicitly in the default zone public: ...",
           fix: "put int0 and ext0 in zones of their own and add a policy that forwards from zone int0 to zone ext0: ..."}
    error:
      description:
        - Why firewalld's state could not be read or is not what firewalld.conf says (then every verdict is C(depends)),
          or null.
      type: str
persistence:
  description: The collection's units and files on the host.
  returned: always
  type: dict
  contains:
    docker_user_unit: {description: netops-docker-user.service is installed., type: bool}
    docker_user_unit_enabled: {description: It is wanted by docker.service (runs before every dockerd start)., type: bool}
    firewalld_watch_unit_enabled:
      description: netops-docker-firewalld-watch.service is wanted by firewalld.service (puts the rules back after a firewalld reload).
      type: bool
    kept_rules: {description: "The kept DOCKER-USER rules per family (C(ipv4), C(ipv6)), lines.", type: dict}
    kept_backend: {description: 'The backend the kept rules are for (C(nft), C(legacy) or C(nftables)), or null.', type: str}
    kept_table: {description: "The kept nftables table (C(nft -f) input), or null.", type: str}
    kept_sets: {description: "The kept ipsets (C(ipset restore) input), or null.", type: str}
    publisher_unit: {description: netops-docker-publish.service is installed., type: bool}
    publisher_unit_enabled: {description: It is enabled at boot., type: bool}
    published_containers: {description: Containers the publisher is configured for., type: list, elements: str}
    programs:
      description: Per host program of the collection (C(restore), C(firewalld_watch), C(publish)), whether its launcher is installed.
      type: dict
    engine_current:
      description:
        - Whether the engine the programs run (see M(netops.docker_firewall.docker_firewall_engine)) is this
          collection version's, file for file; null when no engine is installed.
      type: bool
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import (
    IP6TABLES_DEFAULT_ON_SINCE,
    docker_major,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import (
    DockerError,
    docker_networks,
    host_addresses,
    read_daemon_json,
    read_text,
    run_c,
    running_containers,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kube_proxy as kube_proxy
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _firewalld as firewalld
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _firewalld_host as firewalld_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._kept_state import (
    parse_policy,
    published_containers,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._kept_state_host import read_state
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    BACKENDS,
    CommandError,
    IpsetHost,
    IptablesHost,
    NftHost,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import (
    FAMILIES,
    container_addresses,
    container_name,
    finding,
    is_standalone,
    ports_published_twice,
    ports_text,
    requested_ports,
)

BRIDGE_OPTION = 'com.docker.network.bridge.'


def read_flag(path):
    text = read_text(path)
    return None if text is None else text.strip() == '1'


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
        state['running'] = rc == 0
        networks_error = 'docker does not answer: %s' % err.strip()
        if rc == 0:
            info = _json_object(out)
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
        rc, out, err = run_c(module, [dockerd, '--version'])
        if rc == 0:
            state['version'] = out.strip()
            state['major'] = docker_major(out)
    state['manages_iptables'] = settings.get('iptables', True) is not False
    ip6_default = state['major'] is not None and state['major'] >= IP6TABLES_DEFAULT_ON_SINCE
    state['manages_ip6tables'] = state['manages_iptables'] and bool(settings.get('ip6tables', ip6_default))
    state['allow_direct_routing'] = settings.get('allow-direct-routing') is True
    return state, inspects, networks, networks_error


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


def kube_proxy_state(module, iptables, nftables, ipset_path):
    """kube-proxy's mode, its structures and forwarding under a FORWARD DROP (_kube_proxy), read-only.
    Its nftables tables are listed without set elements; ip and ipset run only where IPVS shows."""
    tables = {}
    for name in kube_proxy.NFT_TABLES:
        if name in (nftables['tables'] or []):
            try:
                tables[name] = NftHost(module, *name.split()).list_table(terse=True)
            except CommandError:
                tables[name] = None  # detect() reports it: never "no kube-proxy"
    nft_read = dict(installed=nftables['installed'], tables=nftables['tables'], kube_proxy=tables)
    found = kube_proxy.detect(iptables, nft_read, ipvs_state(module, iptables, ipset_path))
    found['forwarding'] = kube_proxy.forwarding(iptables, found['mode'])
    return found


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


def reachability_engine():
    """The reachability engine (_reachability), imported here: compiled (AnsiballZ ships sources) only by
    the runs that ask for it (reachability or reachability_forwarded). Ansible still ships it, as it does
    whatever a module's code imports."""
    from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _reachability
    return _reachability


def reachability_state(module, found, saves, settings, inspects, forwarding, forwarded=None):
    """Who can reach each published port and container address (_reachability), from what the module
    read already, the host's addresses (`ip -j addr show`, read here once) and, where nft lists a table
    beside iptables', the nftables ruleset (`nft list ruleset`)."""
    reachability = reachability_engine()
    errors = []
    ruleset = None
    if found['nftables']['installed'] and reachability.needs_ruleset(found['nftables']['tables']):
        try:
            ruleset = NftHost(module, nft.FAMILY, nft.TABLE).list_ruleset()
        except CommandError as exc:
            errors.append('%s: %s' % (exc, exc.stderr.strip()))
    try:
        names, addresses = host_addresses(module)
    except DockerError as exc:
        names, addresses = [], {}
        errors.append(str(exc))
    backend = found['decisions']['iptables_variant']
    ipsets = found['ipsets']
    if ipsets['error']:
        errors.append('the ipsets cannot be read: %s' % ipsets['error'])
    return reachability.host_reachability(
        saves, backend, addresses, names, inspects, settings.get('userland-proxy', True) is not False, forwarding,
        ipsets_text=ipsets['text'], nftables_tables=found['nftables']['tables'], errors=errors, forwarded=forwarded,
        nftables_ruleset=ruleset)


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


def persistence_state():
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
        engine_current=engine_current(),
    )


def engine_current():
    """Whether every engine file on the host is this version's (None: no engine installed)."""
    paths = engine_files.engine_paths()
    if not any(os.path.exists(path) for path in paths):
        return None
    return all(read_text(path) == engine_files.engine_source(name) for name, path in zip(layout.ENGINE_FILES, paths))


def container_summary(inspect):
    return dict(
        name=container_name(inspect),
        network=(inspect.get('HostConfig') or {}).get('NetworkMode') or 'default',
        addresses=container_addresses(inspect),
        ports=ports_text(inspect),
        standalone=is_standalone(inspect),
        ports_published_twice=ports_published_twice(inspect),
    )


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


def main():
    module = AnsibleModule(
        argument_spec=dict(daemon_json=dict(type='path', default='/etc/docker/daemon.json'),
                           reachability=dict(type='bool', default=False),
                           reachability_forwarded=dict(type='list', elements='dict', options=dict(
                               address=dict(type='str', required=True), port=dict(type='int', required=True),
                               protocol=dict(type='str', choices=['tcp', 'udp', 'sctp'], default='tcp'))),
                           forward_pairs=dict(type='list', elements='dict', default=[], options=dict(
                               in_interface=dict(type='str', required=True),
                               out_interface=dict(type='str', required=True),
                               bidirectional=dict(type='bool', default=True))),
                           forward_to_docker=dict(type='list', elements='str', default=[]),
                           firewall_backend=dict(type='str', default='auto', choices=['auto', 'iptables', 'nftables']),
                           backstop=dict(type='str', default='auto', choices=['auto', 'always', 'never'])),
        supports_check_mode=True,
    )
    forwarded = module.params['reachability_forwarded']
    if forwarded is not None:  # checked before anything is read: a target that is no address reads nothing
        try:
            reachability_engine().check_targets(forwarded)
        except ValueError as exc:
            module.fail_json(msg='reachability_forwarded: %s' % exc)
    tools = dict((name, decisions.tool(name, module.get_bin_path(name))) for name in ('nft', 'ipset'))
    settings, settings_error = read_daemon_json(module.params['daemon_json'])
    docker, inspects, networks, networks_error = docker_state(module, settings)
    try:
        iptables, saves = iptables_state(module)
    except CommandError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    try:
        nftables = nftables_state(module, tools['nft'].value)
    except CommandError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    try:
        persistence = persistence_state()
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
        ipsets=ipsets_state(module, iptables, persistence),
        docker_backend=docker_backend(iptables),
        backends_in_use=in_use,
        ip_forward=dict(ipv4=read_flag('/proc/sys/net/ipv4/ip_forward'),
                        ipv6=read_flag('/proc/sys/net/ipv6/conf/all/forwarding')),
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
    module.exit_json(changed=False, **found)


if __name__ == '__main__':
    main()
