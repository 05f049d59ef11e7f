"""The accuracy cost of quantized (int8) CPU inference on a benchmark's test set.

Loads a trained pipeline twice, as float32 and quantized (`spacy_xfer.quantize.v2` at
load, as a user would), scores both on the prepared test DocBin exactly as
`python -m spacy_xfer evaluate` does (`evaluate_pipeline`), and prints both scores,
their difference in points, and for each how many tokens are labelled differently when
each doc is predicted alone (`nlp(doc)`) rather than in batches (`nlp.pipe`): int8
activations are quantized with one scale per call, so a doc's scores depend slightly on
its batch. The per-doc pass runs on the pipeline loaded anew, so its char vector cache
does not hold the batched pass's vectors. Speed is not measured here (see
bench/speed.py).

Example (a grid run's model and its seed's prepared corpus):
    OMP_NUM_THREADS=1 python bench/quantized_accuracy.py \
        grid/runs/ptb-genia-t_a-0.001-transfer-s13/training/model-best \
        --target genia --corpus-dir grid/corpus/s13
"""

import argparse
import sys
from pathlib import Path
from typing import List, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import spacy  # noqa: E402
from spacy.tokens import Doc, DocBin  # noqa: E402

from spacy_xfer.experiments.benchmarks import prepared_benchmark
from spacy_xfer.experiments.steps import evaluate_pipeline  # noqa: E402
from spacy_xfer.pipeline.quantize import CALLBACK  # noqa: E402


def labels(doc: Doc) -> List[Tuple[str, str, str, str]]:
    """What a head can write to a token: tag, POS, entity IOB and type."""
    return [(t.tag_, t.pos_, t.ent_iob_, t.ent_type_) for t in doc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a trained pipeline (e.g. training/.../model-best)")
    parser.add_argument("--target", required=True, help="the target benchmark's name")
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"), help="where `prepare` wrote it")
    parser.add_argument("--part", default="test", help="test or dev")
    args = parser.parse_args()
    test_file = args.corpus_dir / args.target / f"{args.part}.spacy"
    target = {"target": prepared_benchmark(args.target, args.corpus_dir)["target"]}
    settings = {"float32": {}, "int8": {"nlp": {"after_pipeline_creation": CALLBACK}}}
    pipelines = {name: spacy.load(args.model, config=config) for name, config in settings.items()}
    scores = {}
    for name, nlp in pipelines.items():
        result = evaluate_pipeline(nlp, {"target": test_file}, target)["target"]
        scores[name] = {k: v for k, v in result["scores"].items() if isinstance(v, float)}
        print(f"{name}: {args.target} {args.part} ({result['tokens']} tokens): "
              + ", ".join(f"{k} {100 * v:.2f}" for k, v in scores[name].items()))
    for key in scores["float32"]:
        print(f"int8 - float32 {key}: {100 * (scores['int8'][key] - scores['float32'][key]):+.2f} points")
    docs = list(DocBin().from_disk(test_file).get_docs(pipelines["int8"].vocab))
    words = [([t.text for t in doc], [bool(t.whitespace_) for t in doc]) for doc in docs]
    for name, nlp in pipelines.items():
        batched = [labels(doc) for doc in nlp.pipe(Doc(nlp.vocab, words=w, spaces=s) for w, s in words)]
        # a pipeline loaded anew, whose char vector cache is empty: each doc's new words
        # run the char GRU at its own batch size (the fused loop, where it is installed)
        nlp = spacy.load(args.model, config=settings[name])
        alone = [labels(nlp(Doc(nlp.vocab, words=w, spaces=s))) for w, s in words]
        differ = sum(a != b for x, y in zip(batched, alone) for a, b in zip(x, y))
        print(f"{name} nlp.pipe vs nlp() per doc: {differ} of {sum(map(len, batched))} tokens labelled differently")


if __name__ == "__main__":
    main()
