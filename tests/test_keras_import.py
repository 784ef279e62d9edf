"""import-keras: Keras FCNs (files written by real Keras, and the Keras 2 layout of the paper's released
models written with h5py) become tstransfer models that predict the same probabilities."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from tstransfer.cli import main
from tstransfer.data import load_dataset
from tstransfer.keras_import import import_keras
from tstransfer.models import load_model
from tstransfer.zoo import Zoo

# The authors' FCN (dl-4-tsc classifiers/fcn.py) built and saved by real Keras (torch backend), with every
# weight randomised (BatchNorm moving statistics included) so that each one's mapping matters.
KERAS_SCRIPT = r"""
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras, h5py
from keras.src.legacy.saving import legacy_h5_format
from tstransfer.data import load_dataset

out, archive = sys.argv[1], sys.argv[2]
keras.utils.set_random_seed(0)
inp = keras.layers.Input((None, 1))
x = inp
for filters, kernel in ((128, 8), (256, 5), (128, 3)):
    x = keras.layers.Conv1D(filters=filters, kernel_size=kernel, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
x = keras.layers.GlobalAveragePooling1D()(x)
model = keras.models.Model(inputs=inp, outputs=keras.layers.Dense(2, activation="softmax")(x))
model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
rng = np.random.default_rng(1)
for layer in model.layers:
    if layer.weights:
        values = [rng.normal(0, 0.3, w.shape).astype("float32") for w in layer.get_weights()]
        if isinstance(layer, keras.layers.BatchNormalization):
            values[3] = rng.uniform(0.5, 2.0, values[3].shape).astype("float32")  # variances stay positive
        layer.set_weights(values)
model.save(os.path.join(out, "best_model.hdf5"))  # legacy HDF5: architecture + weights
open(os.path.join(out, "architecture.txt"), "w").write(model.to_json())
with h5py.File(os.path.join(out, "best_model_weights.hdf5"), "w") as f:  # what model.save_weights wrote in Keras 2
    legacy_h5_format.save_weights_to_hdf5_group(f, model)
model.save_weights(os.path.join(out, "keras3.weights.h5"))  # Keras 3's own weights layout
model.save(os.path.join(out, "model.keras"))
data = load_dataset("GunPoint", archive)
np.save(os.path.join(out, "proba.npy"), model.predict(data.X_test.transpose(0, 2, 1), verbose=0))
"""


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory, mini_archive) -> Path:
    out = tmp_path_factory.mktemp("keras")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(out), str(mini_archive)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_real_keras_hdf5_model_predicts_the_same_probabilities(keras_files, mini_archive, tmp_path, capsys):
    expected = np.load(keras_files / "proba.npy")
    assert expected.std() > 0.05  # not a flat output: the comparison below can fail
    out = tmp_path / "GunPoint.safetensors"
    assert main(["import-keras", str(keras_files / "best_model.hdf5"), "--out", str(out),
                 "--dataset", "GunPoint", "--archive", str(mini_archive)]) == 0
    model = load_model(out)
    data = load_dataset("GunPoint", mini_archive)
    np.testing.assert_allclose(model.proba(data.X_test), expected, atol=1e-5)
    assert model.classes == [1, 2]
    assert model.network.config["kernels"] == [8, 5, 3] and model.network.config["filters"] == [128, 256, 128]
    keras_accuracy = float((np.array([1, 2])[expected.argmax(1)] == np.array(data.classes)[data.y_test]).mean())
    assert model.metadata["test_acc"] == pytest.approx(keras_accuracy)
    assert model.metadata["dataset"] == "GunPoint" and model.metadata["kind"] == "keras-import"
    assert model.metadata["keras_version"].startswith("3.")
    assert f"test accuracy: {keras_accuracy:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("weights", ["best_model_weights.hdf5", "keras3.weights.h5", None])
def test_real_keras_architecture_with_weights(keras_files, mini_archive, weights):
    """architecture.txt + weights (the fine-tuned models' layout; Keras 2 and Keras 3 weight files) and .keras."""
    if weights is None:
        model = import_keras(keras_files / "model.keras")
    else:
        model = import_keras(keras_files / "architecture.txt", keras_files / weights)
    data = load_dataset("GunPoint", mini_archive)
    np.testing.assert_allclose(model.proba(data.X_test), np.load(keras_files / "proba.npy"), atol=1e-5)
    assert model.classes == [0, 1]  # no labels in Keras files: the output indices


def test_folder_finds_architecture_and_default_weights(keras_files, tmp_path):
    folder = tmp_path / "Source" / "Target"
    folder.mkdir(parents=True)
    for name in ("architecture.txt", "best_model_weights.hdf5"):
        (folder / name).write_bytes((keras_files / name).read_bytes())
    model = import_keras(folder)
    assert model.metadata["imported_from"].endswith("architecture.txt")
    assert model.metadata["weights_file"].endswith("best_model_weights.hdf5")


# ----------------------------------------------------------------------------- the Keras 2 layout, by h5py


def keras2_config(in_channels: int, filters, kernels, num_classes: int, length=None) -> dict:
    """The model config Keras 2.2 wrote for the authors' FCN (functional `Model`, nested inbound lists)."""
    layers = [{"name": "input_1", "class_name": "InputLayer", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, length, in_channels], "dtype": "float32", "sparse": False,
                          "name": "input_1"}}]

    def add(name, kind, config):
        config = {"name": name, "trainable": True, **config}
        layers.append({"name": name, "class_name": kind, "config": config,
                       "inbound_nodes": [[[layers[-1]["name"], 0, 0, {}]]]})

    for i, (f, k) in enumerate(zip(filters, kernels), start=1):
        add(f"conv1d_{i}", "Conv1D", {"filters": f, "kernel_size": [k], "strides": [1], "padding": "same",
                                      "data_format": "channels_last", "dilation_rate": [1], "activation": "linear",
                                      "use_bias": True})
        add(f"batch_normalization_{i}", "BatchNormalization", {"axis": -1, "momentum": 0.99, "epsilon": 0.001,
                                                              "center": True, "scale": True})
        add(f"activation_{i}", "Activation", {"activation": "relu"})
    add("global_average_pooling1d_1", "GlobalAveragePooling1D", {"data_format": "channels_last"})
    add("dense_1", "Dense", {"units": num_classes, "activation": "softmax", "use_bias": True})
    return {"class_name": "Model", "config": {"name": "model_1", "layers": layers,
                                              "input_layers": [["input_1", 0, 0]],
                                              "output_layers": [["dense_1", 0, 0]]}}


