#!/usr/bin/env python3
"""Issue 11's reference point: plain jieba + rank-bm25 over the compendium's paragraphs.

Prints the warm per-question time (ms) of top-5 BM25 retrieval over the questions of a JSONL
file, so `policybot bench` can be compared with it in the same run. Needs `pip install jieba
rank-bm25`; not part of the product or the tests.

usage: python3 benches/baseline_bm25.py ../shared/eval/dev2.jsonl [repeat]
"""
import json
import pathlib
import sys
import time

import jieba
from rank_bm25 import BM25Okapi

jieba.setLogLevel(60)
questions = [json.loads(l)["question"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
paragraphs = [
    p.strip()
    for f in sorted(pathlib.Path("data/compendium").iterdir())
    for p in f.read_text(encoding="utf-8").split("\n")
    if p.strip()
]
bm25 = BM25Okapi([list(jieba.cut(p)) for p in paragraphs])
for q in questions[:5]:  # warm-up
    bm25.get_top_n(list(jieba.cut(q)), paragraphs, n=5)
start = time.perf_counter()
for _ in range(repeat):
    for q in questions:
        bm25.get_top_n(list(jieba.cut(q)), paragraphs, n=5)
per = (time.perf_counter() - start) / (repeat * len(questions)) * 1000
print(f"paragraphs {len(paragraphs)}  questions {len(questions)} x {repeat}  {per:.2f} ms/question")
