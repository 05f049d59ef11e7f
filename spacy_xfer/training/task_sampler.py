"""A training corpus that samples tasks: the training procedure of paper section 3.3.

Each step draws a task with a fixed probability (the paper's binomial case for two tasks,
categorical for N), then yields `batch_size` sentences of that task. Every Example carries
its task name in `user_data[TASK_KEY]` of both its docs, so the batcher
(`spacy_xfer.batch_by_task.v1`) and the task heads can keep tasks apart.

The stream never ends: train with `[training] max_epochs = -1`. With `max_epochs >= 0`
spaCy materialises the corpus and shuffles it every epoch, which would interleave the
tasks example by example (`spacy/training/loop.py::create_train_batches`). In streaming
mode spaCy initialises the pipeline on the first 100 examples only, so give the labels of
every task in `[initialize.components]`.

    [corpora.train]
    @readers = "spacy_xfer.TaskSampler.v1"
    seed = ${system.seed}
    batch_size = 10

    [corpora.train.tasks]

    [corpora.train.tasks.source]
    path = ${paths.source}
    prob = 0.5

    [corpora.train.tasks.target]
    path = ${paths.target}
    prob = 0.5
    rate = 0.1

    [training]
    max_epochs = -1

    [training.batcher]
    @batchers = "spacy_xfer.batch_by_task.v1"
    size = 10
"""

import logging
import math
import numbers
import os
from collections import Counter, OrderedDict
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Counter as CounterT, Dict, Iterator, List, Optional, Set, Tuple

import numpy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.corpus import walk_corpus
from spacy.util import registry
from spacy.vocab import Vocab

from ..docbin import read_docs
from ..errors import Errors
from ..labelling_rate import sample_rate
from ..tasks import TASK_KEY, make_example

if TYPE_CHECKING:
    from spacy.language import Language

FILE_TYPE = ".spacy"
REQUIRED_SETTINGS = ("path", "prob")
OPTIONAL_SETTINGS = ("rate",)

# A child of spaCy's logger, so `spacy train` shows its messages.
logger = logging.getLogger("spacy.xfer")
# How many `.spacy` files `file_sentences` keeps the sentences of (least recently read
# dropped first).
CACHED_FILES = 8
# (resolved path, id(vocab)) -> ((mtime_ns, size, inode), vocab, sentences)
_read_files: "OrderedDict[Tuple[str, int], Tuple[Tuple[int, int, int], Vocab, List[Doc]]]" = OrderedDict()
# the Examples of a finite reader's sentences, by the vocab and the sentences' identity
_made_examples: "OrderedDict[Tuple[int, Tuple[Tuple[str, Tuple[int, ...]], ...]], List[Example]]" = OrderedDict()
# the "keeps N of M sentences" messages logged so far in this process
_logged_reads: Set[Tuple[str, str, float, int, int, int]] = set()


@dataclass(frozen=True)
class TaskCorpus:
    """One task's training data, as configured.

    name (str): The task name, written to each Example's `user_data[TASK_KEY]`.
    path (Optional[Path]): The `.spacy` file or the folder of them, as configured;
        may be None for a task at rate 0.
    files (List[Path]): The `.spacy` files found at `path`, sorted.
    weight (float): The task's unnormalised sampling probability.
    rate (float): The labelling rate: the fraction of sentences kept, in (0, 1]; 0 in a
        finite reader keeps none (the task is not read).
    """

    name: str
    path: Optional[Path]
    files: List[Path]
    weight: float
    rate: float


@registry.readers("spacy_xfer.TaskSampler.v1")
def create_task_sampler_v1(
    tasks: Dict[str, Dict[str, Any]],
    *,
    seed: int = 0,
    rate_seed: int = 0,
    batch_size: int = 10,
    log_every: int = 100,
    stream: bool = True,
) -> "TaskSampler":
    """Stream training Examples forever, one task per batch, tasks drawn at random.

    tasks (Dict[str, Dict[str, Any]]): Task name -> settings: `path` (str, a `.spacy`
        DocBin or a folder of them), `prob` (float > 0, the task's sampling probability;
        the probabilities are normalised to sum to 1, so relative weights work too) and
        `rate` (float in (0, 1], default 1.0, the labelling rate). In a finite reader
        (`stream = false`) rate 0 leaves a task out without removing its block: the
        T-B and T-C configs' dev readers leave the source out this way (`[xfer]
        source_dev_rate = 0`), so a transfer run does not spend its evaluations
        scoring a task it is not selected on. A task at rate 0 may have `path = null`
        (e.g. `paths.source_dev` left unset); a path that is given must exist.
    seed (int): Seeds the task draws and the order of each task's sentences.
    rate_seed (int): Seeds which sentences a labelling rate keeps. Kept apart from `seed`
        so that runs with different seeds train on the same labelled subset.
    batch_size (int): Sentences per task batch (the paper uses 10).
    log_every (int): Log the realised task proportions every this many batches to the
        "spacy.xfer" logger at INFO; 0 turns logging off.
    stream (bool): False gives every task's kept sentences once instead, in task
        order: the finite corpus to initialize components from
        (`[initialize.components.NAME.corpus]`), since spaCy initializes from only
        100 examples of a streamed corpus.
    RETURNS (TaskSampler): A callable that takes the nlp object and returns the stream.
    """
    corpora = [read_task_settings(name, settings) for name, settings in tasks.items()]
    return TaskSampler(
        corpora,
        seed=seed,
        rate_seed=rate_seed,
        batch_size=batch_size,
        log_every=log_every,
        streaming=stream,
    )


