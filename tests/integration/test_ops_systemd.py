"""config/systemd/havend.service: systemd itself accepts it, and it keeps the hardening the
operations guide promises. Skipped where systemd-analyze is not installed."""

import re
import shutil
import subprocess

import pytest

import harness

UNIT = harness.REPO / "config" / "systemd" / "havend.service"
ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _settings():
    out = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


@pytest.fixture
def unit(tmp_path):
    """The unit, with ExecStart pointing at the havend under test (verify checks that the
    program exists and is executable)."""
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/usr/local/bin/havend " in text
    path = tmp_path / "havend.service"
    path.write_text(text.replace("/usr/local/bin/havend", str(harness.havend_binary())),
                    encoding="utf-8")
    return path


def test_systemd_analyze_verify_is_clean(unit):
    proc = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60, cwd=unit.parent)
    # Unknown keys and bad values are only warnings (exit 0): any word about our unit fails.
    said = [l for l in (proc.stdout + proc.stderr).splitlines() if "havend" in l]
    assert proc.returncode == 0 and not said, proc.stdout + proc.stderr


def test_security_exposure_is_low(unit):
    proc = subprocess.run([ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
                          capture_output=True, text=True, timeout=60, cwd=unit.parent)
    m = re.search(r"Overall exposure level for havend\.service: ([0-9.]+)", proc.stdout)
    if proc.returncode != 0 and not m:
        pytest.skip(f"systemd-analyze security --offline is not available: {proc.stderr}")
    assert m, proc.stdout
    assert float(m.group(1)) <= 2.0, proc.stdout


def test_unit_has_the_promised_settings():
    s = _settings()
    for key, value in {
        "User": "haven", "Group": "haven", "NoNewPrivileges": "yes",
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "CapabilityBoundingSet": "", "Restart": "on-failure",
        "ReadWritePaths": "/var/lib/haven", "WorkingDirectory": "/var/lib/haven",
    }.items():
        assert value in s.get(key, []), f"{key}={value} missing: {s.get(key)}"
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # A config error (exit 2) is not retried forever.
    assert s["RestartPreventExitStatus"] == ["2"]
    assert "--config /etc/haven/haven.json" in s["ExecStart"][0]
