"""One backbone for all datasets: the BatchNorm multiplexer, the pretext task, resuming, what it saw, and `fit
--source` with a backbone (refused on a target it was pre-trained on)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tstransfer.backbone import (
    BackboneConfig,
    MultiplexedBatchNorm,
    check_unseen,
    merge_batchnorm,
    multiplex_batchnorm,
    overlap,
    pretrain_backbone,
    split_fingerprint,
)
from tstransfer.cli import main
from tstransfer.data import MINI_ARCHIVE, load_dataset
from tstransfer.errors import TSTransferError
from tstransfer.models import TrainedModel, create_model, load_model

SOURCES = ["ItalyPowerDemand", "SonyAIBORobotSurface1", "ECG200", "SyntheticControl"]


@pytest.fixture(scope="module")
def sources():
    return [load_dataset(n) for n in SOURCES]


@pytest.fixture(scope="module")
def backbone(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("backbone") / "backbone.safetensors"
    config = BackboneConfig(epochs=40, batch_size=16, checkpoint_every=50, threads=1, objective="pretext")
    model, result = pretrain_backbone(sources, config, out, progress=False, log_every=40)
    model.save(out)
    return out, result


def test_the_multiplexer_keeps_statistics_per_dataset_and_merges_to_their_mean():
    torch.manual_seed(0)
    network = create_model("lite", 1, 3)
    plain = sum(isinstance(m, torch.nn.BatchNorm1d) for m in network.modules())
    multiplexers = multiplex_batchnorm(network, 3)
    assert len(multiplexers) == plain == 3 and all(m.dataset_means.shape[0] == 3 for m in multiplexers)
    network.train()
    x = torch.randn(4, 1, 30)
    for d, scale in enumerate((1.0, 5.0, 9.0)):
        for m in multiplexers:
            m.active = d
        network(x * scale)
    first = multiplexers[0]
    means = first.dataset_means.clone()
    assert not torch.allclose(means[0], means[2])  # each dataset's own statistics
    network.eval()
    outputs = []
    for d in range(3):  # in eval mode a dataset's series are normalised with its own statistics
        for m in multiplexers:
            m.active = d
        outputs.append(network(x))
    assert not torch.allclose(outputs[0], outputs[2])
    with torch.no_grad():
        first.weight.fill_(3.0)  # one scale and shift for all datasets
    merge_batchnorm(network)
    assert not any(isinstance(m, MultiplexedBatchNorm) for m in network.modules())
    merged = network.bn
    torch.testing.assert_close(merged.running_mean, means.mean(0))
    torch.testing.assert_close(merged.weight, torch.full_like(merged.weight, 3.0))
    assert set(network.state_dict()) == set(create_model("lite", 1, 3).state_dict())  # a plain LITE again


def test_the_pretext_task_learns_which_dataset_a_series_comes_from(backbone, sources):
    path, result = backbone
    model = load_model(path)
    assert model.classes == SOURCES and model.metadata["kind"] == "backbone"
    assert result.steps == 40 * len(SOURCES) and result.history[-1]["accuracy"] > 0.5  # chance: 0.25
    seen = model.metadata["backbone"]["datasets"]
    assert [d["name"] for d in seen] == SOURCES and seen[0]["train_sha256"] == split_fingerprint(
        sources[0].X_train, sources[0].len_train)
    assert model.metadata["backbone"]["sampling"] == "balanced"
    # unseen series of each dataset, one batch each, normalised by their own batch as in pre-training (one
    # dataset per batch): the pretext task is learnt beyond the series it saw
    network = model.network.train()
    with torch.no_grad():
        hits = [(network(torch.as_tensor(d.X_test[:32])).argmax(1) == i).float().mean().item()
                for i, d in enumerate(sources)]
    assert np.mean(hits) > 0.5, hits  # chance: 0.25


def test_a_target_made_of_series_the_backbone_trained_on_is_refused_or_warned(backbone):
    """Whole-split fingerprints miss a dataset made of other datasets' series (PhalangesOutlinesCorrect is the three
    *PhalanxOutlineCorrect's); the series the backbone trained on catch it."""
    model = load_model(backbone[0])
    ecg, sony = load_dataset("ECG200"), load_dataset("SonyAIBORobotSurface1")
    assert all(len(d["train_series"]) > 0 for d in model.metadata["backbone"]["datasets"])
    part = ecg.__class__("Mine", ecg.X_train[:60], ecg.y_train[:60], ecg.len_train[:60], None, None, None,
                         ecg.classes)  # 60 of ECG200's 100 training series: not a whole split of it
    with pytest.raises(TSTransferError, match="pre-trained on 60 of the 60 series of your training split "
                                              r"\(from 'ECG200'\).*never evaluated on a dataset it saw"):
        check_unseen(model, part, "--source b")
    # ECG200's test series (never trained on) with 10 of its training series: a warning names the 10
    mixed = np.concatenate([ecg.X_test, ecg.X_train[:10]])
    labels = np.concatenate([ecg.y_test, ecg.y_train[:10]])
    few = ecg.__class__("Mine", mixed, labels, np.full(len(labels), mixed.shape[-1]), None, None, None, ecg.classes)
    said = check_unseen(model, few, "--source b")
    assert "pre-trained on 10 of the 110 series of your training split (from 'ECG200')" in said
    # `within`: what it saw of some datasets only (a pool of single sources)
    others = [d["name"] for d in model.metadata["backbone"]["datasets"] if d["name"] != "ECG200"]
    assert overlap(model, few, "b", within=others).counts["training"] == (0, 110, [])
    assert overlap(model, few, "b", within=["ECG200"]).counts["training"] == (10, 110, ["ECG200"])
    # a test split made of series it trained on is refused too (its training split: unseen test series)
    split = ecg.__class__("Mine", sony.X_test[:100], sony.y_test[:100], sony.len_test[:100], sony.X_train[5:],
                          sony.y_train[5:], sony.len_train[5:], sony.classes)
    with pytest.raises(TSTransferError, match="15 of the 15 series of your test split"):
        check_unseen(model, split, "--source b")
    # a file written before the per-series record: only whole splits can be checked, and it says so
    records = [{k: v for k, v in d.items() if k != "train_series"} for d in model.metadata["backbone"]["datasets"]]
    legacy = TrainedModel(model.network, model.classes, model.preprocessing,
                          {**model.metadata, "backbone": {**model.metadata["backbone"], "datasets": records}})
    assert "records whole splits only" in check_unseen(legacy, part, "--source b")
    broken = [{**d, "train_series": "not base64!"} for d in records]
    corrupt = TrainedModel(model.network, model.classes, model.preprocessing,
                           {**model.metadata, "backbone": {**model.metadata["backbone"], "datasets": broken}})
    with pytest.raises(TSTransferError, match="the training series recorded for 'ItalyPowerDemand' are malformed"):
        check_unseen(corrupt, part, "--source b")