def read_task_settings(name: str, settings: Dict[str, Any]) -> TaskCorpus:
    """Validate one task's settings from the config.

    name (str): The task name.
    settings (Dict[str, Any]): The task's block: `path`, `prob` and optionally `rate`.
    RETURNS (TaskCorpus): The validated settings with the corpus files found.
    """
    unknown = sorted(set(settings) - set(REQUIRED_SETTINGS + OPTIONAL_SETTINGS))
    missing = [key for key in REQUIRED_SETTINGS if key not in settings]
    if unknown or missing:
        problem = (
            f"unknown settings {unknown}, missing settings {missing}; expected "
            f"{list(REQUIRED_SETTINGS)} and optionally {list(OPTIONAL_SETTINGS)}"
        )
        raise ValueError(Errors.E040.format(name=name, problem=problem))
    weight = settings["prob"]
    if not is_number(weight) or not 0.0 < weight < math.inf:
        problem = (
            f"invalid prob {weight!r}: expected a positive number (the probabilities of "
            "all tasks are normalised to sum to 1)"
        )
        raise ValueError(Errors.E040.format(name=name, problem=problem))
    rate = settings.get("rate", 1.0)
    if not is_number(rate) or not 0.0 <= rate <= 1.0:
        problem = f"invalid labelling rate {rate!r}: expected a number in (0, 1], or 0 in a finite reader"
        raise ValueError(Errors.E040.format(name=name, problem=problem))
    if rate == 0 and settings["path"] is None:  # left out, and no file named
        return TaskCorpus(name=name, path=None, files=[], weight=float(weight), rate=rate)
    if settings["path"] is None or not Path(settings["path"]).exists():
        problem = f"corpus path {settings['path']} not found"
        raise FileNotFoundError(Errors.E041.format(name=name, problem=problem, file_type=FILE_TYPE))
    path = Path(settings["path"])
    files = walk_corpus(path, FILE_TYPE)
    if not files:
        problem = f"no {FILE_TYPE} files found in {path}"
        raise FileNotFoundError(Errors.E041.format(name=name, problem=problem, file_type=FILE_TYPE))
    return TaskCorpus(name=name, path=path, files=files, weight=float(weight), rate=rate)


def left_out_tasks(reader: Any) -> List[str]:
    """The tasks a reader's config block leaves out (labelling rate 0), for a
    `spacy_xfer.TaskSampler.v1` block; none for any other value.

    reader (Any): A reader's block of an interpolated config, e.g. `[corpora.dev]`.
    RETURNS (List[str]): The names of its tasks with rate 0, in config order.
    """
    if not isinstance(reader, dict) or reader.get("@readers") != "spacy_xfer.TaskSampler.v1":
        return []
    tasks = reader.get("tasks", {})
    return [
        name for name, settings in tasks.items()
        if isinstance(settings, dict) and is_number(settings.get("rate", 1.0)) and settings.get("rate", 1.0) == 0
    ]


