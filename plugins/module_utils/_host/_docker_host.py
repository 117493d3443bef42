# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What docker_publish, docker_firewall_info and docker_leftovers read from a Docker host: commands
in the C locale, the running containers, the networks, daemon.json, when dockerd started, and the
host's interfaces and addresses. Private to this collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time


class DockerError(Exception):
    """Docker did not answer, or answered something that is not JSON."""


def read_text(path):
    """A file's text, or None where it cannot be read."""
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def run_c(module, cmd):
    return module.run_command(cmd, environ_update={'LC_ALL': 'C', 'LANG': 'C'})


def running_containers(module, docker):
    """`docker inspect` of every running container."""
    return _inspected_containers(module, docker, [])


def stopped_containers(module, docker):
    """`docker inspect` of every container created or exited, not running: one a restart policy or a
    `docker start` may start again."""
    return _inspected_containers(module, docker, ['--all', '--filter', 'status=created', '--filter', 'status=exited'])


def _inspected_containers(module, docker, ps_options):
    rc, out, err = run_c(module, [docker, 'ps'] + ps_options + ['--quiet', '--no-trunc'])
    if rc != 0:
        raise DockerError('docker does not answer: %s' % err.strip())
    ids = out.split()
    if not ids:
        return []
    rc, out, err = run_c(module, [docker, 'inspect'] + ids)
    # rc is 1 when a container went away since `docker ps` ("No such object"): the others are still
    # printed. Any other error is a failed read, never "no containers" (that would unpublish them all).
    errors = [line for line in err.splitlines() if line.strip() and 'No such object' not in line]
    if rc != 0 and (errors or not out.strip()):
        raise DockerError('docker inspect failed (rc %d): %s' % (rc, err.strip()))
    try:
        return json.loads(out)
    except ValueError:
        raise DockerError('docker inspect printed no JSON: %s' % err.strip())


def docker_networks(module, docker):
    """`docker network inspect` of every network. A failed read raises DockerError: never "no
    networks" (compliance would find no network reachable)."""
    rc, out, err = run_c(module, [docker, 'network', 'ls', '--quiet', '--no-trunc'])
    if rc != 0:
        raise DockerError('docker network ls failed (rc %d): %s' % (rc, err.strip()))
    ids = out.split()
    if not ids:
        return []
    rc, out, err = run_c(module, [docker, 'network', 'inspect'] + ids)
    # A network removed since `docker network ls` is not found; the others are still printed.
    errors = [line for line in err.splitlines()
              if line.strip() and 'not found' not in line and 'No such network' not in line]
    if rc != 0 and (errors or not out.strip()):
        raise DockerError('docker network inspect failed (rc %d): %s' % (rc, err.strip()))
    try:
        found = json.loads(out)
    except ValueError:
        raise DockerError('docker network inspect printed no JSON: %s' % err.strip())
    if not isinstance(found, list):
        raise DockerError('docker network inspect printed no list of networks')
    return found


def host_addresses(module):
    """(every interface name, {interface: ['192.0.2.10/24', ...]}) from one `ip -j addr show`. A failed
    read raises DockerError: never "no address" (reachability would find no route)."""
    ip = module.get_bin_path('ip')
    if not ip:
        raise DockerError('ip (iproute2) is not installed: the host\'s addresses cannot be read')
    rc, out, err = run_c(module, [ip, '-j', 'addr', 'show'])
    if rc != 0:
        raise DockerError('ip -j addr show failed (rc %d): %s' % (rc, err.strip()))
    return parse_addresses(out)


def parse_addresses(text):
    """(interface names, {interface: [address/prefix length]}) of `ip -j addr show` output."""
    try:
        links = json.loads(text)
        names, addresses = [], {}
        for link in links:
            name = link['ifname']
            names.append(name)
            addresses[name] = ['%s/%d' % (a['local'], a['prefixlen']) for a in link.get('addr_info') or []
                               if a.get('family') in ('inet', 'inet6') and a.get('local')]
    except (ValueError, TypeError, KeyError) as exc:
        raise DockerError('ip -j addr show printed no list of interfaces: %s' % exc)
    return names, addresses


def read_daemon_json(path):
    """(settings, None), ({}, None) when the file does not exist, or ({}, why it cannot be read)."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError):
        return {}, None
    try:
        settings = json.loads(raw.decode('utf-8'))
    except UnicodeDecodeError:
        return {}, '%s is not UTF-8 text' % path
    except ValueError as exc:
        return {}, '%s is not valid JSON: %s' % (path, exc)
    if not isinstance(settings, dict):
        return {}, '%s does not hold a JSON object' % path
    return settings, None


def dockerd_started_at(pidfile='/var/run/docker.pid'):
    """When the running dockerd started, as time.time() counts; None when none runs (no pid file, or
    its process is gone or is not dockerd)."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
        with open('/proc/%d/comm' % pid) as handle:
            if handle.read().strip() != 'dockerd':
                return None
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except (IOError, OSError, ValueError, IndexError):
        return None
    # Field 22 of /proc/PID/stat (the 20th after the command): clock ticks from boot to the start.
    since_boot = int(fields[19]) / float(os.sysconf('SC_CLK_TCK'))
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) + since_boot
