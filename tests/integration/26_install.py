"""26 install: `meson install --destdir` of the build dir that holds $HYDRANT_BIN (issue 16 item
6): the broker and the built publishers executable under bindir, the viewer under
datadir/hydrant/web (the broker's installed web-root), the sample configuration with every key
of `hydrant --help` and its default, the sysusers.d entry, and the systemd units, whose paths
must name what was installed. `systemd-analyze verify` runs on the units when it is installed,
with the units' absolute paths moved under the destdir (the units are not on this system, and
this container runs no systemd as PID 1: verify checks syntax and that each ExecStart program
exists and is executable, not that the service starts).
"""

import configparser
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import ROOT, Skip, case, hydrant_bin

PUBLISHERS = ("pipe", "gerrit", "bugzilla", "hg")
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"


def build_dir():
    b = hydrant_bin()
    if not b or not os.path.exists(b):
        raise Skip("hydrant binary not found")
    d = os.path.dirname(os.path.dirname(os.path.realpath(b)))
    if not os.path.exists(os.path.join(d, "meson-private", "coredata.dat")):
        raise Skip(f"{d} is not a Meson build directory")
    if not shutil.which("meson"):
        raise Skip("meson is not installed")
    return d


def help_settings():
    """{key: default} from the Settings section of `hydrant --help`, read as make_conf.py reads
    it (the sample and this check cannot disagree on what a key's entry says)."""
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        "make_conf", os.path.join(root, "broker", "deploy", "make_conf.py"))
    make_conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_conf)
    res = subprocess.run([hydrant_bin(), "--help"], capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    out = {name: default for name, _, _, default in make_conf.keys(res.stdout)}
    assert len(out) > 30, out
    return out


def sample_settings(text):
    """{key: default} of the sample: each `# KEY = METAVAR` heading, then `#   default: X`."""
    out = {}
    key = None
    for line in text.splitlines():
        m = re.fullmatch(r"# ([a-z0-9-]+) = \S+", line)
        if m:
            key = m.group(1)
            continue
        m = re.fullmatch(r"#   default: (.*)", line)
        if m and key:
            assert key not in out, f"{key} is listed twice"
            out[key] = m.group(1)
            key = None
    return out


def read_unit(path):
    p = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    p.optionxform = str
    with open(path) as f:
        text = f.read()
    assert not re.search(r"@[A-Z_]+@", text), f"{path}: an unsubstituted @VAR@"
    p.read_string(text)
    return p, text


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


@case(versions=None, start_broker=False, hydrant_only="hydrant's install", timeout=300)
def meson_install_tree(t):
    """meson install --destdir installs hydrant, the built publishers, the viewer, the sample
    configuration, the sysusers.d entry and the units, with consistent paths."""
    build = build_dir()
    opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", build], capture_output=True, text=True,
        check=True, timeout=60).stdout)}
    prefix = opts["prefix"]
    bindir = os.path.join(prefix, opts["bindir"])
    sysconfdir = os.path.join(prefix, opts["sysconfdir"])
    datadir = os.path.join(prefix, opts["datadir"])
    dest = tempfile.mkdtemp(prefix="hydrant-install-")
    try:
        res = subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                              "--quiet"], capture_output=True, text=True, timeout=240)
        assert res.returncode == 0, f"meson install failed:\n{res.stdout}\n{res.stderr}"

        def executable(path):
            p = under(dest, path)
            assert os.path.isfile(p) and os.access(p, os.X_OK), f"not installed executable: {path}"

        executable(os.path.join(bindir, "hydrant"))
        built = [n for n in PUBLISHERS
                 if os.path.exists(os.path.join(build, "publishers", n, f"hydrant-{n}"))]
        for n in built:
            executable(os.path.join(bindir, f"hydrant-{n}"))
        for f in ("index.html", "app.js", "app.css"):
            assert os.path.isfile(under(dest, os.path.join(datadir, "hydrant", "web", f))), \
                f"viewer file {f} not installed"

        conf = os.path.join(sysconfdir, "hydrant", "hydrant.conf")
        conf_text = open(under(dest, conf)).read()
        assert sample_settings(conf_text) == help_settings(), "installed sample differs from --help"
        assert f"{sysconfdir}/hydrant/hydrant.conf" in conf_text

        units = {}
        sysusers = None
        for d, _, files in os.walk(dest):
            for f in files:
                if f.endswith(".service"):
                    units[f] = os.path.join(d, f)
                if d.endswith("sysusers.d") and f == "hydrant.conf":
                    sysusers = os.path.join(d, f)
        assert sysusers and re.search(r"(?m)^u hydrant ", open(sysusers).read()), \
            "no sysusers.d/hydrant.conf creating the user hydrant"
        expected = {"hydrant.service"} | {f"hydrant-{n}.service" for n in built}
        assert set(units) == expected, f"units {sorted(units)}, expected {sorted(expected)}"
        for path in units.values():
            assert os.path.dirname(path).endswith("/lib/systemd/system"), path

        unit, _ = read_unit(units["hydrant.service"])
        s = unit["Service"]
        exec_start = s["ExecStart"].split()
        assert exec_start[0] == os.path.join(bindir, "hydrant"), exec_start
        assert exec_start[exec_start.index("--config") + 1] == conf, exec_start
        assert exec_start[exec_start.index("--data") + 1] == "/var/lib/hydrant", exec_start
        for key, value in (("User", "hydrant"), ("StateDirectory", "hydrant"),
                           ("ConfigurationDirectory", "hydrant"), ("NoNewPrivileges", "yes"),
                           ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                           ("PrivateTmp", "yes"), ("ExecReload", "/bin/kill -HUP $MAINPID")):
            assert s.get(key) == value, f"hydrant.service: {key}={s.get(key)}, expected {value}"
        assert int(s["LimitNOFILE"]) >= 65536
        assert unit["Install"]["WantedBy"] == "multi-user.target"

        for n in built:
            unit, _ = read_unit(units[f"hydrant-{n}.service"])
            u, s = unit["Unit"], unit["Service"]
            assert "hydrant.service" in u["After"].split(), f"{n}: After={u['After']}"
            assert "hydrant.service" in u["Wants"].split(), f"{n}: Wants={u['Wants']}"
            exec_start = s["ExecStart"].split()
            assert exec_start[0] == os.path.join(bindir, f"hydrant-{n}"), exec_start
            assert exec_start[exec_start.index("--token-file") + 1] == "%d/token", exec_start
            token = os.path.join(sysconfdir, "hydrant", f"{n}.token")
            assert s["LoadCredential"] == f"token:{token}", s["LoadCredential"]
            env = s["EnvironmentFile"]
            assert env == os.path.join(sysconfdir, "hydrant", f"{n}.env"), env
            assert "HYDRANT_CLIENT_ID=" in open(under(dest, env)).read(), env
            assert s["DynamicUser"] == "yes" and s["NoNewPrivileges"] == "yes"

        if not os.path.exists(SYSTEMD_ANALYZE):
            t.note("systemd-analyze not installed: units checked by parsing only")
            return
        # The units name /usr/local/... (or the prefix); verify sees them under the destdir.
        vdir = os.path.join(dest, "verify")
        os.makedirs(vdir)
        for name, path in units.items():
            text = open(path).read()
            text = text.replace(bindir + "/", under(dest, bindir) + "/")
            with open(os.path.join(vdir, name), "w") as f:
                f.write(text)
        res = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no",
                              *[os.path.join(vdir, n) for n in sorted(units)]],
                             capture_output=True, text=True, timeout=60)
        out = res.stdout + res.stderr
        # Lines about this container (no systemd as PID 1, no D-Bus) are not the units' fault.
        mine = [l for l in out.splitlines()
                if any(n in l for n in units) or "ExecStart" in l or "Unknown" in l]
        assert res.returncode == 0 and not mine, f"systemd-analyze verify (exit {res.returncode}):\n{out}"
    finally:
        shutil.rmtree(dest, ignore_errors=True)


