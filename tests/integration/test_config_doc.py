"""config/README.md is generated from the directive table and must match it."""

from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[2]


def test_config_reference_is_current():
    proc = harness.run_havend(["--config-doc"])
    assert proc.returncode == 0
    committed = (ROOT / "config" / "README.md").read_text()
    assert proc.stdout == committed, (
        "config/README.md is stale: regenerate it with `build/havend --config-doc > "
        "config/README.md`")


def test_example_config_is_valid_and_complete():
    example = ROOT / "config" / "haven.example.json"
    proc = harness.run_havend(["--config", str(example), "--check-config"])
    assert proc.returncode == 0, proc.stderr
    doc = (ROOT / "config" / "README.md").read_text()
    text = example.read_text()
    # every documented key appears in the example (its last path segment, at least)
    for line in doc.splitlines():
        if line.startswith("| `") and "." in line.split("`")[1]:
            key = line.split("`")[1]
            assert f'"{key.split(".")[-1]}"' in text, f"{key} missing from haven.example.json"
