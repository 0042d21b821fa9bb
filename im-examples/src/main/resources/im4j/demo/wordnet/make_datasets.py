#!/usr/bin/env python3
"""Builds the demo's instruction datasets from WordNet 3.0 glosses (Debian package wordnet-base).

How to run (from the repository root):

    apt-get install -y wordnet-base
    python3 im-examples/src/main/resources/im4j/demo/wordnet/make_datasets.py

Two tasks, each with a train and a held-out split (disjoint synsets), in `messages` JSONL:

- `name-the-word`: long instruction, short output. The instruction gives a definition and its
  usage examples with the word blanked out; the output is the word. Length ratio far above 1,
  where the paper finds Instruction Modelling helps most.
- `define-the-word`: short instruction, long output. The instruction names a word; the output is
  its definition followed by its usage examples. Length ratio below 1.

Selection (deterministic): noun, verb and adjective synsets whose first lemma is a single
lower-case word of 3 to 15 letters that occurs in at least one of the synset's examples. Splits
by a hash of the synset's offset. The WordNet licence requires its notice on every copy: see
LICENSE-WordNet.txt beside the data.
"""
import hashlib
import json
import os
import re

WORDNET = "/usr/share/wordnet"
OUT = os.path.dirname(os.path.abspath(__file__))
TRAIN, HELDOUT = 1200, 200  # examples per task and split
WORD = re.compile(r"^[a-z]{3,15}$")


def data_file(pos):
    """(offset, lemmas, gloss) of every synset in WordNet's data.<pos> file, in file order."""
    with open(os.path.join(WORDNET, "data." + pos), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue  # licence header
            fields, _, gloss = line.partition(" | ")
            parts = fields.split()
            offset, count = parts[0], int(parts[3], 16)
            lemmas = [parts[4 + 2 * i] for i in range(count)]
            yield offset, lemmas, gloss.strip()


def synsets():
    for pos in ("noun", "verb", "adj"):
        for offset, lemmas, gloss in data_file(pos):
            yield pos, offset, lemmas, gloss


def split_gloss(gloss):
    """A gloss is 'definition; definition; "example"; "example"'."""
    examples = re.findall(r'"([^"]+)"', gloss)
    definition = re.sub(r'"[^"]*"', "", gloss)
    definition = "; ".join(p.strip() for p in definition.split(";") if p.strip())
    return definition, [e.strip() for e in examples]


def rank(offset, pos):
    return hashlib.sha256((pos + offset).encode()).hexdigest()


def chosen_synsets():
    """Every eligible synset as (rank, pos, offset, word, definition, examples, blanked), sorted by
    rank: the demo takes name-the-word's synsets first, then define-the-word's."""
    chosen = []
    for pos, offset, lemmas, gloss in synsets():
        word = lemmas[0].split("(")[0]
        if not WORD.match(word):
            continue
        definition, examples = split_gloss(gloss)
        pattern = re.compile(r"\b" + word + r"\b")
        blanked = [pattern.sub("___", e) for e in examples if pattern.search(e)]
        if not definition or not blanked:
            continue
        chosen.append((rank(offset, pos), pos, offset, word, definition, examples, blanked))
    chosen.sort()
    return chosen


def heldout_synsets():
    """The synsets of both tasks' held-out splits, as (pos, offset, word)."""
    chosen = chosen_synsets()
    name = chosen[TRAIN : TRAIN + HELDOUT]
    define = chosen[2 * TRAIN + HELDOUT : 2 * (TRAIN + HELDOUT)]
    return [(pos, offset, word) for _, pos, offset, word, *_ in name + define]


def main():
    chosen = chosen_synsets()
    pos_name = {"noun": "noun", "verb": "verb", "adj": "adjective"}
    name_rows, define_rows = [], []
    for _, pos, _, word, definition, examples, blanked in chosen[: 2 * (TRAIN + HELDOUT)]:
        uses = "; ".join('"' + b + '"' for b in blanked)
        name_rows.append(
            (
                f"Which {pos_name[pos]} is described below? Answer with the word only.\n"
                f"Definition: {definition}.\nUsed as in: {uses}.",
                word,
            )
        )
        define_rows.append(
            (
                f"Define the {pos_name[pos]} \"{word}\".",
                f"{definition[0].upper()}{definition[1:]}. For example: "
                + "; ".join('"' + e + '"' for e in examples)
                + ".",
            )
        )
    # name-the-word takes the first TRAIN + HELDOUT synsets, define-the-word the next ones.
    tasks = {
        "name-the-word": name_rows[: TRAIN + HELDOUT],
        "define-the-word": define_rows[TRAIN + HELDOUT :],
    }
    for task, rows in tasks.items():
        for split, part in (("train", rows[:TRAIN]), ("heldout", rows[TRAIN:])):
            path = os.path.join(OUT, f"{task}.{split}.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                for instruction, output in part:
                    row = {
                        "messages": [
                            {"role": "user", "content": instruction},
                            {"role": "assistant", "content": output},
                        ]
                    }
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(path, len(part))


if __name__ == "__main__":
    main()
