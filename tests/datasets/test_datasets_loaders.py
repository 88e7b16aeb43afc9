"""Each Keras loader on tiny fixture files in the real formats, served from 127.0.0.1."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from nbtrain import datasets
from nbtrain.datasets import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters


# ---- fixture files in the real formats -------------------------------------------------------------------

def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def object_array(sequences):
    array = np.empty(len(sequences), dtype=object)
    array[:] = [list(s) for s in sequences]
    return array


def idx_bytes(array):
    """A gzipped IDX file of unsigned bytes: magic 0x0000080N, then N big-endian dimensions, then the data."""
    header = struct.pack(">I", 0x800 + array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


class Py2StylePickler(pickle._Pickler):
    """Writes ``bytes`` with the Python 2 ``str`` opcodes, as in the pickles inside the real CIFAR archives."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj):
    buffer = io.BytesIO()
    Py2StylePickler(buffer, protocol=2).dump(obj)
    # the real files were written by old NumPy, which named its module numpy.core
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def tar_gz_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar_images(n, offset):
    """n channels-first images whose pixel (row r, col c, channel k) is a recognisable function of the image."""
    images = np.empty((n, 3, 32, 32), np.uint8)
    for i in range(n):
        for k in range(3):
            images[i, k] = (np.arange(32)[:, None] + 2 * np.arange(32)[None, :] + 50 * k + offset + i) % 256
    return images


# ---- MNIST and Fashion-MNIST -----------------------------------------------------------------------------

def test_mnist_shapes_dtypes_values_and_cache(serve, server, cache):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    y_train = np.arange(6, dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_test = np.array([7, 9], np.uint8)
    serve("mnist.npz", npz_bytes(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test))

    (a, b), (c, d) = mnist.load_data(progress=False)
    assert (a.shape, b.shape, c.shape, d.shape) == ((6, 28, 28), (6,), (2, 28, 28), (2,))
    assert {a.dtype, b.dtype, c.dtype, d.dtype} == {np.dtype("uint8")}
    np.testing.assert_array_equal(a, x_train)
    np.testing.assert_array_equal(d, y_test)

    mnist.load_data(progress=False)
    assert server.count("mnist.npz") == 1
    assert (cache / "mnist.npz").exists()


def test_mnist_custom_cache_name(serve, cache):
    serve("mnist.npz", npz_bytes(x_train=np.zeros((1, 28, 28), np.uint8), y_train=np.zeros(1, np.uint8),
                                 x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8)))
    mnist.load_data(path="my_mnist.npz", progress=False)
    assert (cache / "my_mnist.npz").exists()


def fashion_files(serve):
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.array([9, 0, 0, 3, 1], np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([2, 5, 8], np.uint8),
    }
    for name, array in arrays.items():
        serve(name, idx_bytes(array))
    return arrays


def test_fashion_mnist_reads_gzipped_idx_files_into_its_own_cache_folder(serve, server, cache):
    arrays = fashion_files(serve)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(progress=False)
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_train, [9, 0, 0, 3, 1])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, [2, 5, 8])
    assert x_train.dtype == y_train.dtype == np.uint8
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == sorted(arrays)
    assert fashion_mnist.CLASS_NAMES[y_train[0]] == "Ankle boot"
    fashion_mnist.load_data(progress=False)
    assert len(server.requests) == 4


