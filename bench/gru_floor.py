"""How much of our batch-1 inference time the GRUs alone take, beside spaCy's CNN NER:
the floor that any speed-up outside the GRUs runs into (the speed issue's target at
batch 1 is 0.8x spaCy's rate).

It times `nlp.pipe(docs, batch_size=1)` of our pipeline (configs/single.cfg's component,
learning entities, as bench/speed.py and bench/peers.py build it) and of spaCy's CNN NER
(bench/peers.py's), each as bench/timing.py's `time_inference` does (a warm-up, then
words/s over new sentences). During our timed run, forward hooks record every call of
an `nn.GRU` in the pipeline with its inputs: the word BiGRU once per sentence and the
char BiGRU over the words the char vector cache has not seen. Those calls are then
replayed alone, in `torch.inference_mode` as the pipeline predicts, with nothing else
around them: their time per sentence is what torch's GRU costs on this model and data,
and so a floor for the pipeline at batch 1 as long as it runs `nn.GRU` (the hooks add a
Python call per GRU call to the timed run, about a microsecond). Same thread count for
all (`--threads`, default 1); run it on a quiet machine.

    python bench/gru_floor.py --data grid/corpus/s13/conll03/train.spacy --n-sentences 600
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from bench.data import describe_data, load_sentences  # noqa: E402
from bench.machine import hardware_info, set_threads  # noqa: E402
from bench.pipelines import COMPONENT, spacy_cnn_pipeline, xfer_pipeline  # noqa: E402
from bench.timing import WARMUP_SENTENCES, time_inference  # noqa: E402
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder  # noqa: E402

Call = Tuple[nn.GRU, tuple]


def gru_modules(nlp: Any) -> Dict[nn.GRU, str]:
    """The `nn.GRU` modules of the timed component, by role ("char" or "word")."""
    found: Dict[nn.GRU, str] = {}
    for node in nlp.get_pipe(COMPONENT).model.walk():
        for shim in node.shims:
            role = "char" if isinstance(shim._model, CharGRUEncoder) else "word"
            found.update((module, role) for module in shim._model.modules() if isinstance(module, nn.GRU))
    return found


def record_calls(modules: Sequence[nn.GRU]) -> Tuple[List[Call], List[Any]]:
    """Forward hooks that append (module, args) to a list; RETURNS the list and the hooks."""
    calls: List[Call] = []
    hooks = [module.register_forward_hook(lambda m, args, out: calls.append((m, args))) for module in modules]
    return calls, hooks


def replay(calls: Sequence[Call], repeat: int) -> float:
    """The fastest of `repeat` runs of all the calls, seconds."""
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeat):
            start = time.perf_counter()
            for module, args in calls:
                module(*args)
            best = min(best, time.perf_counter() - start)
    return best


def after_warmup(calls: Sequence[Call], roles: Dict[nn.GRU, str], warmup_sentences: int) -> List[Call]:
    """The calls of `time_inference`'s timed run: those after its warm-up's
    `warmup_sentences` word-GRU calls (one per sentence with tokens at batch 1; a
    sentence's char-GRU call, if any, comes before its word-GRU call)."""
    seen = 0
    for i, (module, _) in enumerate(calls):
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
    args = parser.parse_args(argv)
    set_threads(args.threads)
    sentences = load_sentences(args.data, args.n_sentences, 0, ents=True)
    print(f"hardware: {hardware_info()}")
    print(f"data: {describe_data(sentences)}")

    nlp, examples, _ = xfer_pipeline(sentences, target="ents")
    docs = [eg.reference for eg in examples][: args.infer_sentences]
    roles = gru_modules(nlp)
    calls, hooks = record_calls(list(roles))
    ours = time_inference(nlp, docs, 1)
    for hook in hooks:
        hook.remove()
    timed = after_warmup(calls, roles, sum(1 for doc in docs[:WARMUP_SENTENCES] if len(doc)))
    n = ours["sentences"]
    per_sentence = {role: 1000 * replay([c for c in timed if roles[c[0]] == role], args.repeat) / n for role in ("word", "char")}
    char_words = sum(int(args_[0].batch_sizes[0]) for module, args_ in timed if roles[module] == "char")

    cnn, cnn_examples, _ = spacy_cnn_pipeline(sentences)
    spacy_rate = time_inference(cnn, [eg.reference for eg in cnn_examples][: args.infer_sentences], 1)

    ms = {name: 1000 * run["seconds"] / run["sentences"] for name, run in (("ours", ours), ("spacy", spacy_rate))}
    budget = ms["spacy"] / 0.8
    gru = per_sentence["word"] + per_sentence["char"]
    print(f"\nbatch 1, {n} sentences, {ours['tokens'] / n:.1f} words each:")
    print(f"  ours: {ours['rate']:,.0f} words/s, {ms['ours']:.2f} ms/sentence")
    print(f"  spaCy CNN NER: {spacy_rate['rate']:,.0f} words/s, {ms['spacy']:.2f} ms/sentence "
          f"(ours / spaCy {ours['rate'] / spacy_rate['rate']:.2f})")
    print(f"  nn.GRU calls replayed alone: word BiGRU {per_sentence['word']:.2f} ms/sentence, "
          f"char BiGRU {per_sentence['char']:.2f} ms/sentence ({char_words / n:.1f} new words per sentence)")
    print(f"  0.8x spaCy's rate allows {budget:.2f} ms/sentence; the GRUs alone take {gru:.2f} ms "
          f"({gru / budget:.0%} of it), the rest of ours {ms['ours'] - gru:.2f} ms")


if __name__ == "__main__":
    main()
