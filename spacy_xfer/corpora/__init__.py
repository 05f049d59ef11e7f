"""Corpus converters: readers per format, Docs with annotations, labelling rate and splits,
label mapping tables. The CLI (`spacy-xfer convert/split/export`) wraps
`convert_corpus`, `split_corpus` and `docs_to_lines`."""

from .convert import convert_corpus, read_docs, split_corpus
from .docs import CHUNKS_KEY, doc_labels, docs_to_lines, sentence_to_doc, sentences_to_docs
from .errors import CorpusContentError, CorpusFormatError, ProblemLog
from .io import stats_path, write_atomic, write_docbin
from .mappings import LabelMap, load_label_map, mapping_names
from .readers import FORMATS, ReadOptions, Sentence, parse_columns, read_corpus
from .sampling import SPLIT_NAMES, SPLIT_ORDERS, split_items
from .stats import corpus_stats

__all__ = [
    "CHUNKS_KEY",
    "FORMATS",
    "SPLIT_NAMES",
    "CorpusContentError",
    "SPLIT_ORDERS",
    "CorpusFormatError",
    "LabelMap",
    "ProblemLog",
    "ReadOptions",
    "Sentence",
    "convert_corpus",
    "corpus_stats",
    "doc_labels",
    "docs_to_lines",
    "load_label_map",
    "mapping_names",
    "parse_columns",
    "read_corpus",
    "read_docs",
    "sentence_to_doc",
    "sentences_to_docs",
    "split_corpus",
    "split_items",
    "stats_path",
    "write_atomic",
    "write_docbin",
]
