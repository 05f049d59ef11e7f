"""How much of our batch-1 inference time the GRUs alone take, beside spaCy's CNN NER:
the floor that any speed-up outside the GRUs runs into (the speed issue's target at
batch 1 is 0.8x spaCy's rate), with `nn.GRU` and with the fused loop
(`spacy_xfer.models.fused_gru`) that predicts at small batches when numba is installed;
and what the CRF's Viterbi decode takes, by the compiled loop
(`spacy_xfer.models.fused_viterbi`) and by the numpy recursion it replaces.

It times `nlp.pipe(docs, batch_size=1)` of our pipeline (configs/single.cfg's component,
learning entities, as bench/speed.py and bench/peers.py build it) and of spaCy's CNN NER
(bench/peers.py's), each as bench/timing.py's `time_inference` does (a warm-up, then
words/s over new sentences). During our timed run it records every call of
`packed_bigru`, the encoders' one way into their GRUs, with its inputs: the word BiGRU
once per sentence and the char BiGRU over the words the char vector cache has not seen.
Those calls are then replayed alone, in `torch.inference_mode` as the pipeline predicts,
with nothing else around them, once by `nn.GRU` and once by the fused loop: their time
per sentence is what each implementation costs on this model and data, and so a floor
for the pipeline at batch 1 (recording adds a Python call per GRU call to the timed run,
about a microsecond). The decode calls (`CRFScores.decode`) of the timed run are
recorded and replayed the same way, once by each implementation. `--rows` also times both implementations on packed data of that
many sequences (the data's mean sentence length in words for the word BiGRU, mean word
length in characters for the char BiGRU): where the fused loop stops paying
(`pytorch_gru.FUSED_MAX_ROWS`). Same thread count for all (`--threads`, default 1); run
it on a quiet machine.

    python bench/gru_floor.py --data grid/corpus/s13/conll03/train.spacy --n-sentences 600 --rows 1 2 4 8 16 32
"""

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_sequence  # noqa: E402

from bench.data import describe_data, load_sentences  # noqa: E402
from bench.machine import hardware_info, set_threads  # noqa: E402
from bench.pipelines import COMPONENT, spacy_cnn_pipeline, xfer_pipeline  # noqa: E402
from bench.timing import WARMUP_SENTENCES, time_inference  # noqa: E402
from spacy_xfer.models import fused_gru, fused_viterbi, pytorch_char_encoder, pytorch_word_encoder  # noqa: E402
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder  # noqa: E402
from spacy_xfer.models.pytorch_crf import CRFScores  # noqa: E402
from spacy_xfer.models.pytorch_gru import FUSED, NN_GRU, forced_gru_path, inference_path, packed_bigru  # noqa: E402

Call = Tuple[nn.GRU, torch.Tensor, torch.Tensor]  # (gru, data, batch_sizes) of packed_bigru
PATHS = (NN_GRU, FUSED)


def gru_modules(nlp: Any) -> Dict[nn.GRU, str]:
    """The `nn.GRU` modules of the timed component, by role ("char" or "word")."""
    found: Dict[nn.GRU, str] = {}
    for node in nlp.get_pipe(COMPONENT).model.walk():
        for shim in node.shims:
            role = "char" if isinstance(shim._model, CharGRUEncoder) else "word"
            found.update((module, role) for module in shim._model.modules() if isinstance(module, nn.GRU))
    return found


