# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab platforms' cache of compiled module payloads (molecule/shared/files/compile_cache): the code
it gives back is the code Python would compile, named after the file it is loaded from now; a changed
source or a damaged cache file is compiled again; and one process compiles a payload file once, not
twice as zipimport does."""

import importlib.util
import os
import zipimport

import pytest

from conftest import ROOT

SOURCE = b'def answer():\n    return 42\n\n\nVALUE = answer()\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache module loaded from the lab's file, with zipimport given back its own compiler (loading
    the module installs the cache in this process), writing under tmp_path, counting real compiles."""
    original = zipimport._compile_source
    spec = importlib.util.spec_from_file_location(
        'lab_compile_cache', os.path.join(ROOT, 'molecule', 'shared', 'files', 'compile_cache', 'netops_lab_compile_cache.py'))
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        assert zipimport._compile_source is module.compile_source
    finally:
        zipimport._compile_source = original
    compiled = []

    def counting(pathname, source):
        compiled.append(pathname)
        return original(pathname, source)

    monkeypatch.setattr(module, 'CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.setattr(module, '_compile_from_source', counting)
    module.compiled = compiled
    return module


def run(code):
    namespace = {}
    exec(code, namespace)  # pylint: disable=exec-used
    return namespace


def fresh(module):
    """As a new process would start: nothing compiled in memory."""
    module._loaded.clear()


def test_the_same_source_from_another_zip_comes_from_the_cache_named_after_that_zip(cache):
    first = cache.compile_source('/tmp/payload-1.zip/pkg/mod.py', SOURCE)
    fresh(cache)
    second = cache.compile_source('/tmp/payload-2.zip/pkg/mod.py', SOURCE)
    assert cache.compiled == ['/tmp/payload-1.zip/pkg/mod.py']
    assert second.co_filename == '/tmp/payload-2.zip/pkg/mod.py'
    assert run(second)['answer'].__code__.co_filename == '/tmp/payload-2.zip/pkg/mod.py'
    assert run(second)['VALUE'] == run(first)['VALUE'] == 42


def test_zipimport_asks_twice_in_one_process_and_compiles_once(cache):
    assert cache.compile_source('/tmp/p.zip/mod.py', SOURCE) is cache.compile_source('/tmp/p.zip/mod.py', SOURCE)
    assert cache.compiled == ['/tmp/p.zip/mod.py']


def test_a_changed_source_is_compiled_again(cache):
    cache.compile_source('/tmp/p.zip/mod.py', SOURCE)
    fresh(cache)
    changed = cache.compile_source('/tmp/p.zip/mod.py', SOURCE.replace(b'42', b'43'))
    assert cache.compiled == ['/tmp/p.zip/mod.py', '/tmp/p.zip/mod.py']
    assert run(changed)['VALUE'] == 43


@pytest.mark.parametrize('damage', [b'', b'not marshal data', b'\xe9'])
def test_a_damaged_cache_file_is_compiled_again_and_replaced(cache, damage):
    cache.compile_source('/tmp/p.zip/mod.py', SOURCE)
    (path,) = [os.path.join(cache.CACHE_DIR, name) for name in os.listdir(cache.CACHE_DIR)]
    with open(path, 'wb') as handle:
        handle.write(damage)
    fresh(cache)
    assert run(cache.compile_source('/tmp/p.zip/mod.py', SOURCE))['VALUE'] == 42
    assert len(cache.compiled) == 2
    fresh(cache)
    cache.compile_source('/tmp/p.zip/mod.py', SOURCE)
    assert len(cache.compiled) == 2


def test_a_cache_it_cannot_write_only_costs_the_compile(cache, tmp_path):
    (tmp_path / 'cache').write_text('a file where the directory should be')
    assert run(cache.compile_source('/tmp/p.zip/mod.py', SOURCE))['VALUE'] == 42
    assert (tmp_path / 'cache').read_text() == 'a file where the directory should be'