@case(versions=None, start_broker=False, hydrant_only="hydrant's config keys")
def conf_sample_has_every_key_and_default(t):
    """broker/deploy/hydrant.conf lists every key of `hydrant --help` once, with the same
    default (regenerate it with broker/deploy/make_conf.py), and its literal `#KEY = VALUE`
    lines are what --help says."""
    if not hydrant_bin() or not os.path.exists(hydrant_bin()):
        raise Skip("hydrant binary not found")
    text = open(os.path.join(ROOT, "broker", "deploy", "hydrant.conf")).read()
    sample, want = sample_settings(text), help_settings()
    missing = sorted(set(want) - set(sample))
    extra = sorted(set(sample) - set(want))
    wrong = {k: (sample[k], want[k]) for k in want if k in sample and sample[k] != want[k]}
    assert not missing and not extra and not wrong, (
        f"hydrant.conf: missing {missing}, unknown {extra}, defaults differ {wrong} "
        "(broker/deploy/make_conf.py HYDRANT_BIN > broker/deploy/hydrant.conf)")
    for key, value in re.findall(r"(?m)^#([a-z0-9-]+) = (.*)$", text):
        assert want.get(key) == value, f"#{key} = {value}, --help says {want.get(key)}"
    active = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert not active, f"the sample sets something: {active}"
