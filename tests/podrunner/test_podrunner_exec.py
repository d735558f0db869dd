"""`irsa exec` end to end against a real `irsa up` process, with the real AWS CLI as the command.

Expected values: assumed-role ARN format arn:aws:sts::<account>:assumed-role/<role>/<session> (AWS STS docs);
env names and token volume from webhook.md §2.3/§2.5; refresh before 80% of the lifetime (issuer-cli-and-doctor.md
§1.9); shell exit-code conventions (128 + signal; 126/127 for a command that cannot run).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from tests.service.helpers import eksctl_trust_policy, irsa

ACCOUNT = "210987654321"  # the irsa_up fixture's account
REGION = "eu-west-1"

# Run inside the pod: report what the process sees, as JSON on stdout.
INSPECT = r'''
import base64, json, os, stat, sys
env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "BOTO_"))}
out = {"env": env}
path = env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
if path:
    token = open(path).read()
    payload = token.split(".")[1]
    out["claims"] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    vol = os.path.dirname(path)
    out["modes"] = {"file": stat.S_IMODE(os.stat(path).st_mode), "volume": stat.S_IMODE(os.stat(vol).st_mode),
                    "root": stat.S_IMODE(os.stat(os.path.dirname(vol)).st_mode)}
    out["root"] = os.path.dirname(vol)
for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG"):
    out.setdefault("sizes", {})[name] = os.path.getsize(env[name])
print(json.dumps(out))
'''

# Run inside the pod: wait for the kubelet-style refresh, then use the new token.
WATCH = r'''
import base64, json, os, sys, time
import boto3
from botocore import UNSIGNED
from botocore.config import Config

def claims(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))

path = os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"]
first = open(path).read()
inode = os.stat(path).st_ino
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    current = open(path).read()
    if current != first:
        break
    time.sleep(0.05)
else:
    print(json.dumps({"changed": False}))
    sys.exit(3)
sts = boto3.client("sts", config=Config(signature_version=UNSIGNED))
arn = sts.assume_role_with_web_identity(RoleArn=os.environ["AWS_ROLE_ARN"], RoleSessionName="after-refresh",
                                        WebIdentityToken=current)["AssumedRoleUser"]["Arn"]
print(json.dumps({"changed": True, "old": claims(first), "new": claims(current), "arn": arn,
                  "replaced": os.stat(path).st_ino != inode, "files": sorted(os.listdir(os.path.dirname(path)))}))
'''


def _exec(data: Path, env: dict, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "irsa.cli.exec", "--data-dir", str(data), *args],
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _admin(data: Path) -> dict:
    return json.loads((data / "admin-credentials.json").read_text())


def _cluster_with_role(irsa_up, role_sa: str = "app") -> tuple[str, str]:
    """Cluster c1, its OIDC provider, a role trusting default/<role_sa> (eksctl's trust policy), and the SA
    annotated with the role. Returns (role name, role ARN)."""
    port, _, data, env = irsa_up
    issuer = irsa("cluster", "create", "c1", "--data-dir", str(data), env=env).stdout.strip()
    admin = _admin(data)
    iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                       aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    trust = eksctl_trust_policy(provider, issuer.removeprefix("https://"), "default", role_sa)
    role_arn = iam.create_role(RoleName="pod-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    irsa("serviceaccount", "create", role_sa, "--cluster", "c1", "--annotation", f"eks.amazonaws.com/role-arn={role_arn}",
         "--data-dir", str(data), env=env)
    return "pod-role", role_arn


def _polluted_parent(irsa_up, tmp_path: Path) -> dict:
    """A shell that ran `eval $(irsa env)` (admin keys) and has every other credential source set too."""
    port, _, data, env = irsa_up
    admin = _admin(data)
    profile = tmp_path / "config"
    profile.write_text("[profile other]\naws_access_key_id = AKIAPARENTPROFILE00\naws_secret_access_key = x\n"
                       "[default]\naws_access_key_id = AKIAPARENTDEFAULT00\naws_secret_access_key = x\n")
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIAPARENTCREDS0000\naws_secret_access_key = x\n")
    return {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": admin["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": admin["SecretAccessKey"],
            "AWS_SESSION_TOKEN": "parent-session", "AWS_SECURITY_TOKEN": "parent-session", "AWS_PROFILE": "other",
            "AWS_DEFAULT_PROFILE": "other", "AWS_CONFIG_FILE": str(profile), "AWS_SHARED_CREDENTIALS_FILE": str(creds),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "parent", "AWS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/parent-role",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "parent-token"), "AWS_EC2_METADATA_DISABLED": "false"}


SCRUBBED = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN")


def test_role_sa_gets_the_assumed_role_and_nothing_else(irsa_up, tmp_path):
    _, _, data, _ = irsa_up
    role_name, role_arn = _cluster_with_role(irsa_up)
    parent = _polluted_parent(irsa_up, tmp_path)

    run = _exec(data, parent, "--cluster", "c1", "--service-account", "app", "-v", "--",
                sys.executable, "-m", "awscli", "sts", "get-caller-identity")
    assert run.returncode == 0, run.stderr
    ident = json.loads(run.stdout)
    assert ident["Account"] == ACCOUNT
    assert ident["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/")
    assert re.search(r"pod default/app-[bcdfghjklmnpqrstvwxz2456789]{5}: token \(audience sts\.amazonaws\.com, 86400s\)",
                     run.stderr), run.stderr

    script = tmp_path / "inspect.py"
    script.write_text(INSPECT)
    run = _exec(data, parent, "--cluster", "c1", "--service-account", "app", "--pod-name", "web-0", "--",
                sys.executable, str(script))
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    env = seen["env"]
    for name in SCRUBBED:
        assert name not in env, name
    assert env["AWS_ROLE_ARN"] == role_arn
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_ENDPOINT_URL"] == parent["AWS_ENDPOINT_URL"]
    root = Path(seen["root"])
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(root / "aws-iam-token" / "token")
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG"):
        assert Path(env[name]).parent == root and seen["sizes"][name] == 0
    assert seen["modes"] == {"file": 0o600, "volume": 0o700, "root": 0o700}
    claims = seen["claims"]
    assert claims["aud"] == ["sts.amazonaws.com"] and claims["exp"] - claims["iat"] == 86400
    assert claims["sub"] == "system:serviceaccount:default:app"
    assert claims["kubernetes.io"]["pod"]["name"] == "web-0"
    assert not root.exists()  # cleaned up after the command


def test_sa_without_role_has_no_credentials(irsa_up, tmp_path):
    _, _, data, env = irsa_up
    _cluster_with_role(irsa_up)
    irsa("serviceaccount", "create", "plain", "--cluster", "c1", "--data-dir", str(data), env=env)
    parent = _polluted_parent(irsa_up, tmp_path)

    script = tmp_path / "inspect.py"
    script.write_text(INSPECT)
    run = _exec(data, parent, "--cluster", "c1", "--service-account", "plain", "--", sys.executable, str(script))
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)["env"]
    assert "AWS_ROLE_ARN" not in seen and "AWS_WEB_IDENTITY_TOKEN_FILE" not in seen
    for name in SCRUBBED:
        assert name not in seen, name

    run = _exec(data, parent, "--cluster", "c1", "--service-account", "plain", "--",
                sys.executable, "-m", "awscli", "sts", "get-caller-identity")
    assert run.returncode != 0 and "Unable to locate credentials" in run.stderr, (run.stdout, run.stderr)

    # a ServiceAccount that does not exist: the pod cannot be created, nothing runs
    run = _exec(data, parent, "--cluster", "c1", "--service-account", "ghost", "--", "true")
    assert run.returncode == 125 and 'serviceaccounts "ghost" not found' in run.stderr
    run = _exec(data, parent, "--cluster", "c1", "--service-account", "plain", "--", "no-such-command-irsa")
    assert run.returncode == 127 and "command not found" in run.stderr


def _start(data: Path, env: dict, *command: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "irsa.cli.exec", "--data-dir", str(data), "--cluster", "c1",
                             "--service-account", "app", "-v", "--", *command],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def test_exit_codes_and_signals(irsa_up, tmp_path):
    _, _, data, env = irsa_up
    _cluster_with_role(irsa_up)
    assert _exec(data, env, "--cluster", "c1", "--service-account", "app", "--", "sh", "-c", "exit 3").returncode == 3

    ready = 'import os, sys, time; print(os.path.dirname(os.path.dirname(os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"])), flush=True)'
    cases = [
        (signal.SIGTERM, ready + "; time.sleep(60)", 128 + signal.SIGTERM),  # default action: killed
        (signal.SIGINT, "import signal; signal.signal(signal.SIGINT, signal.SIG_DFL); " + ready + "; time.sleep(60)",
         128 + signal.SIGINT),
        (signal.SIGHUP, "import signal; signal.signal(signal.SIGHUP, lambda *a: sys.exit(7)); " + ready + "; time.sleep(60)", 7),
    ]
    for sig, code, expected in cases:
        proc = _start(data, env, sys.executable, "-c", code)
        root = Path(proc.stdout.readline().strip())  # the child is running
        assert root.is_dir()
        proc.send_signal(sig)  # to `irsa exec`, which passes it on
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == expected, (sig, proc.returncode, err)
        assert f"forwarded {sig.name} to " in err
        assert not root.exists()

    # Ctrl-C on a terminal: the kernel signals the whole foreground process group, so the command already has
    # its SIGINT and `irsa exec` must not send a second one
    pid, fd = pty.fork()
    if pid == 0:  # the session leader on the new terminal, like a shell's foreground job
        os.execve(sys.executable, [sys.executable, "-m", "irsa.cli.exec", "--data-dir", str(data), "--cluster", "c1",
                                   "--service-account", "app", "-v", "--", sys.executable, "-c", TTY_CHILD], env)
    output = _read_pty(fd, b"ready")
    os.write(fd, b"\x03")  # the terminal's INTR character
    output += _read_pty(fd, b"exiting")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 5, output
    assert b"got SIGINT" in output and b"forwarded SIGINT" not in output, output


TTY_CHILD = r'''
import signal, sys, time
got = []
signal.signal(signal.SIGINT, lambda *a: got.append(1))
print("ready", flush=True)
end = time.monotonic() + 30
while not got and time.monotonic() < end:
    time.sleep(0.05)
time.sleep(0.5)
print("got SIGINT" if got else "no SIGINT", "exiting", flush=True)
sys.exit(5)
'''


def _read_pty(fd: int, until: bytes, timeout: float = 30) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while until not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the terminal's last process has gone
                break
            out += chunk
    return out


def test_token_refreshed_before_80_percent_while_running(irsa_up, tmp_path):
    _, _, data, env = irsa_up
    role_name, _ = _cluster_with_role(irsa_up)
    script = tmp_path / "watch.py"
    script.write_text(WATCH)
    # 10-minute tokens (the kube minimum), time running 200x: 80% of the lifetime is 2.4 s of real time
    run = _exec(data, env, "--cluster", "c1", "--service-account", "app", "--token-expiration-seconds", "600",
                "--time-scale", "200", "-v", "--", sys.executable, str(script))
    assert run.returncode == 0, (run.stdout, run.stderr)
    seen = json.loads(run.stdout)
    assert seen["changed"] and seen["replaced"] and seen["files"] == ["token"]
    old, new = seen["old"], seen["new"]
    assert old["exp"] - old["iat"] == 600 and new["exp"] - new["iat"] == 600
    assert new["jti"] != old["jti"] and new["kubernetes.io"]["pod"] == old["kubernetes.io"]["pod"]
    assert seen["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/after-refresh"
    ages = [float(a) for a in re.findall(r"refreshed the token at age ([0-9.]+)s", run.stderr)]
    assert ages and all(age < 480.0 for age in ages), run.stderr  # simulated seconds: before 8 of 10 minutes

    too_short = _exec(data, env, "--cluster", "c1", "--service-account", "app", "--token-expiration-seconds", "599", "--", "true")
    assert too_short.returncode == 2 and "600" in too_short.stderr
