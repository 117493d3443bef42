# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab platforms' cache of compiled module payloads (installed by molecule/shared/tasks/lab_files.yml).

Every Ansible task runs its module from a fresh zip, and Python's zipimport compiles each file of a
zip from source, twice (once to name the file, once to load it): for the lab, where every module
is the same payload run thousands of times, that compiling was most of a task's time on a platform.
This keeps the code objects, keyed by the interpreter's magic number and the source bytes, in
CACHE_DIR, and gives each the file name of the zip it is loaded from. Same source, same code: what a
module does is unchanged, only how fast it starts. Lab only: a host the collection manages has no
such cache, and the benchmarks (which measure what such a host pays) run without it.
"""

import _imp
import marshal
import os
import zipimport
from importlib._bootstrap_external import MAGIC_NUMBER

CACHE_DIR = '/var/cache/netops-lab-compile'
CODE_TYPE = type(compile('', '', 'exec'))
_compile_from_source = getattr(zipimport, '_compile_source', None)
_loaded = {}


def _cached_path(source):
    import hashlib
    return os.path.join(CACHE_DIR, hashlib.sha256(MAGIC_NUMBER + source).hexdigest())


def _read(path):
    try:
        with open(path, 'rb') as handle:
            code = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, CODE_TYPE) else None


def _write(path, code):
    temporary = '%s.%d.tmp' % (path, os.getpid())
    try:
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        with open(temporary, 'wb') as handle:
            handle.write(marshal.dumps(code))
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def compile_source(pathname, source):
    """zipimport's _compile_source, from the cache when the same source was compiled before."""
    key = (pathname, source)
    code = _loaded.get(key)
    if code is None:
        path = _cached_path(source)
        code = _read(path)
        if code is None:
            code = _compile_from_source(pathname, source)
            _write(path, code)
        else:
            _imp._fix_co_filename(code, pathname)
        _loaded[key] = code
    return code


if _compile_from_source is not None:
    zipimport._compile_source = compile_source