def test_fashion_mnist_rejects_a_file_that_is_not_idx(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(ValueError, match="not an IDX file"):
        fashion_mnist.read_idx(bad)
    short = tmp_path / "short.gz"
    header = struct.pack(">IIII", 0x803, 3, 28, 28)
    short.write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(ValueError, match="declares shape"):
        fashion_mnist.read_idx(short)


# ---- CIFAR ----------------------------------------------------------------------------------------------

def cifar10_archive():
    members, expected_x, expected_y = {}, [], []
    for i in range(1, 6):
        images, labels = cifar_images(2, offset=10 * i), [i % 10, (i + 5) % 10]
        members[f"cifar-10-batches-py/data_batch_{i}"] = py2_pickle(
            {b"batch_label": b"training batch", b"labels": labels, b"data": images.reshape(2, -1),
             b"filenames": [b"a.png", b"b.png"]})
        expected_x.append(images)
        expected_y += labels
    test_images = cifar_images(3, offset=200)
    members["cifar-10-batches-py/test_batch"] = py2_pickle(
        {b"batch_label": b"testing batch", b"labels": [4, 0, 9], b"data": test_images.reshape(3, -1)})
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    return tar_gz_bytes(members), np.concatenate(expected_x), expected_y, test_images


def test_cifar10_reads_the_pickled_batches_channels_last(serve, server, cache):
    archive, x_expected, y_expected, test_images = cifar10_archive()
    serve("cifar-10-python.tar.gz", archive)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(progress=False)
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (3, 1)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    np.testing.assert_array_equal(x_train, x_expected.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(x_test, test_images.transpose(0, 2, 3, 1))
    assert y_train[:, 0].tolist() == y_expected and y_test[:, 0].tolist() == [4, 0, 9]
    # pixel (row 1, col 2) of image 0 in the green channel: 1 + 2*2 + 50 + offset 10
    assert x_train[0, 1, 2, 1] == 65
    assert x_train.flags["C_CONTIGUOUS"]
    # kept as the downloaded archive, nothing extracted
    assert [p.name for p in cache.iterdir()] == ["cifar-10-python.tar.gz"]
    cifar10.load_data(progress=False)
    assert server.count("cifar-10-python.tar.gz") == 1


def cifar100_archive():
    train = cifar_images(4, offset=0)
    test = cifar_images(2, offset=99)
    members = {
        "cifar-100-python/train": py2_pickle({b"data": train.reshape(4, -1), b"fine_labels": [10, 99, 0, 42],
                                              b"coarse_labels": [1, 19, 0, 7], b"filenames": [b"x"] * 4}),
        "cifar-100-python/test": py2_pickle({b"data": test.reshape(2, -1), b"fine_labels": [5, 6],
                                             b"coarse_labels": [3, 4]}),
        "cifar-100-python/meta": py2_pickle({b"fine_label_names": [b"apple"]}),
    }
    return tar_gz_bytes(members), train, test


def test_cifar100_fine_and_coarse_labels(serve):
    archive, train, test = cifar100_archive()
    serve("cifar-100-python.tar.gz", archive)
    (x_train, y_train), (x_test, y_test) = cifar100.load_data(progress=False)
    assert x_train.shape == (4, 32, 32, 3) and y_train.shape == (4, 1) and y_test.shape == (2, 1)
    assert y_train.dtype == np.int64 and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_test, test.transpose(0, 2, 3, 1))
    assert y_train[:, 0].tolist() == [10, 99, 0, 42]
    (_, y_coarse), (_, y_coarse_test) = cifar100.load_data(label_mode="coarse", progress=False)
    assert y_coarse[:, 0].tolist() == [1, 19, 0, 7] and y_coarse_test[:, 0].tolist() == [3, 4]


def test_cifar100_rejects_unknown_label_mode():
    with pytest.raises(ValueError, match='"fine" or "coarse"'):
        cifar100.load_data(label_mode="medium")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_archive_with_a_code_running_pickle_is_refused(serve):
    members = {f"cifar-10-batches-py/data_batch_{i}": pickle.dumps({b"data": Evil()}) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = pickle.dumps({})
    serve("cifar-10-python.tar.gz", tar_gz_bytes(members))
    with pytest.raises(pickle.UnpicklingError, match="Refusing to load"):
        cifar10.load_data(progress=False)


def test_cifar_archive_missing_members_or_with_links_is_refused(serve, tmp_path):
    batch = py2_pickle({b"data": cifar_images(1, 0).reshape(1, -1), b"labels": [0]})
    serve("cifar-10-python.tar.gz", tar_gz_bytes({"cifar-10-batches-py/data_batch_1": batch}))
    with pytest.raises(ValueError, match="does not contain .*data_batch_2.*test_batch"):
        cifar10.load_data(progress=False)

    serve("cifar-10-python.tar.gz", tar_gz_bytes({"cifar-10-batches-py/data_batch_1": batch[:20]}))
    with pytest.raises(ValueError, match="damaged"):
        cifar10.load_data(progress=False)

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo("cifar-100-python/train")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    serve("cifar-100-python.tar.gz", buffer.getvalue())
    with pytest.raises(ValueError, match="not a regular file"):
        cifar100.load_data(progress=False)


# ---- IMDB -----------------------------------------------------------------------------------------------

# raw word ranks as stored in imdb.npz; each review gets a distinct label-like tag in y so order is visible
IMDB_TRAIN = [[1, 2, 3], [4, 5], [6, 1, 1, 7]]
IMDB_TEST = [[2, 8], [9]]


def serve_imdb(serve):
    serve("imdb.npz", npz_bytes(x_train=object_array(IMDB_TRAIN), y_train=np.array([0, 1, 1]),
                                x_test=object_array(IMDB_TEST), y_test=np.array([1, 0])))


def keras_order(seed, *lengths):
    """The shuffles Keras draws: one RandomState, one permutation of arange(n) per split in turn."""
    rng = np.random.RandomState(seed)
    orders = []
    for n in lengths:
        order = np.arange(n)
        rng.shuffle(order)
        orders.append(order.tolist())
    return orders


def imdb_expected(train, test, seed=113):
    """Put hand-computed per-review results into Keras's shuffled order."""
    order_train, order_test = keras_order(seed, len(train), len(test))
    return [train[i] for i in order_train], [test[i] for i in order_test], order_train, order_test


@pytest.mark.parametrize("options, train, test", [
    # defaults: start mark 1, every word shifted by 3, nothing cut
    ({}, [[1, 4, 5, 6], [1, 7, 8], [1, 9, 4, 4, 10]], [[1, 5, 11], [1, 12]]),
    # num_words=10: indexes >= 10 become oov (2)
    ({"num_words": 10}, [[1, 4, 5, 6], [1, 7, 8], [1, 9, 4, 4, 2]], [[1, 5, 2], [1, 2]]),
    # skip_top=5 as well: indexes < 5 become oov too, the start mark included (as in Keras)
    ({"num_words": 10, "skip_top": 5}, [[2, 2, 5, 6], [2, 7, 8], [2, 9, 2, 2, 2]], [[2, 5, 2], [2, 2]]),
    # oov_char=None removes the cut words instead
    ({"num_words": 10, "oov_char": None}, [[1, 4, 5, 6], [1, 7, 8], [1, 9, 4, 4]], [[1, 5], [1]]),
    # no start mark, no shift: the stored ranks
    ({"start_char": None, "index_from": 0}, IMDB_TRAIN, IMDB_TEST),
    # other marks
    ({"start_char": 7, "index_from": 10, "num_words": 15, "oov_char": 0},
     [[7, 11, 12, 13], [7, 14, 0], [7, 0, 11, 11, 0]], [[7, 12, 0], [7, 0]]),
])
def test_imdb_processing_options(serve, options, train, test):
    serve_imdb(serve)
    (x_train, y_train), (x_test, y_test) = imdb.load_data(progress=False, **options)
    expected_train, expected_test, order_train, order_test = imdb_expected(train, test)
    assert x_train.dtype == object and x_train.shape == (3,) and x_test.shape == (2,)
    assert x_train.tolist() == expected_train
    assert x_test.tolist() == expected_test
    assert y_train.tolist() == [[0, 1, 1][i] for i in order_train]
    assert y_test.tolist() == [[1, 0][i] for i in order_test]
    assert y_train.dtype == np.int64
    assert all(type(w) is int for seq in x_train for w in seq)


def test_imdb_maxlen_keeps_only_shorter_sequences(serve):
    serve_imdb(serve)
    (x_train, y_train), (x_test, y_test) = imdb.load_data(maxlen=4, progress=False)
    assert x_train.tolist() == [[1, 7, 8]] and y_train.tolist() == [1]  # len < 4, start mark counted
    assert sorted(x_test.tolist()) == [[1, 5, 11], [1, 12]]
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(maxlen=2, progress=False)


def test_imdb_seed_changes_the_order_reproducibly(serve):
    serve_imdb(serve)
    first = imdb.load_data(seed=1, progress=False)[0][1].tolist()
    assert first == imdb.load_data(seed=1, progress=False)[0][1].tolist()
    order_train, _ = keras_order(1, 3, 2)
    assert first == [[0, 1, 1][i] for i in order_train]


def test_imdb_word_index(serve):
    serve("imdb_word_index.json", json.dumps({"the": 1, "and": 2, "a": 3}).encode())
    assert imdb.get_word_index(progress=False) == {"the": 1, "and": 2, "a": 3}


def test_imdb_file_with_a_code_running_pickle_is_refused(serve):
    evil = np.empty(1, dtype=object)
    evil[0] = Evil()
    serve("imdb.npz", npz_bytes(x_train=evil, y_train=np.array([0]), x_test=evil, y_test=np.array([0])))
    with pytest.raises(pickle.UnpicklingError, match="os|posix|system"):
        imdb.load_data(progress=False)


# ---- Reuters --------------------------------------------------------------------------------------------

REUTERS_X = [[1, 2], [3, 4, 5], [6], [1, 1, 1, 1], [7, 2]]
REUTERS_Y = [0, 3, 45, 3, 10]


@pytest.mark.parametrize("options, expected", [
    ({}, [[1, 4, 5], [1, 6, 7, 8], [1, 9], [1, 4, 4, 4, 4], [1, 10, 5]]),
    ({"num_words": 8, "skip_top": 2}, [[2, 4, 5], [2, 6, 7, 2], [2, 2], [2, 4, 4, 4, 4], [2, 2, 5]]),
    ({"num_words": 8, "oov_char": None, "start_char": None}, [[4, 5], [6, 7], [], [4, 4, 4, 4], [5]]),
])
def test_reuters_processing_and_split(serve, options, expected):
    serve("reuters.npz", npz_bytes(x=object_array(REUTERS_X), y=np.array(REUTERS_Y)))
    (x_train, y_train), (x_test, y_test) = reuters.load_data(test_split=0.4, progress=False, **options)
    (order,) = keras_order(113, 5)
    assert len(x_train) == 3 and len(x_test) == 2  # int(5 * 0.6) = 3
    assert x_train.tolist() + x_test.tolist() == [expected[i] for i in order]
    assert y_train.tolist() + y_test.tolist() == [REUTERS_Y[i] for i in order]
    assert x_train.dtype == object and y_train.dtype == np.int64


def test_reuters_maxlen_word_index_and_labels(serve):
    serve("reuters.npz", npz_bytes(x=object_array(REUTERS_X), y=np.array(REUTERS_Y)))
    (x_train, _), (x_test, _) = reuters.load_data(maxlen=3, test_split=0.5, progress=False)
    # only the one-word newswire has fewer than 3 indexes once its start mark is counted
    assert x_train.tolist() + x_test.tolist() == [[1, 9]]
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.0)
    serve("reuters_word_index.json", b'{"the": 1}')
    assert reuters.get_word_index(progress=False) == {"the": 1}
    names = reuters.get_label_names()
    assert len(names) == 46 and names[3] == "earn" and names[45] == "lead"


# ---- Boston housing -------------------------------------------------------------------------------------

def test_boston_housing_shuffles_and_splits_like_keras(serve):
    x = np.arange(10 * 13, dtype=np.float64).reshape(10, 13)
    y = np.arange(10, dtype=np.float64) + 0.5
    serve("boston_housing.npz", npz_bytes(x=x, y=y))
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(progress=False)
    assert x_train.shape == (8, 13) and x_test.shape == (2, 13) and y_train.shape == (8,)
    assert x_train.dtype == y_train.dtype == np.float64
    (order,) = keras_order(113, 10)
    assert np.concatenate([y_train, y_test]).tolist() == [y[i] for i in order]
    np.testing.assert_array_equal(x_train[:, 0] / 13, y_train - 0.5)  # rows stay with their targets
    (x_train, _), (x_test, _) = boston_housing.load_data(test_split=0.5, seed=0, progress=False)
    assert len(x_train) == len(x_test) == 5
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=-0.1)


def test_keras_style_namespace():
    import nbtrain as keras

    for module in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing",
                   "digits"):
        assert callable(getattr(keras.datasets, module).load_data)
    assert callable(keras.datasets.imdb.get_word_index) and callable(keras.datasets.reuters.get_label_names)
    assert datasets.make_moons is keras.datasets.make_moons
