"""What scripts/docs-examples removes after each doc's run, failed or not: the processes the
doc left, the daemons and sandboxes of every Baton root under its private directory, their
networks and runtime directories, mounts, and the directory itself."""

import os
import shutil
import signal
import subprocess
import time


def end_group(pgid):
    """SIGTERM to what the doc left running (a daemon shuts down cleanly), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def roots_under(work):
    roots = []
    for directory, subdirectories, files in os.walk(work):
        if directory.count("/") - work.count("/") > 4:
            subdirectories[:] = []
            continue
        if "daemon.lock" in files or "state.db" in files or "sandboxes" in subdirectories or \
                ("store" in subdirectories and os.path.exists(os.path.join(directory, "store", "oci-layout"))):
            roots.append(directory)
            subdirectories[:] = []
    return roots


def clean_up(work, build_dir):
    """Removes what the run left; returns failures for what cannot be removed."""
    failures = []
    for root in roots_under(work):
        try:
            holder = int(open(os.path.join(root, "daemon.lock")).read().strip() or "0")
            if holder > 0 and b"baton" in open(f"/proc/{holder}/cmdline", "rb").read():
                os.kill(holder, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        sandboxes = os.path.join(root, "sandboxes")
        for sandbox in os.listdir(sandboxes) if os.path.isdir(sandboxes) else []:
            kill_cgroup(sandbox)
        bridge = bridge_of(root)
        subprocess.run([os.path.join(build_dir, "baton"), "network", "rm", "--root", root],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(runtime_directory(root), ignore_errors=True)
        left = [sandbox for sandbox in (os.listdir(sandboxes) if os.path.isdir(sandboxes) else [])
                if os.path.isdir(f"/sys/fs/cgroup/baton/{sandbox}") or any(
                    os.path.isdir(f"/sys/fs/cgroup/{controller}/baton/{sandbox}") for controller in os.listdir("/sys/fs/cgroup"))]
        if left:
            failures.append(f"sandbox cgroups left for {root}: {left}")
        if os.path.exists(f"/sys/class/net/{bridge}"):
            failures.append(f"the bridge {bridge} of {root} is still there after 'baton network rm'")
    for mount in reversed(mounts_under(work)):
        subprocess.run(["umount", "-l", mount], stderr=subprocess.DEVNULL)
    if mounts_under(work):
        failures.append(f"mounts left under {work}: {mounts_under(work)}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return failures


def kill_cgroup(sandbox):
    candidates = [f"/sys/fs/cgroup/baton/{sandbox}"]
    candidates += [f"/sys/fs/cgroup/{controller}/baton/{sandbox}" for controller in os.listdir("/sys/fs/cgroup")]
    for cgroup in candidates:
        if not os.path.isdir(cgroup):
            continue
        for _ in range(100):
            try:
                pids = open(os.path.join(cgroup, "cgroup.procs")).read().split()
            except OSError:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(cgroup)
                break
            except OSError:
                time.sleep(0.1)


def bridge_of(root):
    """NetworkSettings: the bridge the root's settings name, else bt-<FNV-1a 32 of its path>."""
    try:
        return open(os.path.join(root, "network", "settings")).read().split("\n")[0]
    except OSError:
        value = 0x811c9dc5
        for byte in root.encode():
            value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
        return f"bt-{value:08x}"


def runtime_directory(root):
    """RuntimeDirectory.path(root:): /run/baton/<FNV-1a 64 of the root's path, hex>."""
    value = 0xcbf29ce484222325
    for byte in root.encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"/run/baton/{value:x}"


def mounts_under(work):
    found = []
    with open("/proc/self/mountinfo") as file:
        for line in file:
            point = line.split()[4].replace("\\040", " ")
            if point == work or point.startswith(work + "/"):
                found.append(point)
    return found