def random_keras_weights(rng, in_channels, filters, kernels, num_classes) -> dict[str, dict[str, np.ndarray]]:
    weights, channels = {}, in_channels
    for i, (f, k) in enumerate(zip(filters, kernels), start=1):
        weights[f"conv1d_{i}"] = {"kernel": rng.normal(0, 0.4, (k, channels, f)), "bias": rng.normal(0, 0.1, f)}
        weights[f"batch_normalization_{i}"] = {"gamma": rng.uniform(0.5, 1.5, f), "beta": rng.normal(0, 0.2, f),
                                               "moving_mean": rng.normal(0, 0.3, f),
                                               "moving_variance": rng.uniform(0.5, 2.0, f)}
        channels = f
    weights["dense_1"] = {"kernel": rng.normal(0, 0.5, (channels, num_classes)),
                          "bias": rng.normal(0, 0.1, num_classes)}
    return {layer: {k: v.astype(np.float32) for k, v in w.items()} for layer, w in weights.items()}


def write_keras2_weights(group, config: dict, weights: dict) -> None:
    """Keras 2's save_weights_to_hdf5_group: byte-string attributes, 'layer/name:0' datasets."""
    names = [layer["config"]["name"] for layer in config["config"]["layers"]]
    group.attrs["layer_names"] = np.array([n.encode() for n in names])
    group.attrs["backend"], group.attrs["keras_version"] = b"tensorflow", b"2.2.4"
    for name in names:
        layer_group = group.create_group(name)
        values = weights.get(name, {})
        layer_group.attrs["weight_names"] = np.array([f"{name}/{k}:0".encode() for k in values]) if values \
            else np.array([])
        for key, value in values.items():
            layer_group.create_dataset(f"{name}/{key}:0", data=value)


def write_keras2_model(path: Path, config: dict, weights: dict) -> None:
    """Keras 2's model.save: best_model.hdf5 of the pre-trained models."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = b"2.2.4", b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["training_config"] = json.dumps({"loss": "categorical_crossentropy"}).encode()
        write_keras2_weights(f.create_group("model_weights"), config, weights)


def write_keras2_finetuned(folder: Path, config: dict, weights: dict) -> None:
    """architecture.txt (model.to_json) + best_model_weights.hdf5 (model.save_weights) of the fine-tuned models."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "architecture.txt").write_text(json.dumps({**config, "keras_version": "2.2.4", "backend": "tensorflow"}))
    with h5py.File(folder / "best_model_weights.hdf5", "w") as f:
        write_keras2_weights(f, config, weights)


