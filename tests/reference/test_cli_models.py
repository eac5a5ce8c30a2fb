"""`dafne models` end to end: import the original's `.model` files of the legacy kit (Keras 2
and Keras 3 re-dumps) into packages and into a store in a temporary folder, list the store
(newest version wins, user over bundled, damaged packages skipped with a warning), show a
model, and refuse what does not fit with a clear message. The package's manifest is checked
against the kit's own facts (model.truth.json, the .json metadata) and its weights file
against the manifest's sha256."""
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from conftest import DAFNE

KIT = "dafne-legacy/models"


def run(store, *args, ok=True):
    env = dict(os.environ, DAFNE_MODELS_DIR=str(store / "user"),
               DAFNE_BUNDLED_MODELS=str(store / "bundled"))
    proc = subprocess.run([DAFNE, "models", *map(str, args)], capture_output=True, text=True,
                          env=env)
    assert (proc.returncode == 0) == ok, proc
    return proc


def listing(store):
    return json.loads(run(store, "list", "--json").stdout)


@pytest.mark.parametrize("folder,stem,nlabels,crop", [
    ("thigh_narrow8", "Thigh_1610001000", 12, 250),
    ("leg_narrow8", "Leg_1610001000_keras3_numpy2", 6, 216),
])
def test_import_writes_a_package_with_the_originals_facts(tmp_path, data, folder, stem, nlabels,
                                                          crop):
    kit = data / KIT / folder
    model = kit / f"{stem}.model"
    truth = json.loads((kit / "model.truth.json").read_text())
    meta = json.loads((kit / f"{stem.split('_')[0]}.json").read_text())
    out = tmp_path / "pkg"
    run(tmp_path, "import-dafne", model, "--out", out)
    manifest = json.loads((out / "manifest.json").read_text())
    weights = (out / "weights.safetensors").read_bytes()
    assert manifest["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert manifest["id"] == truth["file"]["scalars"]["model_id"]
    assert manifest["version"] == truth["file"]["scalars"]["timestamp_id"]
    assert manifest["name"] == meta["model_name"]
    assert manifest["variants"] == meta["variants"]
    assert manifest["categories"] == meta["categories"]
    assert len(manifest["labels"]) == nlabels
    assert manifest["preprocessing"]["crop_px"] == [crop, crop]
    assert manifest["provenance"]["details"]["source_sha256"] == \
        hashlib.sha256(model.read_bytes()).hexdigest()
    # Every Keras parameter is in the weights file (safetensors: u64 header length, JSON header).
    header_len = int.from_bytes(weights[:8], "little")
    header = json.loads(weights[8:8 + header_len])
    count = 0
    for name, t in header.items():
        if name != "__metadata__":
            n = 1
            for d in t["shape"]:
                n *= d
            count += n
    assert count == truth["param_count"]


def test_store_lists_installs_and_resolves(tmp_path, data):
    kit = data / KIT
    assert listing(tmp_path) == []
    run(tmp_path, "import-dafne", kit / "thigh_narrow8/Thigh_1610001000.model", "--install")
    run(tmp_path, "import-dafne", kit / "leg_narrow8/Leg_1610001000.model", "--out",
        tmp_path / "leg", "--install")
    rows = listing(tmp_path)
    assert [(r["name"], r["version"], r["bundled"]) for r in rows] == \
        [("Leg", 1610001000, False), ("Thigh", 1610001000, False)]
    assert rows[1]["labels"][:2] == ["VL", "VM"]
    assert rows[1]["path"] == str(tmp_path / "user" / "Thigh" / "1610001000")

    # A bundled copy of the same version loses to the user's; a newer bundled one wins.
    shutil.copytree(tmp_path / "leg", tmp_path / "bundled" / "leg-demo")
    assert [r["bundled"] for r in listing(tmp_path)] == [False, False]
    newer = tmp_path / "bundled" / "Leg" / "1700000000"
    shutil.copytree(tmp_path / "leg", newer)
    m = json.loads((newer / "manifest.json").read_text())
    m["version"] = 1700000000
    (newer / "manifest.json").write_text(json.dumps(m))
    rows = listing(tmp_path)
    assert (rows[0]["version"], rows[0]["bundled"]) == (1700000000, True)

    # Table output names the columns and the source.
    table = run(tmp_path, "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "VERSION", "ID", "LABELS", "SOURCE", "PATH"]
    assert "bundled" in table[1] and "user" in table[2]

    # info by name (any case), by folder, and on an original file.
    text = run(tmp_path, "info", "tHiGh").stdout
    assert "Vastus Lateralis" in text and "250x250" in text and "band 49" in text
    leg = json.loads(run(tmp_path, "info", tmp_path / "leg", "--json").stdout)
    assert [l["name"] for l in leg["labels"]] == ["SOL", "GM", "GL", "TA", "ELD", "PE"]
    text = run(tmp_path, "info", kit / "leg_narrow8/Leg_1610001000.model").stdout
    assert "not imported" in text and "band 64" in text

    # A damaged package is skipped with a warning; the rest is still listed.
    bad = tmp_path / "user" / "Broken" / "1"
    bad.mkdir(parents=True)
    (bad / "manifest.json").write_text("{")
    proc = run(tmp_path, "list", "--json")
    assert len(json.loads(proc.stdout)) == 2
    assert "warning: model package skipped" in proc.stderr


def test_refusals_are_clear(tmp_path, data):
    kit = data / KIT
    model = kit / "thigh_narrow8/Thigh_1610001000.model"
    err = run(tmp_path, "import-dafne", model, ok=False).stderr
    assert "--out FOLDER, --install" in err
    run(tmp_path, "import-dafne", model, "--install")
    err = run(tmp_path, "import-dafne", model, "--install", ok=False).stderr
    assert "already installed" in err
    err = run(tmp_path, "import-dafne", kit / "thigh_narrow8/Thigh.json", "--out",
              tmp_path / "x", ok=False).stderr
    assert "cannot import the Dafne model file" in err and "Thigh.json" in err
    truncated = tmp_path / "Thigh_1.model"
    truncated.write_bytes(model.read_bytes()[:100000])
    err = run(tmp_path, "import-dafne", truncated, "--out", tmp_path / "y", ok=False).stderr
    assert "ends early" in err
    assert not (tmp_path / "y").exists()
    err = run(tmp_path, "info", "arm", ok=False).stderr
    assert 'no model called "arm"' in err
