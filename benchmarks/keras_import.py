"""import-keras on trained Keras models: the authors' FCN trained by real Keras, imported, compared.

Usage: python benchmarks/keras_import.py [--archive PATH] [--datasets ...] [--epochs 200] [--out DIR]

For each dataset this trains the authors' Keras FCN (dl-4-tsc `classifiers/fcn.py`: Adam,
ReduceLROnPlateau(loss, 0.5, 50, min_lr 1e-4), ModelCheckpoint of the best training loss, batch
min(n/10, 16)) with Keras 3 and its torch backend for `--epochs` epochs (the paper: 2000). The checkpoint
is a legacy HDF5 `best_model.h5` (the format of the authors' `best_model.hdf5`; Keras 3 wants the .h5
suffix). It is imported with tstransfer, and the script prints the test accuracy of both, the largest
probability difference, and the import and prediction times. Defaults to the mini archive.
Needs keras (the test extra installs it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tstransfer.data import MINI_ARCHIVE, load_dataset  # noqa: E402
from tstransfer.keras_import import import_for_dataset  # noqa: E402


def authors_fcn(input_shape, nb_classes):
    input_layer = keras.layers.Input(input_shape)
    x = input_layer
    for filters, kernel in ((128, 8), (256, 5), (128, 3)):
        x = keras.layers.Conv1D(filters=filters, kernel_size=kernel, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.models.Model(inputs=input_layer, outputs=keras.layers.Dense(nb_classes, activation="softmax")(x))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(MINI_ARCHIVE))
    parser.add_argument("--datasets", nargs="+", default=["GunPoint", "ECG200", "ItalyPowerDemand"])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", help="keep the Keras and tstransfer files here (default: a temp folder)")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    out = Path(args.out or tempfile.mkdtemp(prefix="keras-import-"))
    print(f"Keras {keras.__version__} ({keras.backend.backend()} backend), {args.epochs} epochs (paper: 2000)")
    print(f"{'dataset':<20}{'keras acc':>10}{'ours acc':>10}{'max |dp|':>11}{'train s':>9}{'import s':>9}"
          f"{'keras pred s':>13}{'ours pred s':>12}")
    for name in args.datasets:
        ds = load_dataset(name, args.archive)
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        X_train, X_test = ds.X_train.transpose(0, 2, 1), ds.X_test.transpose(0, 2, 1)  # Keras: channels last
        model = authors_fcn((None, ds.in_channels), ds.n_classes)
        callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=50, min_lr=0.0001),
                     keras.callbacks.ModelCheckpoint(str(folder / "best_model.h5"), monitor="loss",
                                                     save_best_only=True)]
        start = time.perf_counter()
        model.fit(X_train, keras.utils.to_categorical(ds.y_train, ds.n_classes),
                  batch_size=int(min(len(X_train) / 10, 16)), epochs=args.epochs, verbose=0, callbacks=callbacks)
        train_s = time.perf_counter() - start
        best = keras.models.load_model(folder / "best_model.h5")
        start = time.perf_counter()
        keras_proba = best.predict(X_test, verbose=0)
        keras_s = time.perf_counter() - start
        start = time.perf_counter()
        imported = import_for_dataset(folder / "best_model.h5", ds)
        import_s = time.perf_counter() - start
        imported.save(folder / f"{name}.safetensors")
        start = time.perf_counter()
        ours = imported.proba(ds.X_test)
        ours_s = time.perf_counter() - start
        keras_acc = float((keras_proba.argmax(1) == ds.y_test).mean())
        print(f"{name:<20}{100 * keras_acc:>10.1f}{100 * imported.metadata['test_acc']:>10.1f}"
              f"{np.abs(keras_proba - ours).max():>11.1e}{train_s:>9.0f}{import_s:>9.2f}{keras_s:>13.3f}"
              f"{ours_s:>12.3f}")
    print(f"files: {out}")


if __name__ == "__main__":
    main()
