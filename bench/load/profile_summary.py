#!/usr/bin/env python3
"""Summarises `perf script -F tid,ip,sym,dso` output of a server profile
(bench/load/profile.sh) by thread role and by what the CPU was spent on.

Roles: the thread with most samples in SQLite is the writer; the thread with
most samples under epoll is the I/O thread; every other thread is a worker
(or idle main/reader), except the one with most file I/O besides those two
(at least 1% of the samples): the background checkpointer. Categories are taken from the whole stack of each
sample, first match wins, so every sample lands in exactly one:
  sched/futex  waking or switching threads (futex, schedule, try_to_wake_up)
  file I/O     write/fsync/read of the database and WAL (ext4, block layer, pread/pwrite)
  network      sockets, epoll
  sqlite       user-space SQLite
  malloc       libc allocator
  libc other   memcpy/memcmp/mutex fast paths
  ours         the server and library code (and libstdc++/boost)
  other        anything else
Usage: perf script -i perf.data -F tid,ip,sym,dso | profile_summary.py REQUESTS
"""
import collections
import re
import sys

requests = int(sys.argv[1]) if len(sys.argv) > 1 else 0
samples = []  # (tid, [(sym, dso), ...]) leaf first
tid, stack = None, []
for line in sys.stdin:
    if not line.strip():
        if tid is not None:
            samples.append((tid, stack))
        tid, stack = None, []
        continue
    if not line.startswith("\t"):
        tid, stack = line.split()[0], []
        continue
    m = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)\s*$", line)
    if m:
        stack.append((m.group(1), m.group(2)))
if tid is not None:
    samples.append((tid, stack))


def category(stack):
    syms = " ".join(s for s, _ in stack)
    leaf_sym, leaf_dso = stack[0] if stack else ("", "")
    if re.search(r"futex|schedule|try_to_wake_up|finish_task_switch|pthread_cond|lll_lock|sched_yield", syms):
        return "sched/futex"
    if re.search(r"ext4|blk_|bio|fsync|vfs_write|vfs_read|pwrite|pread|filemap|folio|iomap|jbd2|mpage", syms):
        return "file I/O"
    if re.search(r"tcp|sock|epoll|inet|ip_|skb|net_rx|__sys_sendto|__sys_recvfrom|sendmsg|recvmsg", syms):
        return "network"
    if "kallsyms" in leaf_dso:
        return "kernel other"
    if "sqlite" in leaf_dso:
        return "sqlite"
    if re.search(r"malloc|free|_int_|unlink_chunk|tcache", leaf_sym) and "libc" in leaf_dso:
        return "malloc"
    if "libc" in leaf_dso:
        return "libc other"
    return "ours"


per_thread = collections.Counter(t for t, _ in samples)
sqlite_by_thread = collections.Counter(t for t, s in samples if s and "sqlite" in s[0][1])
epoll_by_thread = collections.Counter(t for t, s in samples if any("epoll" in x for x, _ in s))
writer = sqlite_by_thread.most_common(1)[0][0] if sqlite_by_thread else None
io = next((t for t, _ in epoll_by_thread.most_common() if t != writer), None)
# The checkpointer: the other thread with most file I/O (its SQLite frames
# often lack a frame pointer, so its stacks rarely reach the checkpoint call).
fileio_by_thread = collections.Counter(t for t, s in samples if category(s) == "file I/O" and t not in (writer, io))
checkpointer = fileio_by_thread.most_common(1)[0][0] if fileio_by_thread else None
if checkpointer and fileio_by_thread[checkpointer] < 0.01 * len(samples):
    checkpointer = None


def role(t):
    if t == writer:
        return "writer"
    if t == checkpointer:
        return "checkpointer"
    return "io" if t == io else "workers+other"


total = len(samples)
cats = ["sched/futex", "file I/O", "network", "kernel other", "sqlite", "malloc", "libc other", "ours"]
table = collections.defaultdict(collections.Counter)
for t, s in samples:
    table[role(t)][category(s)] += 1
print(f"samples: {total}" + (f", requests: {requests}" if requests else ""))
print("| thread | share | " + " | ".join(cats) + " |")
print("|---|---|" + "---|" * len(cats))
for r in ("writer", "checkpointer", "io", "workers+other"):
    row = table[r]
    n = sum(row.values())
    print(f"| {r} | {100*n/total:.1f}% | " + " | ".join(f"{100*row[c]/total:.1f}%" for c in cats) + " |")
allrow = collections.Counter()
for r in table.values():
    allrow.update(r)
print("| all | 100% | " + " | ".join(f"{100*allrow[c]/total:.1f}%" for c in cats) + " |")
print()
print("top leaf symbols on the writer:")
leaf = collections.Counter(s[0][0] + " (" + s[0][1].split("/")[-1] + ")" for t, s in samples if t == writer and s)
for name, n in leaf.most_common(15):
    print(f"  {100*n/total:5.1f}%  {name[:110]}")