def test_balanced_sampling_draws_every_dataset_equally_often():
    from tstransfer.backbone import BalancedSampler

    sizes = [16, 8926, 300]
    balanced, proportional = BalancedSampler(sizes, 8, "balanced", 0), BalancedSampler(sizes, 8, "proportional", 0)
    draws = np.bincount([balanced.draw()[0] for _ in range(3000)], minlength=3) / 3000
    assert np.allclose(draws, 1 / 3, atol=0.04)
    draws = np.bincount([proportional.draw()[0] for _ in range(3000)], minlength=3) / 3000
    assert draws[1] > 0.9 and draws[0] < 0.01
    passes = BalancedSampler([10, 10], 4, "balanced", 1)
    batches = {0: [], 1: []}
    while sum(len(b) for b in batches[0]) < 20:
        d, batch = passes.draw()
        batches[d].append(batch)
    first = np.concatenate(batches[0])[:10]
    assert [len(b) for b in batches[0][:3]] == [4, 4, 2]  # a pass ends with the series left, then reshuffles
    assert sorted(first.tolist()) == list(range(10))  # every series once per pass


def test_an_interrupted_build_continues_to_the_same_backbone(sources, tmp_path, backbone):
    config = BackboneConfig(epochs=40, batch_size=16, checkpoint_every=50, threads=1, objective="pretext")
    out = tmp_path / "again.safetensors"
    partial, first = pretrain_backbone(sources, config, out, progress=False, log_every=40, stop_after=70)
    assert partial is None and first.steps == 70
    model, second = pretrain_backbone(sources, config, out, progress=False, log_every=40)
    assert second.resumed_at == 70
    whole = load_model(backbone[0])
    for (key, a), b in zip(model.network.state_dict().items(), whole.network.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=key)
    other = BackboneConfig(epochs=40, batch_size=8, checkpoint_every=50, threads=1, objective="pretext")
    shutil.copy(out.with_name(out.name + ".checkpoint.json"), tmp_path / "keep.json")
    with pytest.raises(TSTransferError, match="a checkpoint of another build"):
        pretrain_backbone(sources, other, out, progress=False)


