#!/usr/bin/env python
"""Score the label, annotator and model checks against the demo's ground truth, without the store.

Builds the label table from ``sample_data/manifest.csv`` (media decoded with
:mod:`datasteward.media`, features from :mod:`datasteward.checks.features`;
undecodable files get no features; a multi-annotated item's delivered label is
its annotators' majority), runs :func:`datasteward.checks.labels.label_scores`
with the default thresholds and prints:

* precision and recall on flipped labels for ``model_disagreement`` and
  ``label_outlier``, beside a random baseline (as many items flagged at random)
  and a simpler baseline (any disagreeing prediction; a plain kNN majority);
* Dawid-Skene against majority-vote consensus on the multi-annotated photos;
* Krippendorff's alpha per batch and overall, class imbalance per batch, and the
  annotator and vendor scorecards. Usage::

    .venv/bin/python benchmarks/evaluate_labels.py [--jobs 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
sys.path.insert(0, str(REPO / "src"))

from datasteward import media  # noqa: E402
from datasteward.checks import agreement, features  # noqa: E402
from datasteward.checks.findings import decide, default_thresholds  # noqa: E402
from datasteward.checks.labels import SPECS, label_scores  # noqa: E402
from datasteward.checks.registry import Registry  # noqa: E402
from datasteward.errors import MediaError  # noqa: E402

BARS = {"model_disagreement": (0.5, 0.5), "label_outlier": (0.5, 0.5)}
RANDOM_DRAWS = 1000


def measure(path: str) -> dict:
    """Decode one file and compute its feature vector (worker)."""
    out: dict = {"features": None, "media_error": None, "seconds": np.nan}
    try:
        if media.modality_of(path) == "image":
            im, _ = media.load_image(path)
            rgb = np.asarray(im.convert("RGB"))
            t0 = time.perf_counter()
            out["features"] = features.image_features(rgb)
        else:
            y, info = media.load_audio(path)
            t0 = time.perf_counter()
            out["features"] = features.audio_features(y, info.sample_rate)
        out["seconds"] = time.perf_counter() - t0
    except MediaError as exc:
        out["media_error"] = exc.reason
    return out


def plurality(values: list[str]) -> str | None:
    """Most frequent non-empty value; a tie goes to the value that sorts first."""
    values = [v for v in values if v]
    if not values:
        return None
    counts = pd.Series(values).value_counts()
    return sorted(counts.index[counts == counts.max()])[0]


def build_table(root: Path = SAMPLE, *, jobs: int = 2) -> pd.DataFrame:
    """One row per manifest item, with annotations folded in and features from its file."""
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    rows = []
    for filepath, group in manifest.groupby("filepath", sort=False):
        first = group.iloc[0]
        annotations = [{"annotator": r.annotator, "label": r.label or None, "transcript": r.transcript or None}
                       for r in group.itertuples() if r.annotator]
        multi = len(group) > 1
        rows.append({
            "id": filepath, "modality": media.modality_of(filepath), "batch": first["batch"] or None,
            "vendor": first["vendor"] or None, "language": first["language"] or None, "split": first["split"],
            "label": plurality(list(group["label"])) if multi else (first["label"] or None),
            "transcript": plurality(list(group["transcript"])) if multi else first["transcript"],
            "annotations": annotations, "prediction": first["prediction"] or None,
            "confidence": float(first["confidence"]) if first["confidence"] else np.nan,
        })
    table = pd.DataFrame(rows)
    with Pool(jobs) as pool:
        measured = pool.map(measure, [str(root / fp) for fp in table["id"]], chunksize=16)
    return pd.concat([table, pd.DataFrame(measured)], axis=1)


def precision_recall(flagged: set, truth: set) -> tuple[float, float]:
    tp = len(flagged & truth)
    return (tp / len(flagged) if flagged else float("nan")), (tp / len(truth) if truth else float("nan"))


def random_baseline(candidates: list, n: int, truth: set, *, seed: int = 0) -> tuple[float, float]:
    """Mean precision and recall of flagging ``n`` of ``candidates`` at random."""
    rng = np.random.default_rng(seed)
    hits = [len(truth & set(rng.choice(candidates, size=min(n, len(candidates)), replace=False)))
            for _ in range(RANDOM_DRAWS)]
    return float(np.mean(hits)) / max(n, 1), float(np.mean(hits)) / max(len(truth), 1)


def knn_majority_baseline(table: pd.DataFrame, *, k: int = 10) -> set:
    """Items whose label differs from the majority of their k nearest neighbours (same space as label_outlier)."""
    from sklearn.neighbors import NearestNeighbors

    flagged = set()
    for _, part in table[table["features"].notna() & table["label"].notna()].groupby("modality"):
        x = np.stack(part["features"].to_numpy()).astype(float)
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1)
        _, idx = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x).kneighbors(x)
        labels = part["label"].to_numpy()
        different = (labels[idx[:, 1:]] != labels[:, None]).mean(axis=1)
        flagged |= set(part["id"][different > 0.5])
    return flagged


def evaluate(table: pd.DataFrame, result, ground_truth: pd.DataFrame, known: pd.Series) -> dict:
    """Precision and recall of each check and its baselines on flipped labels.

    ``known`` is the recorded true class of some multi-annotated photos; a flag on
    one whose majority (delivered) label is wrong is counted separately.
    """
    registry = Registry(SPECS)
    delivered = table.set_index("id")["label"]
    wrong_majority = set(known.index[delivered.reindex(known.index) != known])
    found = decide(result.scores, registry, default_thresholds(registry))
    out = {}
    for check in BARS:
        truth = set(ground_truth.loc[(ground_truth["check"] == check) & (ground_truth["problem"] == "flipped_label"),
                                     "filepath"])
        rows = found[found["check"] == check]
        flagged = set(rows.loc[rows["fired"], "id"])
        p, r = precision_recall(flagged, truth)
        candidates = sorted(rows["id"])
        rp, rr = random_baseline(candidates, len(flagged), truth)
        if check == "model_disagreement":
            has = table[table["prediction"].notna() & table["label"].notna()]
            simple, simple_name = set(has.loc[has["prediction"] != has["label"], "id"]), "prediction != label"
        else:
            simple, simple_name = knn_majority_baseline(table), "majority of 10 neighbours disagree"
        sp, sr = precision_recall(simple, truth)
        others = ground_truth[ground_truth["filepath"].isin(flagged - truth)].drop_duplicates("filepath")
        out[check] = dict(wrong_majority=len((flagged - truth) & wrong_majority),
                          other_problems=others["problem"].value_counts().to_dict(),
                          unlisted=len(flagged - truth - set(others["filepath"])), positives=len(truth),
                          scored=len(candidates), base_rate=len(truth & set(candidates)) / max(len(candidates), 1),
                          flagged=len(flagged), tp=len(flagged & truth), precision=p,
                          recall=r, random_precision=rp, random_recall=rr, simple=simple_name,
                          simple_flagged=len(simple), simple_precision=sp, simple_recall=sr,
                          by_modality=rows[rows["fired"]]["id"].map(media.modality_of).value_counts().to_dict())
    return out


def consensus_truth(manifest: pd.DataFrame, ground_truth: pd.DataFrame, spammer: str = "ann07") -> pd.Series:
    """True class of multi-annotated photos that the spammer labelled.

    ``ground_truth`` lists the spammer's wrong answers with ``true=``; where the
    spammer is not listed, their answer was right. Photos the spammer did not label
    have no recorded truth and are left out.
    """
    gt = ground_truth[ground_truth["check"] == "annotator_quality"]
    wrong = gt.set_index("filepath")["detail"].str.extract(r"true=([^;]+)")[0]
    rows = manifest[(manifest["annotator"] == spammer) & manifest["filepath"].str.startswith("images/")]
    truth = rows.set_index("filepath")["label"]
    truth.update(wrong)
    return truth


def registry_default(check: str) -> float:
    return Registry(SPECS)[check].default_threshold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)

    t0 = time.perf_counter()
    table = build_table(jobs=args.jobs)
    t_table = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = label_scores(table)
    t_scores = time.perf_counter() - t0
    manifest = pd.read_csv(SAMPLE / "manifest.csv", dtype=str, keep_default_na=False)
    ground_truth = pd.read_csv(SAMPLE / "ground_truth.csv", dtype=str, keep_default_na=False)

    per_feature = table.groupby("modality")["seconds"].median() * 1000
    print(f"{len(table)} items; decode + features {t_table:.1f} s ({args.jobs} jobs); median feature time "
          + ", ".join(f"{m} {v:.1f} ms" for m, v in per_feature.items()) + f"; label_scores {t_scores:.1f} s")

    truth = consensus_truth(manifest, ground_truth)
    print("\n== Flipped labels (default thresholds) ==")
    for check, m in evaluate(table, result, ground_truth, truth).items():
        bar_p, bar_r = BARS[check]
        verdict = "PASS" if m["precision"] >= bar_p and m["recall"] >= bar_r else "below bar"
        print(f"{check}: {m['flagged']} flagged {m['by_modality']}, {m['tp']} of {m['positives']} flipped; "
              f"precision {m['precision']:.2f} recall {m['recall']:.2f} [{verdict} {bar_p}/{bar_r}]")
        print(f"    other flags: listed under {m['other_problems']} (of which {m['wrong_majority']} photos whose "
              f"majority label is wrong), not listed {m['unlisted']}")
        print(f"    random ({m['flagged']} of {m['scored']} scored): precision {m['random_precision']:.3f} "
              f"recall {m['random_recall']:.2f} (base rate {m['base_rate']:.3f})")
        print(f"    {m['simple']}: {m['simple_flagged']} flagged, precision {m['simple_precision']:.2f} "
              f"recall {m['simple_recall']:.2f}")

    print("\n== Consensus on multi-annotated photos the spammer labelled ==")
    items = result.items.set_index("id")
    answers = manifest[manifest["filepath"].isin(truth.index)].rename(columns={"filepath": "item"})
    mv = agreement.majority_vote(answers)
    ds = items.loc[truth.index, "consensus_label"]
    print(f"{len(truth)} photos: Dawid-Skene {np.mean(ds == truth):.3f}, majority vote "
          f"{np.mean(mv.reindex(truth.index) == truth):.3f}")

    disagreement = result.scores[result.scores["check"] == "annotator_disagreement"]
    fired = disagreement["score"] < registry_default("annotator_disagreement")
    print(f"annotator_disagreement: {len(disagreement)} items with 2+ answers, {int(fired.sum())} flagged "
          f"({int(disagreement.loc[fired, 'id'].str.startswith('images/').sum())} photos)")

    print("\n== Krippendorff's alpha (nominal, label answers) ==")
    print(f"dataset {result.alpha_dataset:.3f}; " + ", ".join(f"{b} {a:.3f}" for b, a in result.alpha_by_batch.items()))

    print("\n== Class imbalance per batch ==")
    registry = Registry(SPECS)
    batches = result.batches.assign(fired=[registry["class_imbalance"].fires(s, registry["class_imbalance"]
                                                                               .default_threshold)
                                           for s in result.batches["score"]])
    print(batches.to_string(index=False, max_colwidth=110))

    print("\n== Annotators with multi-annotated items ==")
    cards = result.annotators[result.annotators["multi_items"] > 0].sort_values("ds_accuracy")
    print(cards.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\n== Vendors ==")
    print(result.vendors.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
