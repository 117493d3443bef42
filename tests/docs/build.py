#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's docs site (make docs), built the way antsibull-docs documents:
`antsibull-docs sphinx-init --use-current` writes a Sphinx site for the installed collection into
DEST, and the build.sh it writes renders the plugin docs to RST and runs sphinx-build into
DEST/build/html.

  build.py DEST     (run with the docs venv first on PATH and the collection on
                     ANSIBLE_COLLECTIONS_PATH, as `make docs` does)

What the generated site gets on top:
- the front page tests/docs/index.rst (--index-rst-source);
- docs/*.md, roles/*/README.md and CONTRIBUTING.md as pages, rendered from the Markdown by
  myst-parser: copied under rst/project/ in the repository's layout, so that their relative links
  (to each other, to the diagrams' SVGs, to docs/inventory.example.yml) resolve as they do in the
  repository;
- no network: intersphinx reads only a local inventory of the few Ansible docsite labels that the
  generated pages reference (ANSIBLE_DOCSITE_LABELS below), linked to docs.ansible.com.

It fails on any Sphinx warning (build.sh runs sphinx-build -W, and conf.py is nitpicky: a
reference, label, toctree entry or Markdown link whose target does not exist), on plugin docs
antsibull-docs cannot parse (--fail-on-error), and when a module, role, filter or page has no HTML
page. Last, headless Chromium loads the front page, which must link every guide page, and the
collection's page, which must link every module, role and filter page."""

import glob
import os
import re
import shutil
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'report'))

from headless_chromium import dump_dom  # noqa: E402 pylint: disable=wrong-import-position

COLLECTION = 'netops.docker_firewall'
ANSIBLE_DOCSITE = 'https://docs.ansible.com/projects/ansible/devel/'
# (label, page#anchor, title): the Ansible docsite's labels that antsibull-docs' pages and our
# plugin docs reference. A reference to any other label outside the site fails the build.
ANSIBLE_DOCSITE_LABELS = (
    ('ansible_configuration_settings', 'reference_appendices/config.html#ansible-configuration-settings',
     'Ansible Configuration Settings'),
    ('common_return_values', 'reference_appendices/common_return_values.html#common-return-values', 'Return Values'),
    ('action_plugins', 'plugins/action.html#action-plugins', 'Action plugins'),
    ('ansible_collections.ansible.builtin.copy_module',
     'collections/ansible/builtin/copy_module.html#ansible-collections-ansible-builtin-copy-module',
     'ansible.builtin.copy module'),
)
INVENTORY = 'ansible_docsite.inv'

# Appended to the conf.py that sphinx-init writes. That maps python, python3, jinja2 and
# ansible_devel to their sites, which Sphinx would fetch on every build: only the local inventory
# is left. A code block without a language is plain text, as where the Markdown is read on its own
# (the generated plugin pages name theirs). A snippet its lexer cannot take whole (JSON shortened
# with "...") is still shown, highlighted leniently: that warning alone is not an error.
CONF_EXTRA = '''
# --- tests/docs/build.py: Markdown pages, and intersphinx without the network.
extensions.append('myst_parser')
myst_heading_anchors = 3
highlight_language = 'none'
suppress_warnings = ['misc.highlighting_failure']
intersphinx_mapping = {
    'ansible_devel': (%r, '../%s'),
}
''' % (ANSIBLE_DOCSITE, INVENTORY)


def run(*argv):
    print('+ ' + ' '.join(argv), flush=True)
    subprocess.run(argv, check=True)


def write_inventory(path):
    """A Sphinx object inventory (version 2) of ANSIBLE_DOCSITE_LABELS."""
    body = ''.join('%s std:label -1 %s %s\n' % entry for entry in ANSIBLE_DOCSITE_LABELS)
    with open(path, 'wb') as out:
        out.write(b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n'
                  b'# The remainder of this file is compressed using zlib.\n')
        out.write(zlib.compress(body.encode('utf-8')))


# Markdown pages at the top of the repository that the site renders too (README.md is the
# collection's first page in the repository and the tarball; the site has index.rst).
TOP_PAGES = ('CONTRIBUTING.md',)