def keras_forward(X: np.ndarray, weights: dict, blocks: int) -> np.ndarray:
    """The Keras FCN's inference in numpy, channels last: X (n, length, channels) -> probabilities."""
    h = X.astype(np.float64)
    for i in range(1, blocks + 1):
        kernel, bias = weights[f"conv1d_{i}"]["kernel"], weights[f"conv1d_{i}"]["bias"]
        k = kernel.shape[0]
        left = (k - 1) // 2  # TensorFlow's 'same': the extra padding goes right
        padded = np.pad(h, ((0, 0), (left, k - 1 - left), (0, 0)))
        h = sum(padded[:, j : j + h.shape[1], :] @ kernel[j] for j in range(k)) + bias
        bn = weights[f"batch_normalization_{i}"]
        h = (h - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) * bn["gamma"] + bn["beta"]
        h = np.maximum(h, 0)
    logits = h.mean(axis=1) @ weights["dense_1"]["kernel"] + weights["dense_1"]["bias"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_keras2_layout_multichannel_matches_numpy_reference(tmp_path):
    rng = np.random.default_rng(0)
    filters, kernels = (8, 12, 6), (8, 5, 4)  # even kernels too: the asymmetric 'same' padding
    config = keras2_config(3, filters, kernels, 4)
    weights = random_keras_weights(rng, 3, filters, kernels, 4)
    X = rng.standard_normal((10, 3, 37)).astype(np.float32)
    expected = keras_forward(X.transpose(0, 2, 1), weights, 3)
    assert expected.std() > 0.05
    write_keras2_model(tmp_path / "best_model.hdf5", config, weights)
    write_keras2_finetuned(tmp_path / "finetuned", config, weights)
    for source in (tmp_path / "best_model.hdf5", tmp_path / "finetuned"):
        model = import_keras(source, classes=["a", "b", "c", "d"])
        np.testing.assert_allclose(model.proba(X), expected, atol=1e-5)
        assert model.network.config == {"name": "fcn", "in_channels": 3, "num_classes": 4,
                                        "filters": list(filters), "kernels": list(kernels)}
        assert model.metadata["keras_version"] == "2.2.4"



def test_keras2_sequential_and_separate_softmax(tmp_path):
    """Other ways to write the same FCN: a Sequential model, and Dense(linear) followed by Softmax."""
    rng = np.random.default_rng(1)
    filters, kernels = (5, 6, 4), (8, 5, 3)
    weights = random_keras_weights(rng, 1, filters, kernels, 3)
    X = rng.standard_normal((6, 1, 29)).astype(np.float32)
    expected = keras_forward(X.transpose(0, 2, 1), weights, 3)
    functional = keras2_config(1, filters, kernels, 3)
    layers = functional["config"]["layers"]
    first = dict(layers[1], config={**layers[1]["config"], "batch_input_shape": [None, 29, 1]})
    sequential = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        {"class_name": layer["class_name"], "config": layer["config"]} for layer in [first, *layers[2:]]]}}
    split = json.loads(json.dumps(functional))
    split["config"]["layers"][-1]["config"]["activation"] = "linear"
    split["config"]["layers"].append({"name": "softmax_1", "class_name": "Activation", "config": {
        "name": "softmax_1", "activation": "softmax"}, "inbound_nodes": [[["dense_1", 0, 0, {}]]]})
    for name, config in (("sequential", sequential), ("split", split)):
        write_keras2_model(tmp_path / f"{name}.hdf5", config, weights)
        model = import_keras(tmp_path / f"{name}.hdf5")
        np.testing.assert_allclose(model.proba(X), expected, atol=1e-5)
    assert import_keras(tmp_path / "sequential.hdf5").metadata["input_length"] == 29

def test_import_tree_of_the_authors_archives_builds_a_zoo(tmp_path, mini_archive, capsys):
    """The released archives: <Dataset>/best_model.hdf5 and <Source>/<Target>/architecture.txt + weights,
    under UCR 2015 names; the folder name picks the dataset's labels and its test accuracy is recorded."""
    rng = np.random.default_rng(3)
    filters, kernels = (6, 8, 6), (8, 5, 3)
    pretrained, finetuned = tmp_path / "pretrained", tmp_path / "finetuned"
    for name in ("Gun_Point", "ECG200"):
        config = keras2_config(1, filters, kernels, 2)
        (pretrained / name).mkdir(parents=True)
        write_keras2_model(pretrained / name / "best_model.hdf5", config,
                           random_keras_weights(rng, 1, filters, kernels, 2))
    write_keras2_finetuned(finetuned / "Gun_Point" / "ECG200", keras2_config(1, filters, kernels, 2),
                           random_keras_weights(rng, 1, filters, kernels, 2))
    write_keras2_finetuned(finetuned / "ECG200" / "NotInArchive", keras2_config(1, filters, kernels, 3),
                           random_keras_weights(rng, 1, filters, kernels, 3))

    zoo_dir = tmp_path / "zoo"
    args = ["--archive", str(mini_archive), "--quiet"]
    assert main(["import-keras", str(pretrained), "--out", str(zoo_dir), *args]) == 0
    assert "2 models in" in capsys.readouterr().out
    zoo = Zoo(zoo_dir)
    assert sorted(zoo.entries) == ["ECG200", "GunPoint"]  # 2018 names
    gunpoint = zoo.model("GunPoint")
    assert gunpoint.classes == [1, 2] and zoo.model("ECG200").classes == [-1, 1]
    data = load_dataset("GunPoint", mini_archive)
    accuracy = float((gunpoint.predict(data.X_test) == np.array(data.classes)[data.y_test]).mean())
    assert zoo.entries["GunPoint"].accuracy == pytest.approx(accuracy)
    assert main(["import-keras", str(pretrained), "--out", str(zoo_dir / "GunPoint.safetensors"), *args]) == 2
    assert "a tree of models writes a folder" in capsys.readouterr().err

    out = tmp_path / "finetuned_models"
    assert main(["import-keras", str(finetuned), "--out", str(out), *args]) == 0
    printed = capsys.readouterr().out
    assert "NotInArchive: imported (classes 0..C-1" in printed
    target = load_model(out / "GunPoint" / "ECG200.safetensors")
    assert target.metadata["source"] == "GunPoint" and target.metadata["dataset"] == "ECG200"
    assert target.classes == [-1, 1] and "test_acc" in target.metadata
    assert load_model(out / "ECG200" / "NotInArchive.safetensors").classes == [0, 1, 2]
    assert main(["import-keras", str(finetuned), "--out", str(out), *args]) == 0  # resumable: nothing redone
    assert "(0 imported now)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- refusals


