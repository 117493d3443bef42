# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Options and behaviour shared by the modules that write DOCKER-USER.
    DOCUMENTATION = r'''
options:
  iptables_variant:
    description:
      - The iptables variant to read and write, C(iptables-nft) or C(iptables-legacy), on Docker's iptables
        firewall backend (O(firewall_backend) chooses between Docker's firewall backends).
      - V(auto) uses the variant that holds Docker's C(DOCKER-USER) chain, and fails when both
        C(nft) and C(legacy) hold one (rules in either variant filter packets).
      - The alias C(backend) is deprecated and will be removed in netops.docker_firewall 0.4.0.
    aliases: [backend]
    type: str
    choices: [auto, nft, legacy]
    default: auto
  create_chain:
    description:
      - Create C(DOCKER-USER) and insert C(-j DOCKER-USER) at the top of C(FORWARD) in a family
        where the chain does not exist.
      - Without it, a missing IPv4 chain is an error (Docker is not running, or runs with
        C(iptables) set to C(false) in C(daemon.json)), and a missing IPv6 chain (Docker 20.10
        and 26 by default) leaves IPv6 alone with a warning.
    type: bool
    default: false
  daemon_json:
    description:
      - Docker's C(daemon.json), read (never written) for two settings.
      - C(firewall-backend) set to C(nftables) (Docker 29 and later) makes the module write the collection's
        own nftables table instead of C(DOCKER-USER), which that Docker firewall does not have. See the notes.
      - C(userland-proxy) not set to C(false) while an allowlist is declared gives a warning - docker-proxy
        serves published ports on C(INPUT), where IPv6 clients of a port published from an IPv4-only
        network walk around C(DOCKER-USER). The M(netops.docker_firewall.docker_user_chain) notes say why
        and what the C(docker_on_router) role does about it.
    type: path
    default: /etc/docker/daemon.json
  firewall_backend:
    description:
      - Which of Docker's firewall backends to write for.
      - V(auto) is the one Docker runs, from O(daemon_json). V(iptables) writes C(DOCKER-USER) and
        V(nftables) the collection's nftables table whatever Docker runs - for a switch of Docker's backend,
        with the policy in force on the new one before dockerd restarts on it (the C(docker_on_router)
        role does this with C(docker_on_router_firewall_backend)).
    type: str
    choices: [auto, iptables, nftables]
    default: auto
notes:
  - The chain is read once per family, the complete new content is planned, and it is written
    with one C(iptables-restore --noflush) per family that changed, after a C(--test) dry run of
    every family. Only C(DOCKER-USER) is written; Docker's own chains are never touched.
  - The chain is never flushed - the rules of ours that were read are deleted by their spec and ours are
    inserted at the top, in one transaction - so a rule another tool adds between our read and our write
    stays. The read-back accepts rules others added meanwhile, and fails when a rule of ours is missing or
    out of place.
  - Every rule the collection writes carries the comment C(netops.docker_firewall/BLOCK). Rules
    without it (another tool's, Docker's own C(RETURN)) are kept, in their order, after ours.
  - "Canonical order of our blocks: router ACCEPT pairs, then routed access (one block), then allowlists, each
    sorted by name, whatever order the tasks ran in."
  - A converged run writes no rule and no set and runs no C(iptables-restore).
  - A run that finds the host converged, or writes it and reads back exactly its plan, leaves a record in
    C(/run/netops-docker-firewall/converged/) - the digests of its declaration (every option, the firewall written
    for, the code of the module and its engine, the Python version) and of what its reads printed (C(DOCKER-USER) of each family and the
    collection's ipsets, or the collection's nftables table), with its result. A later run of the same declaration
    runs the same reads, and when what they print has the recorded digest, the host holds what the recorded run
    left, and that run's result is returned without parsing the sources, the sets or the table. A set element or a rule
    changed by hand or by another tool, another declaration or a reboot takes the full path, which writes what
    differs and records again. Check mode uses the records and writes none; diff mode never uses them (its diff
    shows every entry). A record belongs to the user the module runs as (root, with become), written 0600 in
    directories made 0700 (it holds the sources); one that another user could have written (a symlink, a file or
    directory not the running user's, or one others can write to) proves nothing.
  - Runs the iptables tools in the C locale and waits up to 10 seconds for the xtables lock.
  - Concurrent writers are serialised by the collection's host lock (C(/run/netops-docker-firewall.lock)), which
    every module and host program that writes the collection's state holds from its first read to its read-back
    (these modules, M(netops.docker_firewall.docker_publish), M(netops.docker_firewall.docker_firewall_persistence),
    the restore at boot and at dockerd restarts, the firewalld watcher, the publisher watcher).
    A run waits up to 30 seconds for another writer, then fails naming it (program, pid, since when) with nothing
    changed. The kernel releases the lock when its holder exits, however it exits, so a crashed or killed run never
    blocks the next one. What a run reports is what it read back under the lock.
  - In check mode, which writes nothing, the module reads without the lock and never waits; its plan may then be
    overtaken by a writer that runs at the same time.
  - When a write fails after the collection's ipsets were swapped in, the sets of the families whose chains were
    not written are swapped back (each staging set holds the old content until the chains are written and read
    back), and the error says what each set holds then, as read back.
  - "Under Docker's nftables firewall backend the same declarations go to the table C(inet netops-docker-firewall),
    which the collection alone writes (Docker's C(docker-bridges) tables and every other table are never touched).
    Its base chain hooks C(forward) at priority C(filter - 10), before Docker's, so its drops are final. Each
    allowlist is a chain jumped to by input interface, with one interval set per family; ports are matched on
    the original destination port (C(ct original proto-dst)). The whole table is replaced in one C(nft -f)
    transaction after a C(nft -c) dry run, and read back; a converged run writes no table. Routed access is one
    chain C(routed), jumped to per container bridge pattern by new connections without DNAT."
  - Under Docker's nftables backend router pairs are accepted in the table's base chain before any allowlist,
    so that an allowlist on the WAN side does not cut routed traffic (Docker's own nftables rules never drop
    traffic between two non-Docker interfaces, and that backend sets no C(FORWARD) policy). Until the next
    reboot after a switch from the iptables backend, iptables keeps Docker's C(FORWARD) C(DROP) policy and its
    jump to C(DOCKER-USER); the module warns about both.
requirements:
  - iptables (C(iptables-nft-save) and/or C(iptables-legacy-save), with the matching restore), for Docker's iptables
    firewall backend; the C(conntrack), C(comment) and C(iprange) matches
  - nftables (C(nft)), for Docker's nftables firewall backend
'''
