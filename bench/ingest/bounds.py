#!/usr/bin/env python3
"""Writes inputs made to grow gvcheck check's memory, each just inside the
bounds of internal/ingest/bounds.go (or past them), for bench/ingest/bounds.sh:
    bounds.py DIR
"""
import os
import sys

d = sys.argv[1]
MiB = 1 << 20


def write(name, gen):
    with open(os.path.join(d, name), "w") as f:
        for chunk in gen():
            f.write(chunk)


def big_yaml():
    yield ("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n"
           "metadata:\n  name: big\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n")
    n = 0
    line = "  - action: SCMP_ACT_ALLOW\n    names: [read, write, openat, close]\n"
    while n + len(line) < 4 * MiB - 1000:
        yield line
        n += len(line)


def big_json():
    yield '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": ['
    n = 0
    item = '{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},'
    while n + len(item) < 16 * MiB - 200:
        yield item
        n += len(item)
    yield '{"names": ["close"], "action": "SCMP_ACT_ALLOW"}]}'


def long_line():
    yield '1 write(1, "' + "x" * (64 * MiB - 64) + '", 10) = 10\n'


def many_exes():
    # 8000 executables, each making calls of 30 syscall numbers (240000
    # distinct pairs).
    for e in range(8000):
        yield '%d execve("/bin/x%d", ["x"], 0x0 /* 0 vars */) = 0\n' % (e + 2, e)
        for nr in range(e % 900, e % 900 + 30):
            yield "%d syscall_%#x(0) = 0\n" % (e + 2, nr)


def many_keys():
    # 65000 distinct ioctl requests and prctl options.
    for i in range(32500):
        yield "1 ioctl(3, %#x, 0) = -1 ENOTTY (Inappropriate ioctl for device)\n" % (0x10000 + i)
        yield "1 prctl(%#x, 0, 0, 0, 0) = -1 EINVAL (Invalid argument)\n" % (0x1000 + i)


def many_live():
    # 260000 processes alive at once.
    for i in range(260000):
        yield "1 clone(child_stack=NULL, flags=SIGCHLD) = %d\n" % (i + 2)
    for i in range(260000):
        yield "%d getpid() = %d\n" % (i + 2, i + 2)


def distinct_names():
    for i in range(3000000):
        yield "syscall_%d\n" % (1000 + i)


for name, gen in [("yaml-4MiB.yaml", big_yaml), ("json-16MiB.json", big_json), ("line-64MiB.log", long_line),
                  ("exes-8000.log", many_exes), ("keys-65000.log", many_keys), ("live-260000.log", many_live),
                  ("names-3M.txt", distinct_names)]:
    write(name, gen)