def _fail(argv, capsys) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def test_refuses_what_is_not_the_fcn(tmp_path, capsys):
    rng = np.random.default_rng(0)
    weights = random_keras_weights(rng, 1, (4, 4, 4), (8, 5, 3), 2)
    out = tmp_path / "m.safetensors"

    valid = keras2_config(1, (4, 4, 4), (8, 5, 3), 2)
    valid["config"]["layers"][1]["config"]["padding"] = "valid"
    write_keras2_model(tmp_path / "valid.hdf5", valid, weights)
    assert "Conv1D 'conv1d_1' has padding='valid'" in _fail(["import-keras", str(tmp_path / "valid.hdf5"),
                                                              "--out", str(out)], capsys)

    lstm = keras2_config(1, (4, 4, 4), (8, 5, 3), 2)
    lstm["config"]["layers"][-2] = {**lstm["config"]["layers"][-2], "class_name": "LSTM"}
    write_keras2_model(tmp_path / "lstm.hdf5", lstm, weights)
    assert "GlobalAveragePooling1D -> Dense(softmax)" in _fail(["import-keras", str(tmp_path / "lstm.hdf5"),
                                                               "--out", str(out)], capsys)

    wrong = random_keras_weights(rng, 1, (4, 4, 4), (7, 5, 3), 2)  # weights of another kernel size
    write_keras2_model(tmp_path / "shape.hdf5", keras2_config(1, (4, 4, 4), (8, 5, 3), 2), wrong)
    assert "kernel has shape (7, 1, 4)" in _fail(["import-keras", str(tmp_path / "shape.hdf5"), "--out", str(out)],
                                                  capsys)
    assert not out.exists() and not list(tmp_path.glob(".m.safetensors*"))


def test_bad_arguments(tmp_path, mini_archive, capsys):
    rng = np.random.default_rng(0)
    config = keras2_config(1, (4, 4, 4), (8, 5, 3), 3)
    write_keras2_model(tmp_path / "best_model.hdf5", config, random_keras_weights(rng, 1, (4, 4, 4), (8, 5, 3), 3))
    out = str(tmp_path / "m.safetensors")
    model = str(tmp_path / "best_model.hdf5")
    assert "--dataset GunPoint: 2 classes [1, 2], but the model" in _fail(
        ["import-keras", model, "--out", out, "--dataset", "GunPoint", "--archive", str(mini_archive)], capsys)
    assert "--classes: 2 classes ['x', 'y']" in _fail(["import-keras", model, "--out", out, "--classes", "x,y"],
                                                       capsys)
    assert "no such file" in _fail(["import-keras", str(tmp_path / "missing.hdf5"), "--out", out], capsys)
    (tmp_path / "notes.txt").write_text("not a model")
    assert "notes.txt: not an HDF5 file" in _fail(["import-keras", str(tmp_path / "notes.txt"), "--out", out], capsys)
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "architecture.txt").write_text(json.dumps(config))
    assert "give --weights" in _fail(["import-keras", str(tmp_path / "alone"), "--out", out], capsys)
    weights_only = tmp_path / "weights_only.hdf5"
    with h5py.File(weights_only, "w") as f:
        write_keras2_weights(f, config, {})
    assert "needs its architecture.txt" in _fail(["import-keras", str(weights_only), "--out", out], capsys)
    assert not Path(out).exists()
    assert main(["import-keras", model, "--out", out, "--classes", "x,y,z"]) == 0
    assert load_model(out).classes == ["x", "y", "z"]
