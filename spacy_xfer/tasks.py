"""Task names on examples: what the task sampler writes and the heads, the batcher and
the experiments read (paper section 3.3). A neutral module, so that the pipeline needs
nothing of the training machinery."""

from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab

TASK_KEY = "xfer_task"  # the key of the task name in `Doc.user_data`


def make_example(vocab: Vocab, reference: Doc, task: str) -> Example:
    """An Example whose predicted doc has the reference's words (no re-tokenising)
    and both docs carry the task name."""
    reference.user_data[TASK_KEY] = task
    predicted = Doc(
        vocab,
        words=[token.text for token in reference],
        spaces=[bool(token.whitespace_) for token in reference],
        user_data={TASK_KEY: task},
    )
    return Example(predicted, reference)
