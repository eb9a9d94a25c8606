#!/usr/bin/env python3
"""Rewrites symbol-order.txt: the functions a run executes, most executed first.

The release binaries are linked with this list (see order.rs): the functions it names are laid
out together at the start of the code, so a run touches a few hundred KiB of code pages
instead of pages scattered over 13 MB. This script makes the list from what the runs execute,
measured with callgrind (valgrind):

  - `wsc-bench client engine` and `client baseline`, one page at a time and with pages in
    flight, against `wsc-bench serve` (100,000 users);
  - `wsc aggregate connectors/demo.yaml`, accounts and groups, against `wsc demo --serve`.

Usage (from the workspace root; needs valgrind, takes a few minutes after the builds):

    cargo build --release -p wsc-bench
    cargo build --release -p wsc-cli
    python3 crates/wsc-cli/link/regen.py [--target-dir target]

Build the two packages with two commands, as README and docs/performance.md build them: the
names are mangled with a hash of each crate's version and *features*, and one command for
both builds every crate with the features both need (other names). Then rebuild: the
binaries are relinked with the new list. A name that no longer exists is skipped by the
linker, so a stale list only loses part of the gain; regenerate it after large changes
(docs/performance.md, "Memory", says how to check what it gives).
"""

import argparse
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited early ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def callgrind(cmd, out, env=None):
    """Runs `cmd` under callgrind, writing its profile to `out`."""
    full = ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}"]
    r = subprocess.run(full + cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed under callgrind:\n{r.stderr[-3000:]}")


def self_costs(path, cost):
    """Adds each function's self cost (instructions) in a callgrind profile to `cost`."""
    ids = {}
    current = None
    inclusive = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, i, name = m.groups()
                if name is not None:
                    ids[i] = re.sub(r"'\d+$", "", name)
                name = ids.get(i)
                cost[name] += 0
                if kind == "fn":
                    current = name
                continue
            if line.startswith("calls="):
                inclusive = True  # the next cost line is the call's, not the caller's own
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if inclusive:
                    inclusive = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and current and parts[1].isdigit():
                    cost[current] += int(parts[1])


def defined_functions(binary):
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                         check=True).stdout
    return {p[2] for p in (l.split() for l in out.splitlines()) if len(p) == 3 and p[1] in "tTwW"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", "target"))
    args = ap.parse_args()
    release = os.path.join(args.target_dir, "release")
    bench = os.path.join(release, "wsc-bench")
    wsc = os.path.join(release, "wsc")
    for b in (bench, wsc):
        if not os.access(b, os.X_OK):
            sys.exit(f"{b} is missing: cargo build --release -p wsc-bench; "
                     "cargo build --release -p wsc-cli")
    cost = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        # The benchmark clients.
        port = free_port()
        server = subprocess.Popen([bench, "serve", "--users", "100000", "--port", str(port),
                                   "--token", "t"], stdout=subprocess.DEVNULL)
        try:
            wait_port(port, server)
            for client in ("engine", "baseline"):
                for paging in ("seq", "conc"):
                    out = os.path.join(tmp, f"{client}.{paging}.cg")
                    print(f"callgrind: wsc-bench client {client} --paging {paging}")
                    callgrind([bench, "client", client, "--url", f"http://127.0.0.1:{port}",
                               "--token", "t", "--paging", paging], out)
                    self_costs(out, cost)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait()
        # `wsc aggregate` through connectors/demo.yaml against `wsc demo --serve`.
        port = free_port()
        demo = subprocess.Popen([wsc, "demo", "--serve", "--port", str(port), "--users", "20000"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=ROOT)
        try:
            secret = None
            deadline = time.time() + 60
            while secret is None and time.time() < deadline:
                line = demo.stdout.readline()
                if not line:
                    break
                m = re.search(r"\b(demo-[0-9a-f]{32})\b", line)
                if m:
                    secret = m.group(1)
            if secret is None:
                sys.exit("`wsc demo --serve` did not print its client secret")
            # Keep reading what it prints, so a full pipe never stops the server.
            threading.Thread(target=demo.stdout.read, daemon=True).start()
            wait_port(port, demo)
            env = dict(os.environ, WSC_BASE_URL=f"http://127.0.0.1:{port}",
                       WSC_CLIENT_SECRET=secret)
            for obj in ("account", "group"):
                out = os.path.join(tmp, f"wsc.{obj}.cg")
                print(f"callgrind: wsc aggregate connectors/demo.yaml --object {obj}")
                callgrind([wsc, "aggregate", os.path.join(ROOT, "connectors", "demo.yaml"),
                           "--object", obj, "--out", os.path.join(tmp, f"{obj}.jsonl")], out,
                          env)
                self_costs(out, cost)
        finally:
            demo.send_signal(signal.SIGINT)
            demo.wait()
    known = defined_functions(bench) | defined_functions(wsc)
    order = [name for name, _ in cost.most_common() if name in known]
    path = os.path.join(HERE, "symbol-order.txt")
    with open(path + ".tmp", "w") as f:
        f.write("".join(n + "\n" for n in order))
    os.replace(path + ".tmp", path)
    print(f"{path}: {len(order)} functions")


if __name__ == "__main__":
    main()
