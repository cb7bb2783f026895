"""Data Steward's Streamlit entry point: page routing and the shared sidebar only."""

import streamlit as st

from datasteward import ui

st.set_page_config(page_title="Data Steward", layout="wide")
ui.warm_up()
ui.require_login()  # only when .streamlit/secrets.toml configures [auth]

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True, url_path="home"),
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview"),
    st.Page("pages/images.py", title="Images", icon=":material/image:", url_path="images"),
    st.Page("pages/audio.py", title="Audio", icon=":material/graphic_eq:", url_path="audio"),
    st.Page("pages/review.py", title="Review", icon=":material/fact_check:", url_path="review"),
    st.Page("pages/expectations.py", title="Expectations", icon=":material/rule:", url_path="expectations"),
    st.Page("pages/drift.py", title="Drift", icon=":material/trending_up:", url_path="drift"),
    st.Page("pages/scorecard.py", title="Scorecard", icon=":material/leaderboard:", url_path="scorecard"),
]
navigation = st.navigation(pages)
st.session_state["dataset_name"] = ui.pick_dataset(ui.dataset_names())
ui.current_user()
navigation.run()
