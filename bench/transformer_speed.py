"""CPU time and memory of the transformer configs (configs/t_b_trf.cfg), offline.

Builds a BERT of random weights locally (tests/transformer_util.py: a WordPiece
vocabulary trained on the data, `save_pretrained`), either the tests' tiny one (2
layers of width 32) or BERT-base's size (`BertConfig()`: 12 layers of width 768,
30522 word pieces, 110M parameters), and the T-B pipeline of configs/t_b_trf.cfg over
it (one transformer, a CRF head per task). Then, each in a subprocess of its own so
that each peak memory is that phase's own:

- infer: CPU seconds per 1000 tokens of `nlp.pipe(docs, batch_size=B)`, after one
  warm-up batch;
- train: CPU seconds per 1000 tokens of `nlp.update(batch, sgd=optimizer)` with the
  config's optimizer (spacy_xfer.Adam.v1), one task's batch of B sentences per step
  as in task-sampled training, after one warm-up step;
- peak: `ru_maxrss` of the phase's process, model building and loading included.

CPU time is the process's (`time.process_time`), so other processes on the machine
slow it down less than wall time, but not at all only on a quiet machine. Set
OMP_NUM_THREADS=1 for a one-core figure.

Example (corpus from `python -m spacy_xfer prepare twitter_ner CORPORA corpus/twitter_ner`):
    OMP_NUM_THREADS=1 python bench/transformer_speed.py corpus/twitter_ner/train.spacy --size tiny base
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZES: Dict[str, Dict[str, Any]] = {"base": {"vocab_size": 30522}}


def build(size: str, data: Path, folder: Path) -> Path:
    """Save the BERT of `size` with a vocabulary trained on the data's sentences."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from tests.transformer_util import TINY_BERT, save_bert

    texts = [doc.text for doc in DocBin().from_disk(data).get_docs(Vocab())]
    config = {"vocab_size": 30522, **TINY_BERT} if size == "tiny" else SIZES[size]
    return save_bert(folder / size, texts, **config)


def measure(phase: str, bert: Path, data: Path, n_sentences: int, batch_size: int) -> Dict[str, Any]:
    """One phase's CPU seconds per 1000 tokens and the process's peak memory."""
    import spacy_xfer.pipeline.xfer_transformer  # noqa: F401  (before the entry point is installed)
    from spacy.util import load_config
    from spacy.training.initialize import init_nlp
    from spacy_xfer.experiments.steps import task_examples

    overrides = {
        "components.transformer.model.name": str(bert),
        "xfer.source_target": "ents",
        "xfer.target_target": "ents",
        **{f"paths.{role}_{part}": str(data) for role in ("source", "target") for part in ("train", "dev")},
    }
    config = load_config(REPO / "configs" / "t_b_trf.cfg", overrides=overrides, interpolate=False)
    nlp = init_nlp(config)
    examples = task_examples(nlp, data, "target")[: n_sentences + batch_size]
    warm_up, examples = examples[:batch_size], examples[batch_size:]
    batches = [examples[i : i + batch_size] for i in range(0, len(examples), batch_size)]
    if phase == "infer":
        list(nlp.pipe([eg.x.copy() for eg in warm_up], batch_size=batch_size))
        docs = [eg.x.copy() for eg in examples]
        start = time.process_time()
        list(nlp.pipe(docs, batch_size=batch_size))
    else:
        optimizer = nlp.create_optimizer()
        nlp.update(warm_up, sgd=optimizer)
        start = time.process_time()
        for batch in batches:
            nlp.update(batch, sgd=optimizer)
    seconds = time.process_time() - start
    tokens = sum(len(eg.x) for eg in examples)
    return {
        "phase": phase,
        "tokens": tokens,
        "batches": len(batches),
        "cpu_s_per_1k_tokens": round(1000 * seconds / tokens, 3),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="A .spacy file of sentences (e.g. twitter_ner's train.spacy).")
    parser.add_argument("--size", nargs="+", default=["tiny", "base"], choices=["tiny", "base"])
    parser.add_argument("--sentences", type=int, default=100, help="Sentences timed per phase.")
    parser.add_argument("--batch-size", type=int, default=10, help="Sentences per batch (the configs' 10).")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--phase", choices=["infer", "train"], help=argparse.SUPPRESS)
    parser.add_argument("--bert", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:  # a measuring subprocess
        result = measure(args.phase, args.bert, args.data, args.sentences, args.batch_size)
        print(json.dumps(result))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.size:
            bert = build(size, args.data, Path(tmp))
            for phase in ("infer", "train"):
                command = [sys.executable, __file__, str(args.data), "--phase", phase, "--bert", str(bert),
                           "--sentences", str(args.sentences), "--batch-size", str(args.batch_size)]
                output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                result = {"size": size, **json.loads(output.strip().splitlines()[-1])}
                print(json.dumps(result), flush=True)
                results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