def is_number(value: Any) -> bool:
    """Whether a value read from a config or JSON is a number (int or float, not bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TaskSampler:
    """Draw a task per batch with fixed probabilities and stream its Examples forever.

    Calling it starts a new stream from the seed, so equal seeds give equal streams.
    `batch_counts` counts the batches drawn per task in the latest stream and
    `proportions` gives them as fractions, to compare with `probs`.
    """

    def __init__(
        self,
        tasks: List[TaskCorpus],
        *,
        seed: int = 0,
        rate_seed: int = 0,
        batch_size: int = 10,
        log_every: int = 100,
        streaming: bool = True,
    ) -> None:
        """Initialise the sampler.

        tasks (List[TaskCorpus]): The tasks, each with its corpus and probability.
        seed (int): Seeds the task draws and the order of each task's sentences.
        rate_seed (int): Seeds which sentences a labelling rate keeps.
        batch_size (int): Sentences per task batch.
        log_every (int): Log the realised proportions every this many batches; 0: never.
        streaming (bool): Stream forever; False yields every kept sentence once.
        """
        if not tasks:
            expected = "at least one task in spacy_xfer.TaskSampler.v1's `tasks`"
            raise ValueError(Errors.E038.format(setting="tasks", value=tasks, expected=expected))
        if batch_size < 1:
            raise ValueError(Errors.E038.format(setting="batch_size", value=batch_size, expected="an integer >= 1"))
        if log_every < 0:
            raise ValueError(Errors.E038.format(setting="log_every", value=log_every, expected="an integer >= 0"))
        for setting, value in (("seed", seed), ("rate_seed", rate_seed)):  # numpy's seeds
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(Errors.E038.format(setting=f"spacy_xfer.TaskSampler.v1's {setting}", value=value, expected="an integer >= 0"))
        unread = [task.name for task in tasks if task.rate == 0]
        if unread and (streaming or len(unread) == len(tasks)):
            need = "a streamed task needs" if streaming else "at least one task needs"
            problem = f"labelling rate 0 keeps no sentences; {need} a rate in (0, 1]"
            raise ValueError(Errors.E040.format(name=unread[0], problem=problem))
        self.tasks = sorted(tasks, key=lambda task: task.name)
        total = sum(task.weight for task in self.tasks)
        self.probs = {task.name: task.weight / total for task in self.tasks}
        self.seed = seed
        self.rate_seed = rate_seed
        self.batch_size = batch_size
        self.log_every = log_every
        self.streaming = streaming
        self.batch_counts: CounterT[str] = Counter()

    @property
    def proportions(self) -> Dict[str, float]:
        """RETURNS (Dict[str, float]): Each task's share of the batches drawn so far in
        the latest stream."""
        return _proportions(self.batch_counts, list(self.probs))

    def __call__(self, nlp: "Language") -> Iterator[Example]:
        """Read every task's corpus and start a new stream: the reader protocol.

        nlp (Language): The pipeline whose vocab the docs are read into.
        RETURNS (Iterator[Example]): The endless stream of Examples.
        """
        return self.stream(nlp.vocab)

    def stream(self, vocab: Vocab) -> Iterator[Example]:
        """Read every task's corpus and start a new stream.

        vocab (Vocab): The vocab the docs are read into.
        RETURNS (Iterator[Example]): The endless stream of Examples.
        """
        sentences = {task.name: self.read_sentences(task, vocab) for task in self.tasks}
        self.batch_counts = Counter()
        if not self.streaming:
            return iter(finite_examples(vocab, sentences))
        return self._stream(vocab, sentences, self.batch_counts)

    def read_sentences(self, task: TaskCorpus, vocab: Vocab) -> List[Doc]:
        """Read a task's sentences and keep the fraction its labelling rate asks for.

        Docs with sentence boundaries are split into sentences, so that batch sizes
        and labelling rates count sentences as in the paper; empty docs are skipped.

        The files are read once per process (`file_sentences`): `spacy train` calls
        several readers over the same files before its first step (each component's
        initialize, the training stream) and the dev reader at every evaluation. The
        "keeps N of M sentences" message is logged once per task, file and rate.

        task (TaskCorpus): The task to read.
        vocab (Vocab): The vocab to read the docs into.
        RETURNS (List[Doc]): The kept sentences, tagged with the task name; none, and
            no file read, at rate 0.
        """
        if task.rate == 0:
            message = (task.name, str(task.path), 0.0, self.rate_seed, 0, 0)
            if message not in _logged_reads:
                _logged_reads.add(message)
                logger.info("TaskSampler: task '%s' left out (rate 0): %s not read", task.name, task.path)
            return []
        sentences = [sentence for loc in task.files for sentence in file_sentences(loc, vocab)]
        kept = sample_rate(sentences, task.rate, self.rate_seed)
        if not kept:
            problem = f"no non-empty docs in {task.path}"
            raise ValueError(Errors.E040.format(name=task.name, problem=problem))
        # A sentence read before for another task (the same file configured twice) is
        # copied, so that each task's examples keep their own task name.
        kept = [s if s.user_data.get(TASK_KEY, task.name) == task.name else s.copy() for s in kept]
        for sentence in kept:
            sentence.user_data[TASK_KEY] = task.name
        message = (task.name, str(task.path), task.rate, self.rate_seed, len(kept), len(sentences))
        if message not in _logged_reads:
            _logged_reads.add(message)
            logger.info(
                "TaskSampler: task '%s' keeps %d of %d sentences (rate %s) from %s",
                task.name,
                len(kept),
                len(sentences),
                task.rate,
                task.path,
            )
        return kept

    def _stream(
        self, vocab: Vocab, sentences: Dict[str, List[Doc]], counts: CounterT[str]
    ) -> Iterator[Example]:
        names = list(self.probs)
        probs = list(self.probs.values())
        draw_seed, *order_seeds = numpy.random.SeedSequence(self.seed).spawn(len(names) + 1)
        draw_rng = numpy.random.default_rng(draw_seed)
        cycles = {
            name: _cycle_shuffled(sentences[name], numpy.random.default_rng(order_seed))
            for name, order_seed in zip(names, order_seeds)
        }
        while True:
            name = names[draw_rng.choice(len(names), p=probs)]
            counts[name] += 1
            n_batches = sum(counts.values())
            if self.log_every and n_batches % self.log_every == 0:
                realised = _proportions(counts, names)
                logger.info(
                    "TaskSampler: after %d batches, task proportions (realised/configured): %s",
                    n_batches,
                    ", ".join(f"{n} {realised[n]:.3f}/{self.probs[n]:.3f}" for n in names),
                )
            for reference in islice(cycles[name], self.batch_size):
                yield make_example(vocab, reference, name)


def finite_examples(vocab: Vocab, sentences: Dict[str, List[Doc]]) -> List[Example]:
    """Each task's sentences as Examples, in order, made once per process: a later call
    with the same sentences (the same Doc objects, as `file_sentences` returns them)
    and vocab returns the same list of the same Examples, which callers must not change
    (spaCy's `Language.update` and `Language.evaluate` copy them). `spacy train` reads
    the finite readers several times: each component's initialize corpus (three for
    T-B, each an Example of every sentence of both tasks) and the dev corpus at every
    evaluation. The `CACHED_FILES` most recent lists are kept.

    sentences (Dict[str, List[Doc]]): task name -> its kept sentences.
    RETURNS (List[Example]): the Examples (`make_example`), task by task.
    """
    key = (id(vocab), tuple((name, tuple(map(id, docs))) for name, docs in sentences.items()))
    examples = _made_examples.get(key)
    if examples is None:
        # the Examples hold their reference docs, so no id in the key is reused while cached
        examples = [make_example(vocab, doc, name) for name, docs in sentences.items() for doc in docs]
        _made_examples[key] = examples
        while len(_made_examples) > CACHED_FILES:
            _made_examples.popitem(last=False)
    _made_examples.move_to_end(key)
    return examples


def file_sentences(path: Path, vocab: Vocab) -> List[Doc]:
    """The non-empty sentences of a `.spacy` file (docs with sentence boundaries split
    into sentences), read into `vocab` once per process: a later call for the same
    file, unchanged (modification time, size and inode), and the same vocab returns
    the same list of the same Doc objects, which callers must not change (the task
    sampler only sets their task name). The `CACHED_FILES` most recently read files
    are kept.

    path (Path): A `.spacy` file.
    vocab (Vocab): The vocab to read the docs into.
    RETURNS (List[Doc]): The sentences, in file order.
    RAISES (ValueError or OSError): as `DocBin.from_disk`, for a missing or invalid file.
    """
    stat = os.stat(path)
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    key = (str(Path(path).resolve()), id(vocab))
    cached = _read_files.get(key)
    if cached is not None and cached[0] == stamp and cached[1] is vocab:
        _read_files.move_to_end(key)
        return cached[2]
    sentences = [sentence for doc in read_docs(path, vocab) for sentence in _split_sentences(doc)]
    _read_files[key] = (stamp, vocab, sentences)
    _read_files.move_to_end(key)
    while len(_read_files) > CACHED_FILES:
        _read_files.popitem(last=False)
    return sentences


def _split_sentences(doc: Doc) -> List[Doc]:
    if len(doc) == 0:
        return []
    if not doc.has_annotation("SENT_START"):
        return [doc]
    sents = list(doc.sents)
    if len(sents) == 1:
        return [doc]
    return [sent.as_doc(copy_user_data=True) for sent in sents]


def _cycle_shuffled(items: List[Doc], rng: numpy.random.Generator) -> Iterator[Doc]:
    while True:
        for i in rng.permutation(len(items)):
            yield items[i]


def _proportions(counts: CounterT[str], names: List[str]) -> Dict[str, float]:
    total = sum(counts.values())
    return {name: counts[name] / total if total else 0.0 for name in names}