@contextmanager
def recorded(owners: Sequence[Any], name: str) -> Iterator[List[tuple]]:
    """Inside the block, the owners' (modules' or classes') attribute `name`, one
    function in all of them, appends the arguments of every call to the list yielded,
    then runs as before."""
    original = getattr(owners[0], name)
    calls: List[tuple] = []

    def recording(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    for owner in owners:
        setattr(owner, name, recording)
    try:
        yield calls
    finally:
        for owner in owners:
            setattr(owner, name, original)


def fastest(run: Callable[[], Any], repeat: int) -> float:
    """The fastest of `repeat` calls of `run`, seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def replay_decodes(decodes: Sequence[Tuple[CRFScores]], repeat: int, use_loop: bool) -> float:
    """The fastest of `repeat` runs of all the decodes (`CRFScores.decode`'s recorded
    arguments) in `torch.inference_mode`, by the compiled loop or, with
    `fused_viterbi.AVAILABLE` off as without numba, by the recursion `decode` then takes
    (numpy's at batch 1), seconds."""
    available = fused_viterbi.AVAILABLE
    fused_viterbi.AVAILABLE = use_loop
    try:
        with torch.inference_mode():
            return fastest(lambda: [scores.decode() for (scores,) in decodes], repeat)
    finally:
        fused_viterbi.AVAILABLE = available


def replay(calls: Sequence[Call], repeat: int, path: str) -> float:
    """The fastest of `repeat` runs of all the calls by the implementation `path`
    (NN_GRU or FUSED), seconds."""
    with torch.inference_mode(), forced_gru_path(path):
        return fastest(lambda: [packed_bigru(*call) for call in calls], repeat)


def rows_sweep(roles: Dict[nn.GRU, str], lengths: Dict[str, int], rows: Sequence[int], repeat: int) -> None:
    """Print each implementation's time for one call on `rows` sequences of
    `lengths[role]` steps, and the fused loop's speed-up, for each GRU and row count."""
    print("\none packed_bigru call on ROWS sequences, microseconds (fastest of --repeat x 20 calls):")
    print(f"  {'gru':<5} {'steps':>5} {'rows':>5} {'nn.GRU':>9} {'fused':>9} {'nn.GRU / fused':>15}")
    for gru, role in roles.items():
        for n_rows in rows:
            packed = pack_sequence([torch.randn(lengths[role], gru.input_size) for _ in range(n_rows)])
            calls = [(gru, packed.data, packed.batch_sizes)] * 20
            us = {path: 1e6 * replay(calls, repeat, path) / len(calls) for path in PATHS}
            print(f"  {role:<5} {lengths[role]:>5} {n_rows:>5} {us[NN_GRU]:>9.1f} {us[FUSED]:>9.1f} {us[NN_GRU] / us[FUSED]:>15.2f}")


def after_warmup(calls: Sequence[Call], roles: Dict[nn.GRU, str], warmup_sentences: int) -> List[Call]:
    """The calls of `time_inference`'s timed run: those after its warm-up's
    `warmup_sentences` word-GRU calls (one per sentence with tokens at batch 1; a
    sentence's char-GRU call, if any, comes before its word-GRU call)."""
    seen = 0
    for i, (module, *_) in enumerate(calls):
        if seen == warmup_sentences:
            return list(calls[i:])
        seen += roles[module] == "word"
    return []


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="a DocBin (.spacy) with entities (default: synthetic sentences)")
    parser.add_argument("--n-sentences", type=int, default=600, help="sentences to initialize on and run (default: 600)")
    parser.add_argument("--infer-sentences", type=int, default=250, help="sentences timed at batch 1 (default: 250)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default: 1)")
    parser.add_argument("--repeat", type=int, default=5, help="replays of the GRU calls; the fastest counts (default: 5)")
    parser.add_argument("--rows", type=int, nargs="*", default=[], help="also time one call on this many sequences, each count (default: none)")
    args = parser.parse_args(argv)
    if not fused_gru.AVAILABLE:
        raise SystemExit("bench/gru_floor.py times nn.GRU beside the fused loop, which needs numba: "
                         "pip install 'spacy-xfer[fast]' (and NUMBA_DISABLE_JIT unset)")
    set_threads(args.threads)
    sentences = load_sentences(args.data, args.n_sentences, 0, ents=True)
    print(f"hardware: {hardware_info()}")
    print(f"data: {describe_data(sentences)}")

    nlp, examples, _ = xfer_pipeline(sentences, target="ents")
    docs = [eg.reference for eg in examples][: args.infer_sentences]
    roles = gru_modules(nlp)
    encoders = (pytorch_char_encoder, pytorch_word_encoder)  # their one way into the GRUs
    with recorded(encoders, "packed_bigru") as calls, recorded((CRFScores,), "decode") as decodes:
        ours = time_inference(nlp, docs, 1)
    timed = after_warmup(calls, roles, sum(1 for doc in docs[:WARMUP_SENTENCES] if len(doc)))
    n = ours["sentences"]
    per_sentence = {
        (role, path): 1000 * replay([c for c in timed if roles[c[0]] == role], args.repeat, path) / n
        for role in ("word", "char")
        for path in PATHS
    }
    char_words = sum(int(batch_sizes[0]) for gru, _, batch_sizes in timed if roles[gru] == "char")

    cnn, cnn_examples, _ = spacy_cnn_pipeline(sentences)
    spacy_rate = time_inference(cnn, [eg.reference for eg in cnn_examples][: args.infer_sentences], 1)

    ms = {name: 1000 * run["seconds"] / run["sentences"] for name, run in (("ours", ours), ("spacy", spacy_rate))}
    budget = ms["spacy"] / 0.8
    print(f"\nbatch 1, {n} sentences, {ours['tokens'] / n:.1f} words each:")
    print(f"  ours: {ours['rate']:,.0f} words/s, {ms['ours']:.2f} ms/sentence")
    print(f"  spaCy CNN NER: {spacy_rate['rate']:,.0f} words/s, {ms['spacy']:.2f} ms/sentence "
          f"(ours / spaCy {ours['rate'] / spacy_rate['rate']:.2f})")
    print(f"  0.8x spaCy's rate allows {budget:.2f} ms/sentence")
    for path in PATHS:
        gru = per_sentence["word", path] + per_sentence["char", path]
        print(f"  {path} calls replayed alone: word BiGRU {per_sentence['word', path]:.2f} ms/sentence, "
              f"char BiGRU {per_sentence['char', path]:.2f} ms/sentence ({char_words / n:.1f} new words per sentence); "
              f"the GRUs alone take {gru:.2f} ms ({gru / budget:.0%} of the allowance)")
    taken = 1000 * sum(
        replay([c for c in timed if inference_path(*c) == path], args.repeat, path) for path in PATHS
    ) / n
    timed_decodes = decodes[len(decodes) - sum(1 for doc in docs if len(doc)) :]  # one per sentence with tokens
    decoding = {use_loop: 1000 * replay_decodes(timed_decodes, args.repeat, use_loop) / n for use_loop in (True, False)}
    print(f"  the timed run's Viterbi decodes replayed alone: compiled loop {decoding[True]:.3f} ms/sentence, "
          f"without numba {decoding[False]:.3f} ms/sentence ({decoding[False] / decoding[True]:.1f}x)")
    print(f"  the timed run's GRU calls, each by the implementation it took, replayed alone: {taken:.2f} ms; "
          f"the rest of ours {ms['ours'] - taken:.2f} ms, of which decoding {decoding[True]:.2f} ms")
    if args.rows:
        data = describe_data(sentences)
        lengths = {"word": round(data["mean_len"]), "char": round(data["mean_chars_per_token"])}
        rows_sweep(roles, lengths, args.rows, args.repeat)


if __name__ == "__main__":
    main()
