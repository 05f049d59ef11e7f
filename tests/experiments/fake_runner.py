"""A fake runner for the grid tests: records the commands and fabricates what each
command would leave behind (prepared corpora, a training log and model-best, test scores)."""

import shutil
from pathlib import Path
from typing import List, Optional, Sequence

import srsly
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from spacy_xfer.experiments.baseline import PARTS


def tiny_docs(n_docs: int, prefix: str = "w") -> List[Doc]:
    """Three-token docs, tagged, with one entity and one chunk each: `<prefix>0 saw it`, ..."""
    vocab = Vocab()
    docs = []
    for i in range(n_docs):
        doc = Doc(vocab, words=[f"{prefix}{i}", "saw", "it"], tags=["NNP", "VBD", "PRP"])
        doc.ents = [Span(doc, 0, 1, label="PER")]
        doc.spans["chunks"] = [Span(doc, 0, 1, label="NP"), Span(doc, 1, 2, label="VP"), Span(doc, 2, 3, label="NP")]
        docs.append(doc)
    return docs


def write_docs(path: Path, docs: Sequence[Doc]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def option(command: Sequence[str], name: str) -> str:
    """The value after `name`, or of a `--set name=value`."""
    if name in command:
        return command[list(command).index(name) + 1]
    for item in command:
        if item.startswith(f"{name}="):
            return item.split("=", 1)[1]
    raise AssertionError(f"{name} not in {command}")


class FakeRunner:
    """Records each command; `fail_on` makes commands containing that word raise it."""

    def __init__(self, evaluations=((0, 0.5), (200, 0.7), (400, 0.6)), test_score: float = 0.65):
        self.commands: List[List[str]] = []
        self.evaluations = evaluations
        self.test_score = test_score
        self.fail_on: Optional[str] = None
        self.error: BaseException = KeyboardInterrupt()

    def __call__(self, command: Sequence[str], log_path: Path) -> None:
        command = list(command)
        self.commands.append(command)
        tool, step = command[2], command[3]
        if step == "prepare":
            for part in PARTS:
                write_docs(Path(command[6]) / f"{part}.spacy", tiny_docs(20, prefix=part))
        elif step == "train":
            self.train(command, tool)
        elif step == "spacy-train":  # spaCy's own training, through our budget wrapper
            self.train(command, "spacy")
        elif step == "evaluate":
            self.evaluate(command, tool)

    def train(self, command: List[str], tool: str) -> None:
        config, out = Path(command[4]), Path(command[5] if tool == "spacy_xfer" else option(command, "--output"))
        log = Path(option(command, "training.logger.output_file" if tool == "spacy_xfer" else "--training.logger.output_file"))
        log.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_jsonl(log, [{"step": step, "score": score} for step, score in self.evaluations])
        if self.fail_on == "train":
            raise self.error
        best = out / "model-best"
        best.mkdir(parents=True)
        shutil.copy(config, best / "config.cfg")
        key = "target_score" if tool == "spacy_xfer" else "tag_acc"
        srsly.write_json(best / "meta.json", {"performance": {key: max(s for _, s in self.evaluations)}})

    def evaluate(self, command: List[str], tool: str) -> None:
        if tool == "spacy_xfer":
            scores = {"target": {"component": "target", "scores": {"target_score": self.test_score}}}
            srsly.write_json(Path(command[5]), scores)
        else:
            srsly.write_json(Path(option(command, "--output")), {"tag_acc": self.test_score})

    def steps(self) -> List[str]:
        """Each command as 'tool step' (e.g. 'spacy_xfer train')."""
        return [f"{command[2]} {command[3]}" for command in self.commands]
