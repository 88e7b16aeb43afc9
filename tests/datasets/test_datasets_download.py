"""The download layer: cache, checksums, atomic writes, progress and the offline message."""

from __future__ import annotations

import hashlib
import io
import socket

import pytest

from nbtrain.datasets import ChecksumError, DownloadError, TextProgress, _download, cache_dir, get_file
from nbtrain.datasets._download import fetch

PAYLOAD = bytes(range(256)) * 40  # 10 kB


def test_cache_dir_defaults_to_home_and_follows_nbtrain_home(monkeypatch, tmp_path):
    monkeypatch.delenv("NBTRAIN_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".nbtrain" / "datasets"
    monkeypatch.setenv("NBTRAIN_HOME", str(tmp_path / "elsewhere"))
    assert cache_dir() == tmp_path / "elsewhere" / "datasets"


def test_download_then_cache_hit_without_network(serve, server, cache):
    serve("mnist.npz", PAYLOAD)
    path = fetch("mnist.npz", progress=False)
    assert path == cache / "mnist.npz"
    assert path.read_bytes() == PAYLOAD
    assert server.count("mnist.npz") == 1

    again = fetch("mnist.npz", progress=False)
    assert again == path
    assert server.count("mnist.npz") == 1  # served from the cache


def test_good_cached_file_needs_no_server_at_all(cache, unused_url, monkeypatch):
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(PAYLOAD)
    monkeypatch.setitem(_download.CHECKSUMS, "mnist.npz", hashlib.sha256(PAYLOAD).hexdigest())
    assert fetch("mnist.npz", base_url=unused_url, progress=False) == cache / "mnist.npz"


def test_corrupt_cached_file_is_downloaded_again(serve, server, cache):
    serve("mnist.npz", PAYLOAD)
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"truncated")
    out = io.StringIO()
    path = fetch("mnist.npz", out=out)
    assert path.read_bytes() == PAYLOAD
    assert server.count("mnist.npz") == 1
    assert "does not match its expected sha256 checksum" in out.getvalue()
    assert str(cache / "mnist.npz") in out.getvalue()


def test_corrupt_cached_file_while_offline_raises_and_keeps_nothing_new(cache, unused_url, monkeypatch, files_in):
    monkeypatch.setitem(_download.CHECKSUMS, "mnist.npz", hashlib.sha256(PAYLOAD).hexdigest())
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"truncated")
    with pytest.raises(DownloadError):
        fetch("mnist.npz", base_url=unused_url, progress=False)
    assert files_in(cache) == ["mnist.npz"]


def test_checksum_mismatch_names_expected_got_and_url_and_writes_nothing(serve, server, cache, files_in):
    expected = "0" * 64
    serve("mnist.npz", PAYLOAD, checksum=expected)
    with pytest.raises(ChecksumError) as caught:
        fetch("mnist.npz", progress=False)
    message = str(caught.value)
    assert expected in message
    assert hashlib.sha256(PAYLOAD).hexdigest() in message
    assert server.url + "mnist.npz" in message
    assert files_in(cache) == []


def test_md5_checksums_are_recognised_by_length(serve, cache):
    data = b'{"the": 1, "and": 2}'
    serve("imdb_word_index.json", data, checksum=hashlib.md5(data).hexdigest())
    assert fetch("imdb_word_index.json", progress=False).read_bytes() == data


def test_offline_error_says_where_to_put_the_file_and_where_to_get_it(cache, unused_url, monkeypatch):
    monkeypatch.setitem(_download.DEFAULT_ORIGINS, "mnist.npz", unused_url)
    with pytest.raises(DownloadError) as caught:
        fetch("mnist.npz", progress=False)
    message = str(caught.value)
    assert str(cache / "mnist.npz") in message
    assert unused_url + "mnist.npz" in message
    assert _download.CHECKSUMS["mnist.npz"] in message
    assert isinstance(caught.value, OSError)


def test_offline_error_from_a_mirror_also_names_the_original_source(cache, unused_url):
    with pytest.raises(DownloadError) as caught:
        fetch("imdb.npz", base_url=unused_url, progress=False)
    assert unused_url + "imdb.npz" in str(caught.value)
    assert str(caught.value).endswith(
        "original source is https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz")


def test_real_sources_are_keras_sources(cache, monkeypatch):
    """Offline here, the message still shows the real URL a person should fetch by hand."""
    captured = {}

    def refuse(url, timeout):
        captured["url"], captured["timeout"] = url, timeout
        raise OSError("network is unreachable")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    with pytest.raises(DownloadError) as caught:
        fetch("cifar-10-python.tar.gz", progress=False, timeout=7)
    assert captured == {"url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "timeout": 7}
    assert captured["url"] in str(caught.value)
    assert str(cache / "cifar-10-python.tar.gz") in str(caught.value)
    with pytest.raises(DownloadError):
        fetch("mnist.npz", progress=False)
    assert captured["url"] == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def test_http_error_is_a_download_error_with_the_status(serve, server):
    server.files.clear()
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch("mnist.npz", progress=False)


def test_server_that_never_answers_times_out(cache, files_in):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection in the backlog but never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DownloadError, match="timed out"):
            fetch("mnist.npz", base_url=url, progress=False, timeout=0.3)
    assert files_in(cache) == []


