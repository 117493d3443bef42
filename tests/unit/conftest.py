# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible_collections.netops.docker_firewall` importable when the tests run from a checkout
(`make unit` runs them through .build/collections/ansible_collections/netops/docker_firewall)."""

import os
import sys

import pytest

# The shared helpers' asserts show what differs, as a conftest's do (before anything imports them).
pytest.register_assert_rewrite('fake_runner')

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) == 'ansible_collections':
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(ROOT))))
else:
    sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))


@pytest.fixture(autouse=True)
def host_lock_of_the_test(monkeypatch, tmp_path):
    """The host lock a module takes by default is a file of the test's own, never the host's /run."""
    from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _host_lock
    monkeypatch.setattr(_host_lock, 'HOST_LOCK', str(tmp_path / 'netops-docker-firewall.lock'))
    return tmp_path / 'netops-docker-firewall.lock'


@pytest.fixture(autouse=True)
def converged_records_of_the_test(monkeypatch, tmp_path):
    """The records of converged runs (plugins/module_utils/_engine/_converged.py) go to a directory of the test's
    own, never the host's /run."""
    from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module
    monkeypatch.setattr(_docker_user_module, 'CONVERGED_DIR', str(tmp_path / 'converged'))
    return tmp_path / 'converged'
