"""BERT models built offline for the transformer tests and bench/transformer_speed.py:
a WordPiece vocabulary trained on given sentences with `tokenizers`, random weights
from a `transformers.BertConfig`, saved with `save_pretrained` (nothing downloads)."""

from pathlib import Path
from typing import Any, Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel, BertTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# 2 layers of width 32 and no dropout: updates are deterministic
TINY_BERT = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


def save_bert(path: Path, sentences: Iterable[str], vocab_size: int = 300, **config: Any) -> Path:
    """Save a BERT of random weights and its fast tokenizer to `path` (created).

    sentences (Iterable[str]): the text to train the WordPiece vocabulary on.
    vocab_size (int): the model's vocabulary rows; the WordPiece vocabulary trained on
        the text has at most as many pieces (BERT-base: 30522).
    config: `BertConfig` settings; none gives BERT-base's (12 layers of width 768).
    RETURNS (Path): `path`, a `name` for `spacy-transformers.TransformerModel.v3`.
    """
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(sentences, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    path.mkdir(parents=True, exist_ok=True)
    bert_config = BertConfig(vocab_size=max(vocab_size, tokenizer.get_vocab_size()), **config)
    BertTokenizerFast(
        tokenizer_object=tokenizer, do_lower_case=True, model_max_length=bert_config.max_position_embeddings
    ).save_pretrained(path)
    BertModel(bert_config).save_pretrained(path)
    return path
