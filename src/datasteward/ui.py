"""Streamlit helpers shared by the pages: the current dataset and user, cached loaders, start-up warm-up."""

from __future__ import annotations

import os
import threading

import streamlit as st

from datasteward import store


def _leave_pages_directory_mode() -> None:
    """Route every request through ``app.py``'s ``st.navigation``, even a shared link opened first on a fresh server.

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app
    until the entry point has called ``st.navigation`` once; until then a link such
    as ``/review?dataset=x`` runs ``pages/review.py`` alone, without the sidebar and
    the dataset picker. Every page imports this module, so the first such run
    switches the mode off and reruns, and the rerun goes through ``app.py``.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Start librosa's first (numba-compiling) call in the background, once per server."""
    from datasteward.media import start_warm_up

    return start_warm_up()


@st.cache_data(ttl=10, show_spinner=False)
def dataset_names() -> list[str]:
    return store.list_datasets()


def dataset_stamp(name: str) -> tuple:
    """Changes whenever the dataset's samples change; the key of every cached loader."""
    basis = store.sample_basis(store.open_dataset(name))
    return basis["count"], str(basis["last"]), store.revision(name)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_summary(name: str, stamp: tuple) -> dict:
    return store.summary(store.open_dataset(name))


@st.cache_data(max_entries=256, show_spinner=False)
def _chart_spec(builder: str, args: tuple, kwargs: dict) -> dict:
    from datasteward import charts

    return charts.spec_of(builder, args, kwargs)


def chart(builder: str, *args, key: str, container=None, on_select="ignore", **kwargs):
    """Draw ``charts.<builder>(*args, **kwargs)`` from a spec cached on those arguments; returns the chart's state.

    Building and validating an Altair chart on every render costs tens of
    milliseconds a chart (:func:`datasteward.charts.to_spec`).
    """
    spec = _chart_spec(builder, args, kwargs)
    return (container or st).vega_lite_chart(spec=spec, key=key, width="stretch", on_select=on_select)


def pick_dataset(names: list[str]) -> str | None:
    """The dataset named in the URL (``?dataset=``), else the first; kept in the URL for sharing."""
    wanted = st.query_params.get("dataset")
    if wanted and wanted not in names:  # created since the list was cached, perhaps by another user
        dataset_names.clear()
        names = dataset_names()
    if not names:
        return None
    index = names.index(wanted) if wanted in names else 0
    choice = st.sidebar.selectbox("Dataset", names, index=index, key="dataset")
    if st.query_params.get("dataset") != choice:
        st.query_params["dataset"] = choice
    return choice


def require_dataset() -> str:
    """The dataset picked in the sidebar; without one, says so and stops the page."""
    name = st.session_state.get("dataset_name")
    if name is None:
        st.info("No dataset yet: import one on the Home page.")
        st.stop()
    return name


