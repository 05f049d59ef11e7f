"""Flair's BiLSTM-CRF (hidden 256, character embeddings and one-hot word embeddings,
untrained; the character dictionary is built from the data, so nothing is downloaded),
timed on the sentences bench/peers.py gives it. Runs in Flair's own virtual
environment (no spaCy there), one phase per process; its Python is peers.py's
`--flair-python`:

    python -m venv .venv-flair && .venv-flair/bin/pip install torch==2.13.0 && .venv-flair/bin/pip install flair==0.15.1
    python bench/peers.py --flair-python .venv-flair/bin/python

It emits the per-batch tokens and seconds; peers.py turns them into rates as for the
other systems (bench/timing.py's `rates`).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.isolation import emit  # noqa: E402  (json and subprocess only)
from bench.machine import CpuMeter, peak_rss_mb  # noqa: E402  (standard library only)


def flair_sentences(data):
    """Flair Sentences with the IOB2 entity tags as "ner" spans."""
    from flair.data import Sentence

    sentences = []
    for words, tags in data:
        sentence = Sentence(words)
        start = None
        for i, tag in enumerate(tags + ["O"]):
            if start is not None and not tag.startswith("I-"):
                sentence[start:i].add_label("ner", tags[start][2:])
                start = None
            if tag.startswith("B-"):
                start = i
        sentences.append(sentence)
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", required=True, help="JSON file of [words, IOB2 tags] pairs")
    parser.add_argument("--phase", choices=["infer", "train"], required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True, help="timed training steps")
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--infer-sentences", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import flair
    import torch
    from flair.data import Corpus, Dictionary
    from flair.datasets import SentenceDataset
    from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
    from flair.models import SequenceTagger

    torch.set_num_threads(args.threads)
    flair.set_seed(args.seed)
    flair.device = torch.device("cpu")
    data = json.loads(Path(args.sentences).read_text(encoding="utf8"))
    sentences = flair_sentences(data)
    corpus = Corpus(train=SentenceDataset(sentences), dev=SentenceDataset([]), test=SentenceDataset([]),
                    sample_missing_splits=False)
    labels = corpus.make_label_dictionary("ner", add_unk=False)  # span labels: the tagger tags BIOES
    # the characters of the data: Flair's default list of common characters is a download
    chars = Dictionary()
    for words, _ in data:
        for char in "".join(words):
            chars.add_item(char)
    embeddings = StackedEmbeddings([CharacterEmbeddings(chars), OneHotEmbeddings.from_corpus(corpus)])
    tagger = SequenceTagger(hidden_size=256, embeddings=embeddings, tag_dictionary=labels, tag_type="ner", use_crf=True)
    setup_rss = peak_rss_mb()
    batch_tokens, batch_seconds = [], []
    if args.phase == "infer":
        docs = [flair_sentences([item])[0] for item in data[: args.infer_sentences]]
        n_sentences = len(docs)
        tagger.predict(docs[: 2 * args.batch_size], mini_batch_size=args.batch_size)  # warm-up
        meter = CpuMeter()
        for i in range(0, len(docs), args.batch_size):
            batch = docs[i : i + args.batch_size]
            start = time.perf_counter()
            tagger.predict(batch, mini_batch_size=args.batch_size)
            batch_seconds.append(time.perf_counter() - start)
            batch_tokens.append(sum(len(s) for s in batch))
    else:
        optimizer = torch.optim.SGD(tagger.parameters(), lr=0.1)  # Flair's trainer's default
        generator = torch.Generator().manual_seed(args.seed)
        meter = None
        n_sentences = args.steps * args.batch_size
        for step in range(args.warmup_steps + args.steps):
            if step == args.warmup_steps:
                meter = CpuMeter()
            batch = [sentences[int(i)] for i in torch.randint(len(sentences), (args.batch_size,), generator=generator)]
            start = time.perf_counter()
            tagger.train()
            loss, _ = tagger.forward_loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for sentence in batch:
                sentence.clear_embeddings()
            if step >= args.warmup_steps:
                batch_seconds.append(time.perf_counter() - start)
                batch_tokens.append(sum(len(s) for s in batch))
    emit({
        "system": "flair", "phase": args.phase, "batch_size": args.batch_size,
        "sentences": n_sentences,
        "batch_tokens": batch_tokens, "batch_seconds": batch_seconds, "bg_cpu": meter.background_cores(),
        "setup_rss_mb": round(setup_rss, 1), "peak_rss_mb": round(peak_rss_mb(), 1), "flair": flair.__version__,
    })


if __name__ == "__main__":
    main()