def test_a_target_the_backbone_saw_is_refused_and_a_shared_name_warned(backbone):
    model = load_model(backbone[0])
    with pytest.raises(TSTransferError, match="pre-trained on 'ECG200'.*never evaluated on a dataset it saw"):
        check_unseen(model, load_dataset("ECG200"), "--source b")
    ecg = load_dataset("ECG200")  # its test split alone, as a user's training file
    test_as_train = ecg.__class__("Mine", ecg.X_test, ecg.y_test, ecg.len_test, None, None, None, ecg.classes)
    with pytest.raises(TSTransferError, match="same series as one of its splits"):
        check_unseen(model, test_as_train, "--source b")
    shuffled = np.random.default_rng(0).permutation(len(ecg.y_train))  # order does not hide it
    reordered = ecg.__class__("Mine", ecg.X_train[shuffled], ecg.y_train[shuffled], ecg.len_train[shuffled],
                              None, None, None, ecg.classes)
    with pytest.raises(TSTransferError, match="same series"):
        check_unseen(model, reordered, "--source b")
    assert check_unseen(model, load_dataset("GunPoint"), "--source b") is None
    gun = load_dataset("GunPoint")
    renamed = gun.__class__("ecg200", gun.X_train, gun.y_train, gun.len_train, None, None, None, gun.classes)
    assert "WARNING: the backbone saw a dataset named" in check_unseen(model, renamed, "--source b")
    listless = TrainedModel(model.network, model.classes, model.preprocessing, {"kind": "backbone"})
    with pytest.raises(TSTransferError, match="must list the datasets it was pre-trained on"):
        check_unseen(listless, gun, "--source b")


