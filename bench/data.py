"""The benchmark's data: seeded synthetic sentences, or a corpus file, as (words, labels).

Synthetic data (default): a Zipfian vocabulary of ~10k word types, sentence lengths 5-45
averaging ~24, 45 tags (or entity tags derived from them). A corpus: a `word<TAB>tag`
file with blank lines between sentences, or a DocBin (`.spacy`) whose entities are the
labels.
"""

import itertools
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

Sentence = Tuple[List[str], List[str]]


# 45 Penn Treebank tags, for realistic-looking synthetic labels.
PTB_TAGS = (
    "NN IN NNP DT JJ NNS , . CD RB VBD VB CC TO VBZ VBN PRP VBG VBP MD POS PRP$ $ `` '' : "
    "WDT JJR NNPS RP WP WRB JJS RBR -RRB- -LRB- EX RBS PDT FW WP$ # UH SYM LS"
).split()
PUNCT = [",", ".", "``", "''", ":", "$", "-", "--", "%", "(", ")", ";", "'s", "n't", "&"]
LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
LETTER_FREQ = numpy.array(
    [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0,
     1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
)


def synthetic_corpus(n_sentences: int, seed: int, n_types: int = 10000, n_tags: int = 45) -> List[Sentence]:
    """Seeded synthetic tagged sentences with a Zipf-Mandelbrot word distribution.

    Frequent words are short (the most frequent ones include punctuation), rare ones
    longer (about 2 + 1.5 * log10(rank) characters); ~12% of word types are
    capitalised and ~3% are numbers. Each type has a main tag (tags themselves are
    Zipfian) and a second one used 10% of the time. Lengths are normal(24, 10)
    clipped to 5..45.
    """
    rng = numpy.random.default_rng(seed)
    letter_p = LETTER_FREQ / LETTER_FREQ.sum()
    types: List[str] = []
    seen = set()
    punct_ranks = set(rng.choice(numpy.arange(30), size=len(PUNCT), replace=False).tolist())
    punct = iter(PUNCT)
    for rank in range(1, n_types + 1):
        if rank - 1 in punct_ranks:
            word = next(punct)
        else:
            while True:
                kind = rng.random()
                if kind < 0.03:
                    word = str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
                    if rng.random() < 0.3:
                        word += "." + str(int(rng.integers(0, 100)))
                else:
                    length = 1 + int(rng.poisson(max(0.5, 1.0 + 1.5 * math.log10(rank))))
                    word = "".join(rng.choice(list(LETTERS), size=length, p=letter_p))
                    if kind > 0.88:
                        word = word.capitalize()
                if word not in seen:
                    break
        seen.add(word)
        types.append(word)
    word_p = 1.0 / (numpy.arange(1, n_types + 1) + 2.7)
    word_p /= word_p.sum()
    tag_names = (PTB_TAGS * ((n_tags // len(PTB_TAGS)) + 1))[:n_tags]
    tag_names = [name if i < len(PTB_TAGS) else f"{name}{i}" for i, name in enumerate(tag_names)]
    tag_p = 1.0 / numpy.arange(1, n_tags + 1) ** 1.1
    tag_p /= tag_p.sum()
    main_tag = rng.choice(n_tags, size=n_types, p=tag_p)
    other_tag = rng.choice(n_tags, size=n_types, p=tag_p)
    lengths = numpy.clip(numpy.rint(rng.normal(24, 10, size=n_sentences)), 5, 45).astype(int)
    sentences: List[Sentence] = []
    for length in lengths:
        ids = rng.choice(n_types, size=length, p=word_p)
        swap = rng.random(length) < 0.1
        tags = numpy.where(swap, other_tag[ids], main_tag[ids])
        sentences.append(([types[i] for i in ids], [tag_names[t] for t in tags]))
    return sentences


def read_tagged(path: str, limit: Optional[int]) -> List[Sentence]:
    """The sentences of a `word<TAB>tag` file (blank lines between sentences; or PTB
    `word/TAG` text), read by the package's `ptb` reader.

    RAISES (CorpusFormatError): A malformed line, naming the file and line.
    """
    from spacy_xfer.corpora.readers import TAG, read_corpus

    sentences = ((sentence.words, sentence.labels[TAG]) for sentence in read_corpus(path, "ptb"))
    return list(itertools.islice(sentences, limit))


def read_docbin(path: str, limit: Optional[int]) -> List[Sentence]:
    """The words of a DocBin's docs (e.g. a prepared `corpus/conll03/train.spacy`), each
    with its entities as IOB2 tags ("O" outside)."""
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab)
    sentences = [
        ([t.text for t in doc], [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_type_ else "O" for t in doc]) for doc in docs
    ]
    return sentences[:limit] if limit else sentences


ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")


def entity_tags(words: Sequence[str], tags: Sequence[str]) -> List[str]:
    """IOB2 entity tags for a synthetic sentence: a run of proper-noun tags (NNP, NNPS) is
    an entity (~13% of tokens are in one), of one of CoNLL03's four types chosen by its
    first word."""
    out: List[str] = []
    for i, (word, tag) in enumerate(zip(words, tags)):
        if tag not in ("NNP", "NNPS"):
            out.append("O")
        elif i and tags[i - 1] in ("NNP", "NNPS"):
            out.append("I-" + out[-1][2:])
        else:
            out.append("B-" + ENTITY_TYPES[sum(map(ord, word)) % len(ENTITY_TYPES)])
    return out


def load_sentences(data: Optional[str], n_sentences: Optional[int], seed: int, ents: bool = False) -> List[Sentence]:
    """The benchmark's sentences as (words, labels).

    data (Optional[str]): A `word<TAB>tag` file, a DocBin (`.spacy`, labels from its
        entities), or None for `synthetic_corpus`.
    n_sentences (Optional[int]): At most this many (synthetic: exactly, default 2000).
    seed (int): Seed of the synthetic corpus.
    ents (bool): Labels are IOB2 entity tags (`entity_tags` of synthetic tags).
    RAISES (SystemExit): If there are no sentences, or entity labels are asked of a
        tagged file.
    """
    if data and data.endswith(".spacy"):
        sentences = read_docbin(data, n_sentences)
    elif data:
        sentences = read_tagged(data, n_sentences)
        if ents:
            raise SystemExit(f"{data}: entity labels need a DocBin (.spacy) with entities")
    else:
        sentences = synthetic_corpus(n_sentences or 2000, seed)
        if ents:
            sentences = [(words, entity_tags(words, tags)) for words, tags in sentences]
    if not sentences:
        raise SystemExit(f"no sentences in {data or 'the synthetic corpus'}")
    return sentences


def describe_data(sentences: Sequence[Sentence]) -> Dict[str, Any]:
    lengths = numpy.array([len(words) for words, _ in sentences])
    return {
        "sentences": len(sentences),
        "tokens": int(lengths.sum()),
        "mean_len": round(float(lengths.mean()), 1),
        "max_len": int(lengths.max()),
        "word_types": len({w for words, _ in sentences for w in words}),
        "tags": len({t for _, tags in sentences for t in tags}),
        "mean_chars_per_token": round(
            float(numpy.mean([len(w) for words, _ in sentences for w in words])), 2
        ),
    }
