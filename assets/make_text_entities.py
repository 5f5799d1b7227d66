"""Write assets/text_entities: short news-like sentences tagged with PER, LOC and ORG (IOB2).

Sentences are composed from templates and made-up names with a fixed seed per split, so
validation and test sentences name people, places and organisations that training (almost
never) shows: the set checks that a tagger reads context and spelling rather than memorising. CoNLL layout: one "token tag" line
per token, a blank line between sentences. Run from anywhere:
    python assets/make_text_entities.py
"""

from __future__ import annotations

import random
from pathlib import Path

SYLLABLES = [
    "ka",
    "lo",
    "ren",
    "mi",
    "sa",
    "tor",
    "vel",
    "an",
    "bri",
    "do",
    "el",
    "fu",
    "gar",
    "hi",
    "jo",
    "ni",
    "os",
    "pa",
    "ri",
    "su",
    "ta",
    "vo",
    "zen",
    "mar",
]
PLACE_ENDINGS = ["burg", "ville", "ton", "ford", "stad", "polis"]
ORG_FORMS = ["{} Corp", "{} Bank", "Bank of {}", "{} Airlines", "the {} Institute", "{} Trust"]


def word(rng: random.Random) -> str:
    """A made-up capitalised word: names a model must tag from context and spelling."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def entity(kind: str, rng: random.Random) -> str:
    if kind == "PER":
        return f"{word(rng)} {word(rng)}"
    if kind == "LOC":
        return word(rng) + rng.choice(PLACE_ENDINGS) if rng.random() < 0.5 else word(rng)
    return rng.choice(ORG_FORMS).format(word(rng))


TEMPLATES = [
    "{PER} arrived in {LOC} on Monday .",
    "{ORG} said {PER} will lead the talks in {LOC} .",
    "Officials from {ORG} met {PER} .",
    "{PER} , a spokesman for {ORG} , declined to comment .",
    "Shares of {ORG} rose 3 percent in {LOC} trading .",
    "The meeting in {LOC} was cancelled , {PER} told reporters .",
    "{PER} left {LOC} for talks with {ORG} .",
]


def tagged(template: str, rng: random.Random) -> list[tuple[str, str]]:
    """Fill a template with made-up names and tag every token (an organisation's "the" too)."""
    pairs: list[tuple[str, str]] = []
    for word in template.split():
        if word.startswith("{") and word.endswith("}"):
            kind = word[1:-1]
            tokens = entity(kind, rng).split()
            pairs += [(token, ("B-" if i == 0 else "I-") + kind) for i, token in enumerate(tokens)]
        else:
            pairs.append((word, "O"))
    return pairs


def write(folder: Path, split: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    sentences = [tagged(rng.choice(TEMPLATES), rng) for _ in range(count)]
    text = "\n\n".join(
        "\n".join(f"{token} {tag}" for token, tag in sentence) for sentence in sentences
    )
    (folder / f"{split}.conll").write_text(text + "\n", encoding="utf-8")


def main() -> None:
    folder = Path(__file__).resolve().parent / "text_entities"
    folder.mkdir(exist_ok=True)
    write(folder, "train", 400, seed=1)
    write(folder, "valid", 60, seed=3)
    write(folder, "test", 100, seed=2)
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
