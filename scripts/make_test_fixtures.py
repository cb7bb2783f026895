"""Write the small per-format import fixtures in tests/data/formats from ../shared/data.

Run once from the repository root (the fixtures are committed; tests never read ../shared):

    .venv/bin/python scripts/make_test_fixtures.py
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import soundfile as sf
from PIL import Image

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
OUT = Path("tests/data/formats")
HEADER = ["filepath", "label", "transcript", "language", "batch", "vendor", "annotator", "prediction",
          "confidence", "split", "collected_at", "speaker", "accent", "gender", "age"]


def photos_by_class() -> dict[str, list[Path]]:
    by_class: dict[str, list[Path]] = {}
    # From the end of the list, away from the demo's first picks.
    for row in reversed(list(csv.DictReader(open(SHARED / "clothing/labels.csv")))):
        by_class.setdefault(row["label"], []).append(SHARED / "clothing" / row["filepath"])
    return by_class


def small_jpeg(src: Path, dst: Path) -> tuple[int, int]:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im.thumbnail((200, 200))
        im.convert("RGB").save(dst, "JPEG", quality=80)
        return im.size


def speakers() -> dict[str, dict]:
    return {r["speaker"]: r for r in csv.DictReader(open(SHARED / "fsdd/speakers.csv"))}


def write_imagefolder(photos) -> None:
    for split, cls, i in [("train", "shirt", 0), ("train", "shirt", 1), ("train", "pants", 0), ("train", "shoes", 0),
                          ("test", "shirt", 2), ("test", "pants", 1)]:
        src = photos[cls][i]
        small_jpeg(src, OUT / "imagefolder" / split / cls / src.name)


def write_coco(photos) -> None:
    images, anns = [], []
    cats = [{"id": 1, "name": "hat"}, {"id": 2, "name": "shoes"}, {"id": 3, "name": "dress"}]
    for i, (cls, cid) in enumerate([("hat", 1), ("shoes", 2), ("dress", 3)]):
        src = photos[cls][0]
        w, h = small_jpeg(src, OUT / "coco/images" / src.name)
        images.append({"id": 10 + i, "file_name": src.name, "width": w, "height": h})
        anns.append({"id": 100 + i, "image_id": 10 + i, "category_id": cid, "bbox": [w * 0.1, h * 0.2, w * 0.5, h * 0.6],
                     "area": w * h * 0.3, "iscrowd": 0})
    anns.append({"id": 999, "image_id": 10, "category_id": 2, "bbox": [0, 0, images[0]["width"] / 4, images[0]["height"] / 4],
                 "area": 1, "iscrowd": 0})
    (OUT / "coco/instances.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}, indent=1))


def write_multi(photos, spk) -> None:
    rows = []
    for cls, answers in [("skirt", ["skirt", "skirt", "dress"]), ("t-shirt", ["t-shirt", "shirt", "t-shirt"]),
                         ("outwear", ["outwear", "outwear", "outwear"])]:
        src = photos[cls][0]
        small_jpeg(src, OUT / "multi/images" / src.name)
        for annotator, label in zip(["ann1", "ann2", "ann3"], answers):
            rows.append({"filepath": f"images/{src.name}", "label": label, "language": "en", "batch": "b01", "vendor": "acme",
                         "annotator": annotator, "prediction": cls, "confidence": "0.9", "split": "train",
                         "collected_at": "2026-01-15T00:00:00Z"})
    (OUT / "multi/audio").mkdir(parents=True, exist_ok=True)
    for name, words in [("3_jackson_7.wav", ["three", "three"]), ("5_nicolas_3.wav", ["five", "fire"])]:
        shutil.copy(SHARED / "fsdd/recordings" / name, OUT / "multi/audio" / name)
        who = name.split("_")[1]
        for annotator, word in zip(["tx1", "tx2"], words):
            rows.append({"filepath": f"audio/{name}", "label": words[0], "transcript": word, "language": "en", "batch": "b02",
                         "vendor": "polyglot", "annotator": annotator, "split": "test", "collected_at": "2026-02-15",
                         "speaker": who, "accent": spk[who]["accent"], "gender": spk[who]["gender"]})
    with open(OUT / "multi/manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    with open(OUT / "multi/predictions.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["filepath", "prediction", "confidence"], [rows[0]["filepath"], "dress", "0.7"],
                                  ["audio/3_jackson_7.wav", "eight", "0.55"]])


def write_nemo() -> None:
    (OUT / "nemo/audio").mkdir(parents=True, exist_ok=True)
    lines = []
    for name, text in [("0_theo_1.wav", "zero"), ("7_yweweler_2.wav", "seven"), ("9_theo_4.wav", "nine")]:
        shutil.copy(SHARED / "fsdd/recordings" / name, OUT / "nemo/audio" / name)
        duration = round(sf.info(str(OUT / "nemo/audio" / name)).duration, 3)
        lines.append(json.dumps({"audio_filepath": f"audio/{name}", "duration": duration, "text": text, "lang": "en"}))
    (OUT / "nemo/manifest.jsonl").write_text("\n".join(lines) + "\n")


def write_commonvoice(spk) -> None:
    (OUT / "commonvoice/clips").mkdir(parents=True, exist_ok=True)
    rows = [["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accents", "locale"]]
    for i, (name, sentence) in enumerate([("1_jackson_9.wav", "one"), ("2_nicolas_9.wav", "two"), ("4_yweweler_9.wav", "four")]):
        mp3 = f"common_voice_en_{1000 + i}.mp3"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(SHARED / "fsdd/recordings" / name), "-ar", "16000",
                        "-b:a", "32k", str(OUT / "commonvoice/clips" / mp3)], check=True)
        who = name.split("_")[1]
        rows.append([f"client{i:03d}{who}", mp3, sentence, "2", "0", ["twenties", "thirties"][i % 2],
                     "male_masculine", spk[who]["accent"], "en"])
    (OUT / "commonvoice/validated.tsv").write_text("".join("\t".join(r) + "\n" for r in rows))


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    photos, spk = photos_by_class(), speakers()
    write_imagefolder(photos)
    write_coco(photos)
    write_multi(photos, spk)
    write_nemo()
    write_commonvoice(spk)
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files under {OUT}")


if __name__ == "__main__":
    main()