def test_fit_source_backbone_fine_tunes_it_and_refuses_what_it_saw(backbone, tmp_path, capsys):
    path = str(backbone[0])
    gun = MINI_ARCHIVE / "GunPoint"
    assert main(["fit", "--train", str(gun / "GunPoint_TRAIN.tsv"), "--test", str(gun / "GunPoint_TEST.tsv"),
                 "--source", path, "--epochs", "3", "--out", str(tmp_path / "gp.safetensors"), "--quiet",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "source: backbone (given with --source: nothing ranked)" in out and "test accuracy" in out
    tuned = load_model(tmp_path / "gp.safetensors")
    assert tuned.network.config["name"] == "lite" and tuned.classes == [1, 2]  # the backbone's arch, its head reset
    assert tuned.metadata["source"] == "backbone" and tuned.metadata["selection"] == "given"
    ecg, sony = MINI_ARCHIVE / "ECG200", MINI_ARCHIVE / "SonyAIBORobotSurface1"
    for args in (["--train", str(ecg / "ECG200_TRAIN.tsv")],  # its training split; a test split it saw
                 ["--train", str(gun / "GunPoint_TRAIN.tsv"), "--test", str(sony / "SonyAIBORobotSurface1_TEST.tsv")]):
        assert main(["fit", *args, "--source", path, "--epochs", "1", "--out", str(tmp_path / "no.safetensors"),
                     "--quiet", "--label-column", "first"]) == 2
        err = capsys.readouterr().err
        assert "never evaluated on a dataset it saw" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no.safetensors").exists()
    assert main(["fit", "--train", str(gun / "GunPoint_TRAIN.tsv"), "--arch", "fcn", "--source", path,
                 "--epochs", "1", "--out", str(tmp_path / "no.safetensors"), "--quiet"]) == 2
    assert "only transfers into its own architecture" in capsys.readouterr().err
    assert main(["fit", "--train", str(gun / "GunPoint_TRAIN.tsv"), "--source", "Gunpiont", "--epochs", "1",
                 "--out", str(tmp_path / "no.safetensors"), "--quiet"]) == 2
    assert "neither a model file nor a source of the zoo" in capsys.readouterr().err


def test_backbone_build_estimates_first_and_refuses_wrong_inputs_in_one_line(tmp_path, capsys):
    out = tmp_path / "b.safetensors"
    assert main(["backbone", "build", "--archive", str(MINI_ARCHIVE), "--exclude", "GunPoint", "--domain", "sensor",
                 "--epochs", "2", "--out", str(out), "--dry-run", "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "3 datasets of domain sensor" in text and "estimated time:" in text and "GunPoint" not in text
    assert not out.exists()
    assert main(["backbone", "build", "--archive", str(MINI_ARCHIVE), "--datasets", "Plane", "ECG200", "--epochs",
                 "3", "--batch-size", "8", "--out", str(out), "--quiet", "--threads", "1"]) == 0
    assert "multi-head: every dataset's own classes" in capsys.readouterr().out  # the default objective
    classes = load_model(out).classes
    assert len(classes) == 7 + 2 and classes[0] == "Plane:1" and classes[-1] == "ECG200:1"
    assert not out.with_name(out.name + ".checkpoint.json").exists()  # a finished build leaves no checkpoint
    twin = tmp_path / "twin"
    shutil.copytree(MINI_ARCHIVE / "Plane", twin / "Plane")
    for args, message in (
            (["--datasets", "Plain", "ECG200"], "'Plain' is in none of the archives"),
            (["--domain", "Astronomy"], "--domain 'Astronomy': not a type of the UCR summary"),
            (["--archive", str(twin)], "'Plane' is in"),
            (["--epochs", "0"], "--epochs 0: must be at least 1"),
            (["--seed", "-1"], "--seed -1: must be at least 0"),
            (["--datasets", "Plane"], "at least 2 datasets"),
            (["--sampling", "sizes"], "invalid choice")):
        code = main(["backbone", "build", "--archive", str(MINI_ARCHIVE), *args, "--out", str(tmp_path / "x" / "b"),
                     "--dry-run"]) if "invalid" not in message else None
        if code is None:
            with pytest.raises(SystemExit):
                main(["backbone", "build", "--archive", str(MINI_ARCHIVE), *args, "--out", "b", "--dry-run"])
        else:
            assert code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (args, err)


def test_a_backbone_joins_a_zoo_listed_verified_and_fit_by_name(backbone, tmp_path, capsys):
    from tstransfer.zoo import Zoo, shipped_zoo

    zoo = tmp_path / "zoo"
    shutil.copytree(shipped_zoo("lite"), zoo)
    from tstransfer.zoo import add_backbone

    assert add_backbone(zoo, backbone[0]) == "backbone-lite"
    opened = Zoo(zoo)
    assert opened.backbones["backbone-lite"]["datasets"] == SOURCES
    assert "backbone-lite" not in opened.entries  # never ranked as the source of one dataset
    assert main(["zoo", "verify", str(zoo)]) == 0
    assert main(["zoo", "list", "--zoo", str(zoo)]) == 0
    assert "backbone pre-trained on 4 datasets (ItalyPowerDemand" in capsys.readouterr().out
    assert main(["zoo", "show", "backbone-lite", "--zoo", str(zoo)]) == 0
    shown = capsys.readouterr().out
    assert '"train_sha256"' in shown and '"train_series": "100 series digests"' in shown  # ECG200's 100, not base64
    gun = MINI_ARCHIVE / "GunPoint"
    assert main(["fit", "--train", str(gun / "GunPoint_TRAIN.tsv"), "--zoo", str(zoo), "--arch", "lite", "--source",
                 "backbone", "--epochs", "2", "--out", str(tmp_path / "gp.safetensors"), "--quiet"]) == 0
    assert load_model(tmp_path / "gp.safetensors").metadata["source"] == "backbone-lite"
    capsys.readouterr()
    ecg = MINI_ARCHIVE / "ECG200" / "ECG200_TRAIN.tsv"
    assert main(["fit", "--train", str(ecg), "--zoo", str(zoo), "--arch", "lite", "--source", "backbone",
                 "--epochs", "1", "--out", str(tmp_path / "no.safetensors"), "--quiet"]) == 2
    assert "never evaluated on a dataset it saw" in capsys.readouterr().err
    assert main(["fit", "--train", str(ecg), "--source", "backbone", "--epochs", "1", "--out",
                 str(tmp_path / "no.safetensors"), "--quiet"]) == 2  # the shipped one saw the 40 shared datasets
    assert "pre-trained on 'ECG200'" in capsys.readouterr().err
    part = tmp_path / "part.tsv"  # 50 of ECG200's training series: not a whole split, still seen
    part.write_text("".join(ecg.read_text().splitlines(keepends=True)[:50]))
    assert main(["fit", "--train", str(part), "--source", "backbone", "--epochs", "1", "--out",
                 str(tmp_path / "no.safetensors"), "--quiet"]) == 2
    assert "pre-trained on 50 of the 50 series of your training split (from 'ECG200')" in capsys.readouterr().err
    test_rows = (MINI_ARCHIVE / "ECG200" / "ECG200_TEST.tsv").read_text().splitlines(keepends=True)
    part.write_text("".join(test_rows + ecg.read_text().splitlines(keepends=True)[:5]))  # 5 of 105 seen: warned
    assert main(["fit", "--train", str(part), "--source", "backbone", "--epochs", "1", "--threads", "1", "--out",
                 str(tmp_path / "warned.safetensors"), "--quiet"]) == 0
    assert "WARNING: the backbone was pre-trained on 5 of the 105 series of your training split (from 'ECG200')" \
        in capsys.readouterr().out
    assert main(["fit", "--train", str(ecg), "--arch", "fcn", "--source", "backbone", "--epochs", "1", "--out",
                 str(tmp_path / "no.safetensors"), "--quiet"]) == 2  # the shipped FCN zoo holds none
    assert "holds no backbone of fcn" in capsys.readouterr().err
    (zoo / "models" / "backbone-lite.safetensors").write_bytes(b"tampered")
    assert main(["zoo", "verify", str(zoo)]) == 1
    assert "backbone-lite.safetensors: sha256 differs" in capsys.readouterr().out
    manifest = json.loads((zoo / "zoo.json").read_text())
    del manifest["backbones"]["backbone-lite"]["datasets"]
    (zoo / "zoo.json").write_text(json.dumps(manifest))
    assert main(["zoo", "list", "--zoo", str(zoo)]) == 2
    err = capsys.readouterr().err
    assert "needs datasets" in err and len(err.strip().splitlines()) == 1


def test_the_multihead_objective_learns_every_datasets_own_classes(sources, tmp_path):
    pair = [sources[0], sources[2]]  # ItalyPowerDemand, ECG200
    config = BackboneConfig(epochs=30, batch_size=16, checkpoint_every=500, threads=1)  # multihead: the default
    model, result = pretrain_backbone(pair, config, tmp_path / "mh.safetensors", progress=False, log_every=30)
    assert model.classes == [f"{d.name}:{c}" for d in pair for c in d.classes]
    assert model.metadata["objective"] == "multihead" and model.metadata["backbone"]["objective"] == "multihead"
    network, offset = model.network.train(), 0  # each dataset's head, on its unseen series in batches of their own
    with torch.no_grad():
        for d in pair:
            logits = network(torch.as_tensor(d.X_test[:64]))[:, offset : offset + d.n_classes]
            majority = np.bincount(d.y_test[:64]).max() / 64  # ItalyPowerDemand 0.52, ECG200 0.64
            assert (logits.argmax(1).numpy() == d.y_test[:64]).mean() > majority + 0.05, d.name
            offset += d.n_classes
    with pytest.raises(TSTransferError, match="--objective 'labels': choose one of pretext, multihead"):
        BackboneConfig(objective="labels")


@pytest.fixture
def zoo_with_backbone(backbone, tmp_path):
    from tstransfer.zoo import add_backbone, shipped_zoo

    zoo = tmp_path / "zoo"
    shutil.copytree(shipped_zoo("lite"), zoo, ignore=shutil.ignore_patterns("build"))
    manifest = json.loads((zoo / "zoo.json").read_text())  # a few of its models: rankings in seconds
    keep = [*SOURCES, "MoteStrain", "CBF", "Coffee"]
    manifest["models"] = {name: entry for name, entry in manifest["models"].items() if name in keep}
    manifest.pop("backbones", None)
    (zoo / "zoo.json").write_text(json.dumps(manifest))
    add_backbone(zoo, backbone[0])
    return zoo


def test_the_chooser_ranks_a_backbone_beside_the_single_sources(zoo_with_backbone, monkeypatch):
    from tstransfer import selection
    from tstransfer.recipe import TrainConfig
    from tstransfer.zoo import Zoo

    zoo, gun = Zoo(zoo_with_backbone), load_dataset("GunPoint")
    config = TrainConfig.named("practical", arch="lite", epochs=2, threads=1)
    monkeypatch.setattr(selection, "FIT_PREFERS_BACKBONE", False)  # the evidence's switch: after on the tie (default)
    table = selection.choose_source(zoo, gun, "similarity", config).ranking
    singles = table[table.source != "backbone-lite"]
    nearest = singles[singles.source.isin(SOURCES)].iloc[0]  # the nearest dataset the backbone saw
    mine = table.index[table.source == "backbone-lite"][0]
    assert table.distance[mine] == nearest.distance and mine == table.index[table.source == nearest.source][0] + 1
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    monkeypatch.setattr(selection, "FIT_PREFERS_BACKBONE", True)  # first on the tie
    table = selection.choose_source(zoo, gun, "similarity", config).ranking
    assert table.index[table.source == "backbone-lite"][0] + 1 == table.index[table.source == nearest.source][0]
    logme = selection.choose_source(zoo, gun, "transferability", config).ranking
    assert "backbone-lite" in set(logme.source) and np.isfinite(logme.logme).all()
    validated = selection.choose_source(zoo, gun, "validate", config, top_k=1, validate_epochs=1).ranking
    assert sorted(validated.source) == sorted([table.source[table.source != "backbone-lite"].iloc[0],
                                               "backbone-lite"])
    seen = selection.choose_source(zoo, load_dataset("ECG200"), "similarity", config, exclude=["ECG200"])
    assert "backbone-lite" not in set(seen.ranking.source)
    assert seen.notes == ["backbone-lite is not a candidate: it was pre-trained on 'ECG200', and your data holds the "
                          "same series as one of its splits"]
    singles_only = selection.choose_source(zoo, gun, "similarity", config, backbones=False)
    assert "backbone-lite" not in set(singles_only.ranking.source)


def test_recommend_lists_a_zoos_backbone_beside_the_sources(zoo_with_backbone, capsys):
    assert main(["recommend", "GunPoint", "--zoo", str(zoo_with_backbone), "--top", "0"]) == 0
    out = capsys.readouterr().out
    assert "backbone-lite" in out and "(a backbone: distance to the nearest dataset it saw)" in out
    assert main(["recommend", "ECG200", "--zoo", str(zoo_with_backbone), "--top", "0"]) == 0  # it saw ECG200
    captured = capsys.readouterr()
    assert "backbone-lite" not in captured.out and "backbone-lite is not a candidate" in captured.err


def test_fit_compare_adds_the_backbone_as_a_row_and_source_takes_it_by_name(zoo_with_backbone, tmp_path, capsys):
    gun = MINI_ARCHIVE / "GunPoint"
    files = ["--train", str(gun / "GunPoint_TRAIN.tsv"), "--test", str(gun / "GunPoint_TEST.tsv")]
    assert main(["fit", *files, "--zoo", str(zoo_with_backbone), "--compare", "--epochs", "2", "--threads", "1",
                 "--out", str(tmp_path / "gp.safetensors"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "+ 1 of a backbone + 1 from scratch" in out
    row = next(line for line in out.splitlines() if line.startswith("transfer from backbone-lite (--source)"))
    assert 0 <= float(row.split()[-2]) <= 1
    assert main(["fit", *files, "--zoo", str(zoo_with_backbone), "--source", "backbone-lite", "--epochs", "2",
                 "--out", str(tmp_path / "named.safetensors"), "--quiet"]) == 0
    assert load_model(tmp_path / "named.safetensors").metadata["source"] == "backbone-lite"
