"""Audio: a paged list of clips with waveform, mel spectrogram, player and each annotator's transcript diff."""

import html
import io

import streamlit as st

from datasteward import browse, media
from datasteward import browse_ui as bu
from datasteward.errors import MediaError

P = "au"  # widget keys and query parameters of this page start with it
PAGE_SIZE = 10


@st.cache_data(max_entries=500, show_spinner=False)
def waveform(path: str, content_hash: str | None, height: int) -> dict:
    """The clip's envelope chart with time and amplitude axes (a Vega-Lite spec with Arrow data); cached per file content.

    Raises MediaError for a file that cannot be decoded.
    """
    y, info = media.load_audio(path)
    return browse.waveform_spec(browse.envelope(y, info.sample_rate), height=height)


@st.cache_data(max_entries=500, show_spinner=False)
def waveform_png(path: str, content_hash: str | None) -> bytes:
    """The clip's envelope as a PNG the size of its spectrogram; cached per file content.

    The list shows pictures rather than charts: ten charts would make the browser
    load and run Vega for every page of clips. Raises MediaError for a file that cannot be decoded.
    """
    y, info = media.load_audio(path)
    out = io.BytesIO()
    media.waveform_image(y, info.sample_rate).save(out, format="PNG")
    return out.getvalue()


def show_media(row: dict, *, chart_height: int | None = None) -> None:
    """Spectrogram, waveform and player; a corrupt or vanished file shows its reason instead.

    With ``chart_height`` the waveform is a chart with axes (the detail view), else a picture (the list).
    """
    if row["media_error"]:
        st.warning(f"{bu.name_of(row)} cannot be decoded: {row['media_error']}")
        return
    try:
        if chart_height is None:
            picture = waveform_png(row["media_path"], row["content_hash"])
        else:
            spec = waveform(row["media_path"], row["content_hash"], chart_height)
    except MediaError as exc:
        st.warning(f"{bu.name_of(row)}: {exc}")
        return
    if row["filepath"]:
        # PNG as stored: Streamlit would otherwise re-encode every RGB picture as JPEG on each render.
        st.image(row["filepath"], width="stretch", output_format="PNG")
    if chart_height is None:
        st.image(picture, width="stretch", output_format="PNG")
    else:
        st.vega_lite_chart(spec=spec, width="stretch")
    st.audio(row["media_path"], format=browse.audio_format(row["media_path"]))


def show_transcripts(row: dict) -> None:
    """The delivered transcript, and each annotator's with the differences from it highlighted."""
    st.text(f"Delivered: {row['transcript'] or '(none)'}")
    for a in row["annotations"]:
        if a["transcript"] is None:
            continue
        same = (a["transcript"] or "").split() == (row["transcript"] or "").split()
        mark = "same" if same else "differs"
        st.html(f"<div style='font-size:0.9rem'><b>{html.escape(str(a['annotator']))}</b> ({mark}): "
                f"{browse.diff_html(row['transcript'], a['transcript'])}</div>")


st.title("Audio")
name = st.session_state.get("dataset_name")
if name is None:
    st.info("No dataset yet: import one on the Home page.")
    st.stop()
page = bu.Browser(name, "audio", P, PAGE_SIZE, "clips")

row = page.selected()
if row is not None:
    with st.container(border=True, key=f"{P}_detail"):
        bu.item_header(row)
        left, right = st.columns([1, 1])
        with left:
            show_media(row, chart_height=160)
            bu.close_button(P)
        with right:
            show_transcripts(row)
            st.markdown("**Each annotator's answer**")
            st.dataframe(bu.annotators_table(row, "transcript"), hide_index=True, key=f"{P}_annotators")
            if row["audio"]:
                st.dataframe([{k: str(v) for k, v in row["audio"].items()}], hide_index=True, key=f"{P}_audio")
            page.review_tables(row)

page.stop_if_empty()
for item in page.result.rows:
    with st.container(border=True):
        head, button = st.columns([5, 1])
        duration = f" · {item['duration']:.2f} s" if item["duration"] else ""
        head.markdown(f"**{bu.md(bu.name_of(item))}** · {bu.md(item['batch'])} · {bu.md(item['language'])} · "
                      f"{bu.md(item['vendor'])}{duration}  \n{bu.md(bu.flag_summary(item))}")
        with button:
            bu.open_button(item, P)
        left, right = st.columns([1, 1])
        with left:
            show_media(item)
        with right:
            show_transcripts(item)
