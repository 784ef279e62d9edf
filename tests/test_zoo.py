"""The model zoo (list, build, verify, pull) and `tstransfer fit` end to end on a real dataset that is not in the
zoo (the ways to choose a source: test_selection.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tstransfer.data import MINI_ARCHIVE, load_dataset
from tstransfer.selection import recommend
from tstransfer.zoo import Zoo

ZOO_DATASETS = ["ECG200", "GunPoint", "SonyAIBORobotSurface1"]
TARGET = "ItalyPowerDemand"  # in the mini archive, left out of the zoo


def test_zoo_lists_models_and_prototypes(zoo_dir, capsys):
    from tstransfer.cli import main

    zoo = Zoo(zoo_dir)
    assert sorted(zoo.entries) == ZOO_DATASETS
    table = zoo.table().set_index("dataset")
    assert table.loc["GunPoint", "classes"] == 2 and table.loc["GunPoint", "length"] == 150
    assert table.loc["ECG200", "n_train"] == 100 and bool(table.prototypes.all())
    assert main(["zoo", "list", "--zoo", str(zoo_dir)]) == 0
    assert "SonyAIBORobotSurface1" in capsys.readouterr().out
    assert main(["zoo", "show", "GunPoint", "--zoo", str(zoo_dir)]) == 0
    assert '"dataset": "GunPoint"' in capsys.readouterr().out
    assert main(["zoo", "list", "--zoo", str(zoo_dir / "nope")]) == 2
    assert zoo.candidates(exclude=["GunPoint"], in_channels=1) == ["ECG200", "SonyAIBORobotSurface1"]
    assert zoo.candidates(in_channels=3) == []  # no univariate model takes a 3-channel target


def test_fit_command_end_to_end_on_a_dataset_outside_the_zoo(zoo_dir, tmp_path, capsys):
    from tstransfer.cli import main
    from tstransfer.models import load_model

    folder = MINI_ARCHIVE / TARGET
    out = tmp_path / "mine.safetensors"
    code = main(["fit", "--train", str(folder / f"{TARGET}_TRAIN.tsv"), "--test", str(folder / f"{TARGET}_TEST.tsv"),
                 "--zoo", str(zoo_dir), "--epochs", "3", "--seed", "1", "--out", str(out), "--compare",
                 "--threads", "2", "--quiet", "--ensemble", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    expected = recommend(load_dataset(TARGET), zoo_dir).source.iloc[0]
    assert f"chosen source: {expected} (similarity rank 1)" in printed
    assert "test accuracy: " in printed
    # --compare: one table: transfer, its source selection apart, scratch, MiniRocket (its compilation apart)
    table = printed.split("method", 1)[1].splitlines()[1:5]
    assert [row.split()[0] for row in table] == ["fit:", "source", "FCN", "MiniRocket"]
    for row in (table[0], table[2], table[3]):
        numbers = row[48:].split()
        assert 0 <= float(numbers[0]) <= 1 and float(numbers[1]) >= 0, row
    assert "numba compilation" in table[3] and float(table[1][48:].split()[0]) >= 0
    model = load_model(out)
    assert model.metadata["source"] == expected and model.metadata["selection"] == "similarity"
    assert model.classes == [1, 2]


# ----------------------------------------------------------------------------- a published zoo: build, verify, pull


@pytest.fixture(scope="module")
def built_zoo(tmp_path_factory):
    from tstransfer.cli import main

    out = tmp_path_factory.mktemp("built") / "zoo"
    assert main(["zoo", "build", "--archive", str(MINI_ARCHIVE), "--datasets", "GunPoint", "ECG200", "--out", str(out),
                 "--epochs", "2", "--threads", "1", "--name", "tiny", "--version", "0.1", "--quiet"]) == 0
    return out


def test_zoo_build_writes_a_checked_manifest_and_resumes(built_zoo, capsys):
    import json

    from tstransfer.cli import main
    from tstransfer.files import sha256_file

    manifest = json.loads((built_zoo / "zoo.json").read_text())
    assert (manifest["format"], manifest["name"], manifest["version"]) == ("tstransfer-zoo", "tiny", "0.1")
    assert manifest["recipe"]["name"] == "paper" and manifest["recipe"]["fields"]["epochs"] == 2
    assert manifest["recipe"]["fields"]["arch"] == "fcn"
    assert manifest["recipe"]["deviations"] == ["epochs=2 (paper: 2000)"]
    assert any("epochs=2" in d for d in manifest["recipe"]["deviations"])
    assert list(manifest["models"]) == ["GunPoint", "ECG200"]
    gun = manifest["models"]["GunPoint"]
    assert (gun["classes"], gun["length"], gun["channels"], gun["n_train"], gun["seed"]) == ([1, 2], 150, 1, 50, 0)
    assert 1 <= gun["best_epoch"] <= 2 and 0 <= gun["test_acc"] <= 1 and 0 <= gun["train_acc"] <= 1
    assert gun["sha256"] == sha256_file(built_zoo / gun["file"])
    assert gun["prototypes_sha256"] == sha256_file(built_zoo / gun["prototypes"])
    # stored in float16, and the manifest's accuracy is that of the stored weights
    from safetensors import safe_open

    from tstransfer.training import evaluate

    with safe_open(str(built_zoo / gun["file"]), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys() if "num_batches" not in k} == {torch.float16}
    stored = Zoo(built_zoo).model("GunPoint")
    assert evaluate(stored, load_dataset("GunPoint"))["accuracy"] == pytest.approx(gun["test_acc"])
    capsys.readouterr()
    assert main(["zoo", "build", "--archive", str(MINI_ARCHIVE), "--datasets", "GunPoint", "ECG200", "--out",
                 str(built_zoo), "--epochs", "2", "--threads", "1", "--name", "tiny", "--version", "0.1",
                 "--quiet"]) == 0
    assert "0 models built now, 2 kept from before" in capsys.readouterr().out
    assert main(["zoo", "list", "--zoo", str(built_zoo)]) == 0
    assert "zoo tiny 0.1: 2 models" in capsys.readouterr().out


def test_zoo_verify_names_a_flipped_byte(built_zoo, tmp_path, capsys):
    import shutil

    from tstransfer.cli import main

    assert main(["zoo", "verify", str(built_zoo)]) == 0
    copy = tmp_path / "zoo"
    shutil.copytree(built_zoo, copy)
    model = copy / "models" / "ECG200.safetensors"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["zoo", "verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {model}: sha256 differs" in out and "GunPoint" not in out


class _Server:
    """A real HTTP server on 127.0.0.1 serving a folder; `cut` makes the first GET of a path ending with it
    send half of the file and drop the connection."""

    def __init__(self, folder, cut: str | None = None, slow: str | None = None):
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if server.slow and self.path.endswith(server.slow):  # 2 bytes a second, 40 at most: stops by itself
                    import time

                    body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    try:
                        for i in range(min(40, len(body))):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.5)
                    except OSError:  # the client gave up: what the test expects
                        pass
                    return
                if server.cut and self.path.endswith(server.cut):
                    server.cut = None
                    body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                super().do_GET()

        self.cut, self.slow = cut, slow
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_zoo_pull_over_http_verifies_resumes_and_refuses_a_tampered_file(built_zoo, tmp_path, capsys):
    import shutil

    from tstransfer.cli import main

    to = tmp_path / "pulled"
    with _Server(built_zoo, cut="GunPoint.safetensors") as server:
        assert main(["zoo", "pull", server.url, "--to", str(to), "--quiet"]) == 1
        assert "download interrupted" in capsys.readouterr().err
        assert not to.exists()  # nothing usable before every file is verified
        assert main(["zoo", "pull", server.url, "--to", str(to), "--quiet"]) == 0
    assert "2 models, every sha256 verified" in capsys.readouterr().out
    assert main(["zoo", "verify", str(to)]) == 0
    for f in ("zoo.json", "models/GunPoint.safetensors", "prototypes/ECG200.npz"):
        assert (to / f).read_bytes() == (built_zoo / f).read_bytes()
    assert not (tmp_path / "pulled.partial").exists()

    tampered = tmp_path / "tampered"
    shutil.copytree(built_zoo, tampered)
    model = tampered / "models" / "GunPoint.safetensors"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))
    with _Server(tampered) as server:
        assert main(["zoo", "pull", server.url, "--to", str(tmp_path / "bad"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "models/GunPoint.safetensors: sha256 differs" in err and "refused" in err
    assert not (tmp_path / "bad").exists()
    assert not (tmp_path / "bad.partial" / "models" / "GunPoint.safetensors").exists()
    # a local folder works the same way
    assert main(["zoo", "pull", str(built_zoo), "--to", str(tmp_path / "local"), "--quiet"]) == 0
    # a source with no zoo there: refused, and no empty staging folder is left behind
    (tmp_path / "empty").mkdir()
    assert main(["zoo", "pull", str(tmp_path / "empty"), "--to", str(tmp_path / "none"), "--quiet"]) == 2
    assert "zoo.json: missing" in capsys.readouterr().err
    assert not (tmp_path / "none.partial").exists() and not (tmp_path / "none").exists()


# ----------------------------------------------------------------------------- the zoo shipped with tstransfer


def test_the_shipped_zoo_verifies_and_is_the_default(capsys):
    from tstransfer.cli import main
    from tstransfer.zoo import SHIPPED_ZOO, read_manifest

    assert main(["zoo", "verify", str(SHIPPED_ZOO)]) == 0
    manifest = read_manifest(SHIPPED_ZOO)
    assert not manifest["recipe"]["deviations"] and manifest["recipe"]["fields"]["epochs"] == 2000
    assert list(manifest["models"])[:3] == ["SonyAIBORobotSurface1", "ItalyPowerDemand", "MoteStrain"]
    capsys.readouterr()
    assert main(["zoo", "list", "--arch", "fcn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"zoo {manifest['name']} {manifest['version']}: {len(manifest['models'])} models")
    from tstransfer.zoo import quality

    for line in out.splitlines()[2:]:  # short rows: the file relative to the zoo, a quality flag
        name = line.split()[0]
        entry = manifest["models"][name]
        assert len(line) < 140 and f"models/{name}.safetensors" in line and str(SHIPPED_ZOO) not in line
        flag = quality(entry["test_acc"], len(entry["classes"]), entry["majority"], entry["published"])
        assert f" {flag} " in line
    assert sorted(Zoo().entries) == sorted(manifest["models"])
    assert main(["zoo", "list"]) == 0  # the default: LITE's zoo, the one fit uses
    assert capsys.readouterr().out.startswith("zoo tstransfer-ucr-lite ")


def test_fit_and_transfer_classifier_start_from_the_shipped_zoo(tmp_path, capsys, monkeypatch):
    """A practitioner's own data, no --zoo, no pre-training: a source of the shipped zoo is fine-tuned."""
    import tstransfer.training as training
    import tstransfer.transfer as transfer
    from conftest import toy_rows, write_ucr2018
    from tstransfer import TransferClassifier
    from tstransfer.cli import main
    from tstransfer.models import load_model

    folder = write_ucr2018(tmp_path, "Mine", toy_rows(8, 40, labels=("up", "down")),
                           toy_rows(5, 40, labels=("up", "down"), seed=3))
    shipped = sorted(Zoo().entries)
    trained = []
    real_fit = transfer.fit
    monkeypatch.setattr(transfer, "fit",
                        lambda net, ds, *a, **k: trained.append(ds.name) or real_fit(net, ds, *a, **k))
    monkeypatch.setattr(training, "fit", lambda *a, **k: pytest.fail("trained from scratch"))
    out = tmp_path / "m.safetensors"
    assert main(["fit", "--train", str(folder / "Mine_TRAIN.tsv"), "--test", str(folder / "Mine_TEST.tsv"),
                 "--epochs", "2", "--out", str(out), "--threads", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    source = printed.split("chosen source: ", 1)[1].split(" ", 1)[0]
    # the shipped backbone (pre-trained on every dataset of the zoo) ties with the nearest one and ranks right
    # after it (recipe.FIT_PREFERS_BACKBONE, by benchmarks/backbone.py)
    ranked = [line.split()[1] for line in printed.split("ranking", 1)[1].splitlines()[2:4]]
    assert source in shipped and ranked == [source, "backbone-lite"] and "test accuracy: " in printed
    assert trained == ["Mine"]  # one fine-tuning (the default: the most similar source), no pre-training
    assert load_model(out).metadata["sources"] == [source] and load_model(out).metadata["source"] == source
    X, y = np.array([r[1:] for r in toy_rows(8, 40)]), np.array([r[0] for r in toy_rows(8, 40)])
    clf = TransferClassifier(epochs=2, threads=1).fit(X, y)
    assert clf.source_ in shipped and clf.predict(X).shape == (16,)
    assert list(clf.ranking_.source[:2]) == [clf.source_, "backbone-lite"]
    single = TransferClassifier(epochs=2, threads=1, backbones=False).fit(X, y)
    assert single.source_ == clf.source_ and "backbone-lite" not in set(single.ranking_.source)
    assert main(["fit", "--train", str(folder / "Mine_TRAIN.tsv"), "--epochs", "2", "--out", str(out), "--force",
                 "--threads", "1", "--quiet", "--no-backbone", "--dry-run"]) == 0
    assert capsys.readouterr().out.split("chosen source: ", 1)[1].split(" ", 1)[0] in shipped


def test_fit_shows_the_choice_before_the_cost_and_dry_run_stops_there(zoo_dir, tmp_path, capsys, monkeypatch):
    import tstransfer.transfer as transfer
    from tstransfer.cli import main

    folder = MINI_ARCHIVE / TARGET
    monkeypatch.setattr(transfer, "fit", lambda *a, **k: pytest.fail("--dry-run trained"))
    out = tmp_path / "m.safetensors"
    assert main(["fit", "--train", str(folder / f"{TARGET}_TRAIN.tsv"), "--zoo", str(zoo_dir), "--out", str(out),
                 "--ensemble", "2", "--dry-run", "--quiet", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    ranking = recommend(load_dataset(TARGET), zoo_dir).source
    assert "ranking (--select similarity, your training set only):" in printed
    assert f"chosen source: ensemble of 2: {ranking.iloc[0]}, {ranking.iloc[1]}" in printed
    assert "estimated time: typically" in printed and "2 fine-tuning(s) of at most 1000 epochs" in printed
    assert not out.exists()


def test_fit_scores_the_test_file_once_whatever_its_size(zoo_dir, tmp_path, monkeypatch):
    """The test split is never used to choose anything in fit: scoring it each epoch would be pure cost."""
    import tstransfer.fused as fused
    import tstransfer.training as training
    from tstransfer.cli import main

    calls = []
    for module, name in ((training, "evaluate_arrays"), (fused, "_evaluate")):  # one network, or K fused
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda net, X, *a, real=real, **k: calls.append(len(X)) or real(net, X, *a,
                                                                                                          **k))
    import tstransfer.commands as commands

    scored = []
    real_evaluate = commands.evaluate
    monkeypatch.setattr(commands, "evaluate", lambda model, data, split="test": scored.append(
        (split, len(data.y_test) if split == "test" else len(data.y_train))) or real_evaluate(model, data, split))
    folder = MINI_ARCHIVE / TARGET
    assert main(["fit", "--train", str(folder / f"{TARGET}_TRAIN.tsv"), "--test", str(folder / f"{TARGET}_TEST.tsv"),
                 "--zoo", str(zoo_dir), "--out", str(tmp_path / "m.safetensors"), "--epochs", "6", "--ensemble", "2",
                 "--quiet", "--threads", "2"]) == 0
    assert calls == []  # the fine-tunings never see the test file
    assert [s for s in scored if s[0] == "test"] == [("test", len(load_dataset(TARGET).y_test))]  # once, the model


def test_an_ensemble_from_fit_is_a_model_like_any_other(zoo_dir, tmp_path, capsys):
    from tstransfer.cli import main
    from tstransfer.models import load_model
    from tstransfer.training import evaluate

    folder = MINI_ARCHIVE / TARGET
    out = tmp_path / "e.safetensors"
    assert main(["fit", "--train", str(folder / f"{TARGET}_TRAIN.tsv"), "--zoo", str(zoo_dir), "--out", str(out),
                 "--epochs", "2", "--ensemble", "3", "--quiet", "--threads", "2"]) == 0
    model = load_model(out)
    assert model.network.config["name"] == "ensemble" and len(model.metadata["sources"]) == 3
    assert [m["source"] for m in model.metadata["members"]] == model.metadata["sources"]
    assert model.metadata["recipe"]["name"] == "practical"
    ds = load_dataset(TARGET)
    capsys.readouterr()
    assert main(["evaluate", str(out), TARGET, "--archive", str(MINI_ARCHIVE)]) == 0
    assert f"accuracy {evaluate(model, ds)['accuracy']:.4f}" in capsys.readouterr().out


def test_recommend_ranks_a_zoo_for_a_file(zoo_dir, capsys):
    from tstransfer.cli import main

    folder = MINI_ARCHIVE / TARGET
    assert main(["recommend", str(folder / f"{TARGET}_TRAIN.tsv"), "--zoo", str(zoo_dir), "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in printed[1:]] == list(recommend(load_dataset(TARGET), zoo_dir).source)
    assert main(["recommend", str(folder / f"{TARGET}_TRAIN.tsv"), "--quiet", "--top", "3"]) == 0  # the shipped zoo
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_zoo_build_replace_rebuilds_a_model_with_another_recipe_recorded_per_model(built_zoo, tmp_path, capsys):
    import json
    import shutil

    from tstransfer.cli import main

    zoo = tmp_path / "zoo"
    shutil.copytree(built_zoo, zoo)
    args = ["zoo", "build", "--archive", str(MINI_ARCHIVE), "--datasets", "ECG200", "--out", str(zoo), "--epochs", "2",
            "--threads", "1", "--recipe", "practical", "--quiet"]
    assert main(args) == 2
    assert "give --replace to rebuild these datasets with this recipe" in capsys.readouterr().err
    before = json.loads((zoo / "zoo.json").read_text())
    assert main([*args, "--replace"]) == 0
    after = json.loads((zoo / "zoo.json").read_text())
    assert list(after["models"]) == list(before["models"])  # the models keep their place
    assert after["models"]["ECG200"]["recipe"]["name"] == "practical" and "recipe" not in after["models"]["GunPoint"]
    assert after["recipe"] == before["recipe"] and after["models"]["GunPoint"] == before["models"]["GunPoint"]
    assert main(["zoo", "verify", str(zoo)]) == 0
    capsys.readouterr()
    assert main(["zoo", "list", "--zoo", str(zoo)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert " practical " in rows["ECG200"] and " paper " in rows["GunPoint"]
    assert main([*args, "--replace"]) == 0 and "0 models built now, 1 kept" in capsys.readouterr().out


def _zoo_copy(built_zoo, tmp_path, edit) -> Path:
    """A copy of the built zoo whose manifest `edit(manifest)` changed."""
    import json
    import shutil

    copy = tmp_path / "source"
    shutil.copytree(built_zoo, copy)
    manifest = json.loads((copy / "zoo.json").read_text())
    edit(manifest)
    (copy / "zoo.json").write_text(json.dumps(manifest))
    return copy


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def test_zoo_pull_refuses_announcements_it_cannot_hold(built_zoo, tmp_path, capsys):
    import time

    from tstransfer.cli import main

    def huge(manifest):
        manifest["models"]["GunPoint"]["bytes"] = 10 * 10**12  # 10 TB

    source = _zoo_copy(built_zoo, tmp_path, huge)
    started = time.monotonic()
    with _Server(source) as server:
        assert main(["zoo", "pull", server.url, "--to", str(tmp_path / "big"), "--quiet"]) == 2
    assert time.monotonic() - started < 10
    assert "10000000000000 bytes for models/GunPoint.safetensors, more than the 64 MB" in capsys.readouterr().err
    assert _folder_bytes(tmp_path / "big.partial") + _folder_bytes(tmp_path / "big") < 10 << 20
    assert not (tmp_path / "big.partial").exists()  # a refused manifest leaves nothing behind

    def crowded(manifest):
        entry = manifest["models"]["GunPoint"]
        for i in range(2001):
            name = f"D{i}"
            manifest["models"][name] = {**entry, "file": f"models/{name}.safetensors",
                                        "prototypes": f"prototypes/{name}.npz"}

    source = _zoo_copy(built_zoo, tmp_path / "c", crowded)
    assert main(["zoo", "pull", str(source), "--to", str(tmp_path / "crowded"), "--quiet"]) == 2
    assert "lists 2003 models, more than the 2000 a zoo may hold" in capsys.readouterr().err
    assert not (tmp_path / "crowded.partial").exists()


def test_zoo_pull_from_a_server_sending_a_byte_at_a_time_ends_by_itself(built_zoo, tmp_path, capsys):
    import time

    from tstransfer.cli import main

    started = time.monotonic()
    with _Server(built_zoo, slow="zoo.json") as server:
        assert main(["zoo", "pull", server.url, "--to", str(tmp_path / "slow"), "--quiet", "--timeout", "2"]) == 1
    assert time.monotonic() - started < 15
    assert "bytes/s, below the 8 KB/s a pull needs once --timeout 2s have passed" in capsys.readouterr().err


def test_zoo_pull_checks_model_headers_against_the_manifest(built_zoo, tmp_path, capsys):
    """A model file swapped for another dataset's, with its own sha256 in the manifest: every sha256 matches,
    the headers do not."""
    import shutil

    from tstransfer.cli import main
    from tstransfer.files import sha256_file

    source = _zoo_copy(built_zoo, tmp_path, lambda manifest: None)
    shutil.copyfile(source / "models" / "ECG200.safetensors", source / "models" / "GunPoint.safetensors")

    def lie(manifest):
        gun = manifest["models"]["GunPoint"]
        gun["sha256"] = sha256_file(source / "models" / "GunPoint.safetensors")
        gun["bytes"] = (source / "models" / "GunPoint.safetensors").stat().st_size

    import json

    manifest = json.loads((source / "zoo.json").read_text())
    lie(manifest)
    (source / "zoo.json").write_text(json.dumps(manifest))
    assert main(["zoo", "pull", str(source), "--to", str(tmp_path / "lied"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "GunPoint.safetensors: its header (dataset 'ECG200'" in err and "nothing installed" in err
    assert not (tmp_path / "lied").exists() and not (tmp_path / "lied.partial").exists()


def test_zoo_pull_destinations_said_in_one_line(built_zoo, tmp_path, capsys):
    from tstransfer.cli import main

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert main(["zoo", "pull", str(built_zoo), "--to", str(tmp_path / "link"), "--quiet"]) == 2
    assert "--to " in (err := capsys.readouterr().err) and "a symbolic link" in err
    (tmp_path / "z.partial").write_text("not a folder")
    assert main(["zoo", "pull", str(built_zoo), "--to", str(tmp_path / "z"), "--quiet"]) == 2
    assert "z.partial (where a pull stages its files) exists and is not a folder" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("x")
    assert main(["zoo", "pull", str(built_zoo), "--to", str(tmp_path / "a-file" / "z"), "--quiet"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_quality_is_measured_against_the_majority_rate():
    from tstransfer.zoo import quality

    assert quality(0.70, 2, majority=0.5) == "weak"  # a 2-class model at 0.70 is not at chance
    assert quality(0.51, 2, majority=0.5) == "near chance"
    assert quality(0.70, 2, majority=0.69) == "near chance"  # barely above always answering the majority class
    assert quality(0.70, 2, majority=0.5, published={"mean": 71.8, "std": 1.4}) == "as published"
    assert quality(0.95, 2, majority=0.5) == "ok" and quality(0.95, 2) == "ok"
    assert quality(0.26, 4) == "near chance" and quality(0.30, 4) == "weak" and quality(None, 2) == ""


def test_fit_takes_the_zoo_architecture_else_lite(zoo_dir, tmp_path):
    """fit's architecture without --arch: the one a given zoo holds; LITE (FIT_ARCH) with the shipped zoo; a zoo of
    several is refused in one line asking for --arch."""
    import shutil

    from conftest import toy_rows
    from tstransfer import TransferClassifier
    from tstransfer.errors import TSTransferError
    from tstransfer.models import TrainedModel, create_model
    from tstransfer.study import StudyPaths
    from tstransfer.zoo import fit_arch

    assert fit_arch(None) == "lite" and fit_arch(zoo_dir) == "fcn"
    mixed = tmp_path / "mixed"
    shutil.copytree(StudyPaths(zoo_dir).pretrained_dir, mixed)
    TrainedModel(create_model("lite", 1, 2), [0, 1], {"znorm": True}, {"dataset": "Other"}).save(
        mixed / "Other.safetensors")
    with pytest.raises(TSTransferError, match="holds models of fcn, lite; choose with --arch fcn or --arch lite"):
        fit_arch(mixed)
    X, y = np.array([r[1:] for r in toy_rows(8, 40)]), np.array([r[0] for r in toy_rows(8, 40)])
    clf = TransferClassifier(zoo=str(zoo_dir), epochs=1, threads=1).fit(X, y)
    assert clf.model_.network.config["name"] == "fcn"  # the zoo's
    with pytest.raises(ValueError, match=r"TransferClassifier: zoo=.*choose with arch=fcn or arch=lite"):
        TransferClassifier(zoo=str(mixed), epochs=1).fit(X, y)
