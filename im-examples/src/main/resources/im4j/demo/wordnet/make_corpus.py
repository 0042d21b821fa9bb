#!/usr/bin/env python3
"""Builds the demo base model's pretraining corpus from WordNet 3.0 (Debian package wordnet-base).

How to run (from the repository root):

    apt-get install -y wordnet-base
    python3 im-examples/src/main/resources/im4j/demo/wordnet/make_corpus.py OUT.jsonl

Writes one `{"text": ...}` row per WordNet synset (nouns, verbs, adjectives, adverbs): its
words, part of speech, definition and usage examples, as a dictionary entry. The output is
deterministic (rows ordered by a hash of each synset's offset) and its SHA-256 is printed.

Held-out hygiene: the demo evaluates on the held-out splits of make_datasets.py. This corpus
leaves out every held-out synset, and every synset that has a held-out word among its words or
anywhere in its gloss, as the word itself or with a plain English suffix (s, es, d, ed, ing,
ly, er, est), case-insensitively. So the base model has never read a held-out word, its
definition or its examples. The counts of what was left out are printed.
"""
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_datasets  # noqa: E402  (same folder)

POS_FILES = (("noun", "noun"), ("verb", "verb"), ("adj", "adjective"), ("adv", "adverb"))
SUFFIXES = r"(?:s|es|d|ed|ing|ly|er|est)?"


def all_synsets():
    for pos, name in POS_FILES:
        for offset, lemmas, gloss in make_datasets.data_file(pos):
            yield pos, name, offset, lemmas, gloss


def words_of(lemmas):
    """Lemmas as text: underscores to spaces, adjective markers such as (a) removed."""
    return [re.sub(r"\(\w+\)$", "", lemma).replace("_", " ") for lemma in lemmas]


def entry(name, words, gloss):
    definition, examples = make_datasets.split_gloss(gloss)
    text = f"{', '.join(words)} ({name}): {definition}."
    if examples:
        text += " Examples: " + "; ".join('"' + e + '"' for e in examples) + "."
    return text


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT.jsonl")
    heldout = make_datasets.heldout_synsets()
    heldout_keys = {(pos, offset) for pos, offset, _ in heldout}
    heldout_words = sorted({word for _, _, word in heldout})
    mention = re.compile(
        r"\b(?:" + "|".join(map(re.escape, heldout_words)) + r")" + SUFFIXES + r"\b",
        re.IGNORECASE,
    )
    rows, left_out_synsets, left_out_mentions = [], 0, 0
    for pos, name, offset, lemmas, gloss in all_synsets():
        if (pos, offset) in heldout_keys:
            left_out_synsets += 1
            continue
        words = words_of(lemmas)
        text = entry(name, words, gloss)
        if mention.search(text):
            left_out_mentions += 1
            continue
        rows.append((make_datasets.rank(offset, pos), text))
    rows.sort()
    digest = hashlib.sha256()
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for _, text in rows:
            line = json.dumps({"text": text}, ensure_ascii=False) + "\n"
            f.write(line)
            digest.update(line.encode("utf-8"))
    print(f"rows {len(rows)}")
    print(f"left out: {left_out_synsets} held-out synsets, {left_out_mentions} synsets naming"
          f" one of {len(heldout_words)} held-out words")
    print(f"sha256 {digest.hexdigest()}")


if __name__ == "__main__":
    main()
