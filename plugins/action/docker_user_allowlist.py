# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_user_allowlist: its sources_file is read on the controller and passed on in sources_text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.plugin_utils._sources_file import (
    SourcesFileAction,
    display,
    with_file_entries,
)


class ActionModule(SourcesFileAction):
    MODULE = 'netops.docker_firewall.docker_user_allowlist'

    def expand(self, args):
        if args.get('state') == 'absent':
            return args  # no sources needed: the block goes
        return with_file_entries(args, '', self.read, display.warning)
