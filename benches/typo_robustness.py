#!/usr/bin/env python3
"""Issue 8's typo measure: how much recall@3 one homophone typo per question costs.

For each answerable question of the given gold files (the tuning sets: pass `FILE:even` for the
even ids of dev2), one word the compendium uses (2-4 characters, in at least 3 places) gets one
character replaced by a homophone, as a pinyin input method would: a character with the same
toneless usual reading, one of the three most frequent in jieba's dictionary. Both versions of
every question go through `policybot ask --json`; the script prints recall@3 (gold snippet in a
top-3 clause of an `answered` reply) before and after, and, with `-v`, each question the typo
lost with what the reply read its words as. The seed picks the words and characters, so seeds
give independent samples: tune on some, check on others.

Needs `pip install jieba pypinyin` and a release build (`POLICYBOT=path` runs another binary, for
an A/B); not part of the product or the tests.

usage: python3 benches/typo_robustness.py SEED [-v] FILE[:even|:odd]...
e.g.   python3 benches/typo_robustness.py 1 ../shared/eval/dev.jsonl tests/data/gold.jsonl \
           ../shared/eval/dev2.jsonl:even
"""
import collections
import json
import os
import pathlib
import random
import re
import subprocess
import sys

import jieba
from pypinyin import lazy_pinyin

jieba.setLogLevel(60)
args = [a for a in sys.argv[1:] if a != "-v"]
verbose = "-v" in sys.argv
random.seed(int(args[0]))

char_freq = collections.Counter()
with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as dict_file:
    for line in dict_file:
        word, freq = line.split()[:2]
        for c in word:
            char_freq[c] += int(freq)
by_sound = collections.defaultdict(list)
for c, freq in char_freq.items():
    if "\u4e00" <= c <= "\u9fff":
        by_sound[lazy_pinyin(c)[0]].append((freq, c))
for chars in by_sound.values():
    chars.sort(reverse=True)

corpus = "".join(f.read_text(encoding="utf-8") for f in pathlib.Path("data/compendium").iterdir())


def homophone(c):
    same = [x for _, x in by_sound.get(lazy_pinyin(c)[0], []) if x != c][:3]
    return random.choice(same) if same else None


questions = []
for arg in args[1:]:
    path, _, half = arg.partition(":")
    for line in open(path, encoding="utf-8"):
        q = json.loads(line)
        number = int(re.sub(r"\D", "", q["id"]) or 0)
        if q.get("gold") and (not half or (number % 2 == 0) == (half == "even")):
            questions.append(q)

pairs = []
for q in questions:
    words = [
        w
        for w in jieba.cut(q["question"])
        if 2 <= len(w) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", w) and corpus.count(w) >= 3
    ]
    if not words:
        continue
    word = random.choice(words)
    at = random.randrange(len(word))
    typo = homophone(word[at])
    if typo:
        typed = word[:at] + typo + word[at + 1 :]
        pairs.append((q, q["question"].replace(word, typed, 1), word, typed))


def ask(texts):
    out = subprocess.run(
        [os.environ.get("POLICYBOT", "./target/release/policybot"), "ask", "--json"],
        input="\n".join(texts) + "\n",
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def compact(s):
    return re.sub(r"\s+", "", s)


def found(q, reply):
    hits = reply.get("hits", [])[:3] if reply.get("status") == "answered" else []
    return any(compact(g["snippet"]) in compact(h["text"]) for g in q["gold"] for h in hits)


before = ask([p[0]["question"] for p in pairs])
after = ask([p[1] for p in pairs])
n = len(pairs)
kept = sum(found(p[0], r) for p, r in zip(pairs, before))
typed = sum(found(p[0], r) for p, r in zip(pairs, after))
lost = [(p, b) for p, a, b in zip(pairs, before, after) if found(p[0], a) and not found(p[0], b)]
print(f"questions {n}  recall@3 as written {kept / n:.3f}  with one typo {typed / n:.3f}  lost {len(lost)}")
if verbose:
    for p, reply in lost:
        read = re.findall(r"“([^”]+)”按“([^”]+)”理解", reply.get("reply", ""))
        print(f"  {p[2]} -> {p[3]} | {p[1]} | read as {read} | {reply.get('status')}")
