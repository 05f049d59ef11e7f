"""`annotate --dask`: shards on a Dask LocalCluster of 2 worker processes on loopback."""

import os
import signal
import threading
import time

import pytest

from spacy_xfer.annotate.run import annotate

from ..util import import_extra
from .test_annotate import assert_same_output, read_jsonl

distributed = import_extra("distributed")

WORDS = "Anna Bob Smith lives in visited Paris New York today loves is big".split()


@pytest.fixture
def corpus(tmp_path):
    """80 sentences of 25 tokens: 4 shards of 20, each a second or so of work."""
    lines = [" ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(25)) for i in range(80)]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


@pytest.fixture
def cluster():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


def executing(dask_worker):
    return [str(ts.key) for ts in dask_worker.state.executing]


def test_dask_output_is_the_single_process_output_despite_a_killed_worker(ner_model, corpus, cluster, tmp_path):
    expected = tmp_path / "expected.jsonl"
    annotate(str(ner_model), corpus, expected, "text", "jsonl", shard_size=20, confidence=True, progress=False)
    out = tmp_path / "dask.jsonl"
    errors = []

    def run():
        try:
            annotate(str(ner_model), corpus, out, "text", "jsonl", shard_size=20, confidence=True,
                     dask=cluster.scheduler_address, progress=False)
        except BaseException as e:  # re-raised in the test's thread
            errors.append(e)

    thread = threading.Thread(target=run)
    with distributed.Client(cluster.scheduler_address) as client:
        thread.start()
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            busy = {address: keys for address, keys in client.run(executing).items() if keys}
            victim = next(iter(busy), None)
            time.sleep(0.05)
        assert victim is not None, "no worker was seen running a shard"
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        thread.join(timeout=180)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    assert_same_output(read_jsonl(expected), read_jsonl(out))
