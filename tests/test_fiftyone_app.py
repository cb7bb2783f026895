"""The FiftyOne App, launched from the library, shows photos and audio spectrograms with their labels."""

from __future__ import annotations

import urllib.parse

import pytest

from browser import ARTIFACTS, free_port, wait_for_http
from datasteward import store
from datasteward.ingest import import_source

pytestmark = pytest.mark.browser


def test_app_grid_shows_images_and_spectrograms(formats, dataset_name, chromium):
    import_source(formats / "multi/manifest.csv", dataset_name)
    ds = store.open_dataset(dataset_name)
    thumbnails = set(ds.values("thumbnail"))
    spectrograms = set(ds.match({"modality": "audio"}).values("thumbnail"))
    assert len(spectrograms) == 2 and all(p.endswith(".png") for p in spectrograms)

    port = free_port()
    session = store.launch_app(dataset_name, port=port)
    try:
        url = f"http://127.0.0.1:{port}/datasets/{urllib.parse.quote(dataset_name)}"
        wait_for_http(f"http://127.0.0.1:{port}/")
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        served = []
        page.on("response", lambda r: served.append((r.status, r.url)) if "/media?" in r.url else None)
        page.goto(url, timeout=120_000)
        page.get_by_text("ground_truth").first.wait_for(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('canvas, img').length > 0", timeout=60_000)
        page.wait_for_timeout(3000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "fiftyone-app-grid.png"))
        media = {urllib.parse.unquote(urllib.parse.urlparse(u).query.split("filepath=", 1)[1]) for s, u in served if s == 200}
        assert spectrograms <= media, "every audio tile loads its spectrogram"
        assert thumbnails <= media, "every image tile loads its thumbnail"
        body = page.inner_text("body")
        assert "ground_truth" in body and "prediction" in body  # label fields the tiles draw
        page.close()
    finally:
        session.close()
