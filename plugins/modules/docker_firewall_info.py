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
        beside iptables' own (Docker's nftables backend, the collection's, firewalld's), C(nft list ruleset); where that
        ruleset holds a reverse-path lookup (firewalld's IPv6 check, C(fib saddr . mark . iif oif missing drop)), the
        IPv6 rules and routes (C(ip -j -6 rule show), C(ip -j -6 route show table all)); the rules, ipsets, forwarding
        and C(userland-proxy) are those read anyway.
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
stopped_published_twice:
  description:
    - Containers that do not run (created or exited) and publish one container port twice, which Docker could not
      start again (a restart policy at the next dockerd start, or C(docker start)). Read only where
      RV(decisions.published_twice_needs_proxy) is true; an empty list elsewhere.
    - Null where the stopped containers could not be read (dockerd does not answer, or a warning says why).
    - C(restart_policy) is the container's (C(no), C(always), C(unless-stopped), C(on-failure)).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: web-old, restart_policy: always, ports_published_twice: ["80/tcp"]}
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
      description: What could not be read for the answer (the addresses, the ipsets, forwarding, the nftables ruleset, the
        IPv6 rules and routes).
      type: list
      elements: str
    routing_read:
      description:
        - The families whose rules and routes were read and understood for a reverse-path lookup of the nftables ruleset
          (firewalld's IPv6 check) - C([ipv6]), or V([]) where the ruleset holds none (nothing is read then) or the read
          failed (then C(errors) says why, and the check is C(unknown)).
      type: list
      elements: str
  sample:
    backend: nft
    left_out: []
    nftables_modelled: true
    errors: []
    routing_read: []
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._module._firewall_info import firewall_info


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
    module.exit_json(changed=False, **firewall_info(module))


if __name__ == '__main__':
    main()
