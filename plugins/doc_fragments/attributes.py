# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Modules that change the host.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
'''

    # Modules that only read.
    INFO_MODULE = r'''
attributes:
  check_mode:
    description: This module does not change the target and runs the same in check mode.
    support: full
  diff_mode:
    description: This module does not change the target, so it has no diff.
    support: N/A
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
'''