def test_dropped_connection_leaves_no_partial_file(serve, server, cache, files_in):
    serve("mnist.npz", PAYLOAD)
    server.truncate.add("mnist.npz")
    with pytest.raises(DownloadError, match="closed early"):
        fetch("mnist.npz", progress=False)
    assert files_in(cache) == []

    server.truncate.clear()
    assert fetch("mnist.npz", progress=False).read_bytes() == PAYLOAD
    assert files_in(cache) == ["mnist.npz"]


def test_interrupted_download_removes_its_temp_file(serve, cache, files_in):
    serve("mnist.npz", PAYLOAD)

    def interrupt(downloaded, total):
        if downloaded:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch("mnist.npz", progress=interrupt)
    assert files_in(cache) == []


def test_base_url_argument_beats_the_environment(serve, server, unused_url, monkeypatch):
    serve("mnist.npz", PAYLOAD)
    monkeypatch.setenv("NBTRAIN_DATASETS_URL", unused_url)
    assert fetch("mnist.npz", base_url=server.url.rstrip("/"), progress=False).read_bytes() == PAYLOAD


def test_cache_dir_argument_and_absolute_path(serve, tmp_path):
    serve("mnist.npz", PAYLOAD)
    folder = tmp_path / "mine"
    assert fetch("mnist.npz", cache_dir=folder, progress=False) == folder / "mnist.npz"
    target = tmp_path / "abs" / "copy.npz"
    assert fetch("mnist.npz", path=str(target), progress=False) == target
    assert target.read_bytes() == PAYLOAD


def test_get_file_without_hash_and_force_download(server, cache):
    server.files["notes.txt"] = b"hello"
    path = get_file("notes.txt", server.url + "notes.txt", progress=False)
    assert path.read_bytes() == b"hello"
    server.files["notes.txt"] = b"changed"
    assert get_file("notes.txt", server.url + "notes.txt", progress=False).read_bytes() == b"hello"
    assert get_file("notes.txt", server.url + "notes.txt", progress=False,
                    force_download=True).read_bytes() == b"changed"
    assert server.count("notes.txt") == 2


def test_progress_callback_sees_monotonic_counts_ending_at_the_total(serve, monkeypatch):
    serve("mnist.npz", PAYLOAD)
    monkeypatch.setattr(_download, "CHUNK_SIZE", 1024)
    calls = []
    fetch("mnist.npz", progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, len(PAYLOAD))
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


class FakeClock:
    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_text_progress_is_throttled_and_ends_with_a_done_line(serve, server, monkeypatch):
    data = serve("mnist.npz", PAYLOAD * 10)  # 100 kB in 100 chunks of 1 kB
    monkeypatch.setattr(_download, "CHUNK_SIZE", 1024)
    out = io.StringIO()
    bar = TextProgress(out=out, interval=0.5, clock=FakeClock(0.1))
    fetch("mnist.npz", progress=bar)
    text = out.getvalue()
    assert text.startswith(f"Downloading data from {server.url}mnist.npz\n")
    updates = text.count("\r")
    assert 10 <= updates <= 25  # about one update per 5 chunks, not one per chunk (102 calls)
    assert text.endswith("mnist.npz: 0.1 / 0.1 MB (100%) done\n")
    assert len(data) == 102400


def test_default_progress_writes_to_out_and_false_is_silent(serve, capsys):
    serve("mnist.npz", PAYLOAD)
    out = io.StringIO()
    fetch("mnist.npz", out=out)
    assert "Downloading data from" in out.getvalue() and out.getvalue().endswith("done\n")
    serve("boston_housing.npz", PAYLOAD)
    fetch("boston_housing.npz", progress=False)
    assert capsys.readouterr().out == ""


def test_text_progress_line_formats():
    bar = TextProgress(out=io.StringIO())
    bar.name = "x.npz"
    assert bar.line(4_200_000, 11_490_000) == "x.npz: 4.2 / 11.5 MB (36%)"
    assert bar.line(4_200_000, None) == "x.npz: 4.2 MB"
    assert repr(bar) == "TextProgress(interval=0.5)"


def test_every_known_file_has_an_origin_and_a_checksum_of_the_right_length():
    assert set(_download.CHECKSUMS) == set(_download.DEFAULT_ORIGINS)
    for name, checksum in _download.CHECKSUMS.items():
        assert len(checksum) == (32 if name.endswith(".json") else 64), name
        int(checksum, 16)


def test_bad_progress_argument_is_rejected(serve):
    serve("mnist.npz", PAYLOAD)
    with pytest.raises(TypeError, match="progress must be"):
        fetch("mnist.npz", progress="yes")


@pytest.mark.parametrize("force_download", [False, True])
def test_a_folder_where_the_cached_file_belongs_gets_a_clear_message(serve, server, cache, force_download):
    serve("mnist.npz", PAYLOAD)
    (cache / "mnist.npz").mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match=r"keeps the file mnist\.npz at .*mnist\.npz, but a folder is there\. "
                                                r"Move or delete the folder"):
        get_file("mnist.npz", server.url + "mnist.npz", hashlib.sha256(PAYLOAD).hexdigest(), cache_dir=cache,
                 progress=False, force_download=force_download)


def test_a_file_where_the_cache_folder_belongs_gets_a_clear_message(serve, cache):
    serve("mnist.npz", PAYLOAD)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"needs the folder .* but a file has that name"):
        fetch("mnist.npz", progress=False)
