"""Write assets/text_reviews: short product reviews labelled positive, negative or mixed.

The reviews are composed from phrase lists with a fixed seed. Test reviews use products
and openings that training never shows, and negations ("not great") make word order matter,
so the set checks that a model generalises rather than memorises. Run from anywhere:
    python assets/make_text_reviews.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

PRODUCTS = {
    "train": ["phone", "laptop", "blender", "jacket", "camera", "kettle", "backpack", "lamp"],
    "test": ["headset", "printer", "sofa", "watch"],
}
OPENINGS = {
    "train": [
        "I bought this {p} last month.",
        "Got the {p} as a gift.",
        "We use the {p} every day.",
        "This {p} arrived on Monday.",
    ],
    "test": ["My sister recommended this {p}.", "Ordered the {p} for work."],
}
GOOD = ["great", "excellent", "sturdy", "reliable", "lovely", "fantastic", "comfortable", "quick"]
BAD = ["terrible", "flimsy", "useless", "awful", "noisy", "broken", "disappointing", "slow"]
ASPECTS = [
    "the battery",
    "the build",
    "the price",
    "the design",
    "the delivery",
    "the sound",
    "the screen",
    "the fit",
]
VERDICT = {
    "positive": ["Would buy again.", "Highly recommended!", "Five stars.", "Very happy with it."],
    "negative": ["Returning it.", "Avoid this one.", "One star.", "Waste of money."],
    "mixed": ["Some good, some bad.", "Three stars.", "It is okay overall.", "Hard to say."],
}


def clause(polarity: str, rng: random.Random) -> str:
    """A positive or negative remark, half the time said through a negation."""
    aspect = rng.choice(ASPECTS)
    if rng.random() < 0.5:
        word = rng.choice(GOOD if polarity == "positive" else BAD)
        return f"{aspect} is {word}"
    word = rng.choice(BAD if polarity == "positive" else GOOD)
    return f"{aspect} is not {word}"


def review(label: str, split: str, rng: random.Random) -> str:
    opening = rng.choice(OPENINGS[split]).format(p=rng.choice(PRODUCTS[split]))
    if label == "mixed":
        remarks = [clause("positive", rng), clause("negative", rng)]
        rng.shuffle(remarks)
        body = f"{remarks[0].capitalize()}, but {remarks[1]}."
    else:
        body = " ".join(f"{clause(label, rng).capitalize()}." for _ in range(rng.randint(1, 2)))
    # A verdict only sometimes: the remarks themselves must carry the label.
    verdict = f" {rng.choice(VERDICT[label])}" if rng.random() < 0.3 else ""
    return f"{opening} {body}{verdict}"


def write(folder: Path, split: str, per_label: int, seed: int) -> None:
    rng = random.Random(seed)
    rows = [(review(label, split, rng), label) for label in VERDICT for _ in range(per_label)]
    rng.shuffle(rows)
    with open(folder / f"{split}.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def main() -> None:
    folder = Path(__file__).resolve().parent / "text_reviews"
    folder.mkdir(exist_ok=True)
    write(folder, "train", per_label=200, seed=1)
    write(folder, "test", per_label=50, seed=2)
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