def copy_pages(rst):
    """docs/ (Markdown pages, diagrams, the sample inventory), the roles' READMEs and TOP_PAGES
    under rst/project/, as they lie in the repository. Returns the pages' names, without .md."""
    project = os.path.join(rst, 'project')
    shutil.copytree(os.path.join(ROOT, 'docs'), os.path.join(project, 'docs'))
    for page in TOP_PAGES:
        shutil.copy(os.path.join(ROOT, page), os.path.join(project, page))
    for readme in glob.glob(os.path.join(ROOT, 'roles', '*', 'README.md')):
        target = os.path.join(project, os.path.relpath(readme, ROOT))
        os.makedirs(os.path.dirname(target))
        shutil.copy(readme, target)
    return sorted(os.path.relpath(page, rst)[:-len('.md')]
                  for page in glob.glob(os.path.join(project, '**', '*.md'), recursive=True))


def expected_plugin_pages():
    """The HTML page antsibull-docs writes for each module, role and filter in the tree."""
    names = []
    for module in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')):
        names.append('%s_module' % os.path.basename(module)[:-len('.py')])
    for spec in glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml')):
        names.append('%s_role' % os.path.basename(os.path.dirname(os.path.dirname(spec))))
    # Filters are documented in YAML files beside the Python file that defines them.
    for doc in glob.glob(os.path.join(ROOT, 'plugins', 'filter', '*.yml')):
        names.append('%s_filter' % os.path.basename(doc)[:-len('.yml')])
    prefix = 'collections/%s/' % COLLECTION.replace('.', '/')
    return sorted(prefix + name for name in names if not name.startswith('_'))


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: build.py DEST')
    dest = os.path.abspath(sys.argv[1])
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    os.chmod(dest, 0o755)  # sphinx-init wants a directory only its owner can write to
    run('antsibull-docs', 'sphinx-init', '--use-current', '--fail-on-error', '--dest-dir', dest,
        '--index-rst-source', os.path.join(HERE, 'index.rst'), '--project', COLLECTION,
        '--copyright', '%s maintainers' % COLLECTION, '--title', COLLECTION, COLLECTION)

    conf = os.path.join(dest, 'conf.py')
    with open(conf, encoding='utf-8') as handle:
        if 'intersphinx_mapping = {' not in handle.read():
            sys.exit('docs: %s sets no intersphinx_mapping: check CONF_EXTRA against this antsibull-docs' % conf)
    with open(conf, 'a', encoding='utf-8') as handle:
        handle.write(CONF_EXTRA)
    write_inventory(os.path.join(dest, INVENTORY))
    pages = copy_pages(os.path.join(dest, 'rst'))

    run('bash', os.path.join(dest, 'build.sh'))

    html = os.path.join(dest, 'build', 'html')
    plugin_pages = expected_plugin_pages()
    missing = [name for name in ['index'] + plugin_pages + pages if not os.path.isfile(os.path.join(html, name + '.html'))]
    if missing:
        sys.exit('docs: no HTML page for %s' % ', '.join(missing))
    # What a reader sees: the front page links the collection and every guide, the collection's
    # page every module, role and filter.
    collection_index = 'collections/%s/index' % COLLECTION.replace('.', '/')
    for page, links in (('index', ['collections/index'] + pages), (collection_index, plugin_pages)):
        dom = dump_dom(os.path.join(html, page + '.html'), 'docs', COLLECTION)
        here = os.path.dirname(page) or '.'
        unlinked = [link for link in links
                    if not re.search(r'href="%s\.html[#"]' % re.escape(os.path.relpath(link, here)), dom)]
        if unlinked:
            sys.exit('docs: %s.html, as Chromium shows it, does not link %s' % (page, ', '.join(unlinked)))
    print('docs: %s/index.html: %d pages of modules, roles and filters, %d guide pages, no warning'
          % (os.path.relpath(html, ROOT), len(plugin_pages), len(pages)))


if __name__ == '__main__':
    main()