def auth_configured() -> bool:
    """Whether login is on: ``.streamlit/secrets.toml`` has Streamlit's ``[auth]`` section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def require_login() -> None:
    """When login is on and nobody is logged in, show a login button and stop the run."""
    if auth_configured() and not st.user.get("is_logged_in"):
        st.title("Data Steward")
        st.info("Log in to review this team's data.")
        st.button("Log in", key="login", on_click=st.login, type="primary")
        st.stop()


def current_user() -> str:
    """The logged-in identity when login is on; else the name given at start (``DATASTEWARD_USER``) or in the sidebar."""
    if auth_configured():
        actor = current_actor()
        st.sidebar.text(f"Signed in as {actor.name} ({actor.role})")
        st.sidebar.button("Log out", key="logout", on_click=st.logout)
        return actor.name
    default = os.environ.get("DATASTEWARD_USER") or os.environ.get("USER") or "anonymous"
    return st.sidebar.text_input("Your name", value=st.session_state.get("user", default), key="user")


@st.cache_data(max_entries=32, show_spinner=False)
def scan_info(name: str, stamp: tuple) -> dict:
    """What the last scan recorded on the dataset (time, agreement, scorecards)."""
    # The server's dataset object is shared; a scan from the CLI changes the info behind its back.
    return dict(store.refresh_info(store.open_dataset(name)).get("scan") or {})


def current_actor():
    """The current user as a review :class:`~datasteward.review.Actor`.

    With login on, the name is the login identity and the role comes from the
    roles mapping (:mod:`datasteward.auth`); without it, the name given at start
    and the role from ``DATASTEWARD_ROLE``.
    """
    from datasteward import auth
    from datasteward.review import Actor

    if auth_configured():
        who = auth.identity(st.user) if st.user.get("is_logged_in") else None
        if who is None:
            return Actor("anonymous", "viewer")
        return Actor(who, auth.role_for(who, auth.read_roles(secrets=st.secrets)))
    name = st.session_state.get("user") or os.environ.get("DATASTEWARD_USER") or "anonymous"
    return Actor(name, os.environ.get("DATASTEWARD_ROLE", "reviewer"))


# Widgets whose value lives in the URL, so that every page state is a shareable link.
#
# Each helper restores the widget from ``st.query_params[param]`` the first time it is
# drawn in a session (when ``key`` is not yet in ``st.session_state``), and writes the
# value back on every run; a value equal to the default is removed from the URL to keep
# links short. Options travel as ``str(option)``, and a list as a repeated parameter
# (``?batch=b01&batch=b02``). A URL value that is not an option is dropped with a
# warning naming it, never a crash. ``param`` defaults to ``key``; pages use page-prefixed
# keys (``rv_batch``) and short parameters (``batch``). ``container`` is where the widget
# goes (``st``, a column, the sidebar). Extra keyword arguments go to the Streamlit widget,
# except Streamlit's ``index``/``value``/``default``: the helpers set the value through
# session state (``param_select`` and ``param_int`` take a ``default`` of their own).
# To change such a widget from code (a click elsewhere), call ``set_param(key, value)``
# before the widget is drawn, or in a callback.
#
#     owners = ui.param_multiselect("Owner", OWNERS, key="rv_owner", param="owner")
#     status = ui.param_select("Status", STATUSES, key="rv_status", param="status")
#     page = ui.param_int("Page", key="rv_page", param="page", min_value=1, max_value=pages)


def param_multiselect(label: str, options, *, key: str, param: str | None = None, container=st, **kwargs) -> list:
    """A multiselect kept in the URL as a repeated parameter; returns the chosen options."""
    options = list(options)
    by_text = {str(o): o for o in options}
    param = param or key

    def parse(raw: list[str]):
        unknown = [r for r in raw if r not in by_text]
        if unknown:
            st.warning(f"Link parameter {param}: {', '.join(map(repr, unknown))} not found; ignored.")
        return [by_text[r] for r in dict.fromkeys(raw) if r in by_text]

    _restore(key, param, parse, [])
    kept = [v for v in st.session_state[key] if str(v) in by_text]  # the options may have changed
    if kept != st.session_state[key]:
        st.session_state[key] = kept
    value = container.multiselect(label, options, key=key, **kwargs)
    _write(param, [str(v) for v in value], [])
    return value


def param_select(label: str, options, *, key: str, param: str | None = None, default=None, container=st,
                 **kwargs):
    """A selectbox kept in the URL; ``default`` (else the first option) is left out of the URL."""
    options = list(options)
    by_text = {str(o): o for o in options}
    param = param or key
    default = options[0] if default is None and options else default

    def parse(raw: list[str]):
        if raw[-1] not in by_text:
            st.warning(f"Link parameter {param}: {raw[-1]!r} not found; ignored.")
            return default
        return by_text[raw[-1]]

    _restore(key, param, parse, default)
    if options and str(st.session_state[key]) not in by_text:
        st.session_state[key] = default
    value = container.selectbox(label, options, key=key, **kwargs)
    _write(param, None if value is None else str(value), None if default is None else str(default))
    return value


def param_int(label: str, *, key: str, param: str | None = None, min_value: int = 0, max_value: int | None = None,
              default: int | None = None, container=st, **kwargs) -> int:
    """A whole-number input kept in the URL; a value outside the range is clamped into it."""
    param = param or key
    default = min_value if default is None else default

    def clamp(value: int) -> int:
        return max(min_value, value if max_value is None else min(value, max_value))

    def parse(raw: list[str]):
        try:
            return clamp(int(raw[-1]))
        except ValueError:
            st.warning(f"Link parameter {param}: {raw[-1]!r} is not a whole number; ignored.")
            return default

    _restore(key, param, parse, default)
    if clamp(int(st.session_state[key])) != st.session_state[key]:
        st.session_state[key] = clamp(int(st.session_state[key]))
    value = int(container.number_input(label, min_value=min_value, max_value=max_value, step=1, key=key, **kwargs))
    _write(param, str(value), str(default))
    return value


def param_toggle(label: str, *, key: str, param: str | None = None, container=st, **kwargs) -> bool:
    """A toggle kept in the URL as ``param=1`` while it is on."""
    param = param or key
    _restore(key, param, lambda raw: raw[-1].lower() in ("1", "true", "yes", "on"), False)
    value = container.toggle(label, key=key, **kwargs)
    _write(param, "1" if value else None, None)
    return value


def param_text(label: str, *, key: str, param: str | None = None, container=st, **kwargs) -> str:
    """A text input kept in the URL (search boxes); an empty text is left out of the URL."""
    param = param or key
    _restore(key, param, lambda raw: raw[-1], "")
    value = container.text_input(label, key=key, **kwargs)
    _write(param, value or None, None)
    return value


def set_param(key: str, value) -> None:
    """Change a URL-kept widget's value from code (a click elsewhere); call it before the widget is drawn."""
    st.session_state[key] = value


def drop_param(param: str) -> None:
    """Remove ``param`` from the URL (its widget is not drawn in this state, e.g. a pager with one page)."""
    if param in st.query_params:
        del st.query_params[param]


def _restore(key: str, param: str, parse, default) -> None:
    if key in st.session_state:  # already drawn in this session: the widget holds the truth
        return
    raw = st.query_params.get_all(param)
    st.session_state[key] = parse(raw) if raw else default


def _write(param: str, value: str | list[str] | None, default: str | list[str] | None) -> None:
    if value == default or value in (None, []):  # defaults stay out of the URL
        drop_param(param)
        return
    current = st.query_params.get_all(param)
    if current != (value if isinstance(value, list) else [value]):
        st.query_params[param] = value
