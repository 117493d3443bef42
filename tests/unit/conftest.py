# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible_collections.netops.docker_firewall` importable when the tests run from a checkout
(`make unit` runs them through .build/collections/ansible_collections/netops/docker_firewall)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, 'fixtures')

if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) == 'ansible_collections':
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(ROOT))))
else:
    sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))
