"""Access: a viewer changes nothing through any library call; tags are only a mirror; roles come from the config."""

from __future__ import annotations

import pytest

from datasteward import auth, expectations, gate, review, store
from datasteward.errors import AccessDenied, SetupError
from datasteward.review import Actor
from test_review import flagged, status  # noqa: F401  (a scanned delivery with four open "dark" flags)

ANA, VIC = Actor("ana@example.com"), Actor("vic@example.com", "viewer")


def snapshot(ds) -> tuple:
    """Everything a review decision could change: flags, labels, transcripts, corrections, tags, info, history."""
    docs = list(ds._sample_collection.find({}, {"flags": 1, "ground_truth": 1, "transcript": 1, "corrections": 1,
                                                "tags": 1, "flags_rev": 1}).sort("_id", 1))
    ds.reload()
    return docs, dict(ds.info or {}), review.history(ds)


def viewer_calls(ds, dark, contract):
    sid, flag = dark[0]
    items = [(s, "dark", f["version"]) for s, f in dark]
    batch = store.batch_order(ds)[0]
    return {
        "confirm": lambda: review.act(ds, sid, "dark", "confirm", VIC, version=flag["version"], assignee="vic"),
        "dismiss": lambda: review.act(ds, sid, "dark", "dismiss", VIC, version=flag["version"]),
        "comment": lambda: review.act(ds, sid, "dark", "comment", VIC, version=flag["version"], note="hm"),
        "fix": lambda: review.fix_label(ds, sid, VIC, label="hat"),
        "flag_item": lambda: review.flag_item(ds, sid, VIC, "looks wrong"),
        "bulk": lambda: review.bulk(ds, items, "confirm", VIC),
        "undo": lambda: review.undo(ds, "no-such-bulk", VIC),
        "reject_batch": lambda: gate.reject_batch(ds, batch, "late delivery", VIC),
        "unreject_batch": lambda: gate.unreject_batch(ds, batch, VIC),
        "save_threshold": lambda: expectations.save_threshold(ds, "dark", 0.5, VIC, path=contract),
    }


CALLS = ["confirm", "dismiss", "comment", "fix", "flag_item", "bulk", "undo", "reject_batch", "unreject_batch",
         "save_threshold"]


@pytest.mark.parametrize("call", CALLS)
def test_a_viewer_call_raises_and_changes_nothing(flagged, tmp_path, call):  # noqa: F811
    ds, dark = flagged
    contract = tmp_path / "contract.toml"
    contract.write_text("version = 1\n\n[checks.dark]\nthreshold = 0.2\n")
    if call == "unreject_batch":  # something for the viewer to try to lift
        gate.reject_batch(ds, store.batch_order(ds)[0], "late delivery", ANA)
    before, contract_before = snapshot(ds), contract.read_bytes()
    with pytest.raises(AccessDenied, match="vic@example.com is a viewer"):
        viewer_calls(ds, dark, contract)[call]()
    assert snapshot(ds) == before
    assert contract.read_bytes() == contract_before


def test_the_same_calls_succeed_for_a_reviewer(flagged, tmp_path):  # noqa: F811
    """The refusals above are about the role, not about the calls being broken."""
    ds, dark = flagged
    sid, flag = dark[0]
    review.act(ds, sid, "dark", "confirm", ANA, version=flag["version"])
    review.bulk(ds, [(s, "dark", f["version"]) for s, f in dark[1:]], "dismiss", ANA)
    batch = store.batch_order(ds)[0]
    gate.reject_batch(ds, batch, "late delivery", ANA)
    contract = tmp_path / "contract.toml"
    contract.write_text("version = 1\n")
    expectations.save_threshold(ds, "dark", 0.5, ANA, path=contract)
    assert {h["who"] for h in review.history(ds)} == {"ana@example.com"}
    assert [h["action"] for h in review.history(ds)].count("dismiss") == 3


def test_editing_tags_changes_no_decision_and_a_rebuild_restores_them(flagged):  # noqa: F811
    ds, dark = flagged
    (sid, flag), (other, _) = dark[0], dark[1]
    review.act(ds, sid, "dark", "confirm", ANA, version=flag["version"])
    mirrored = {s.id: list(s.tags) for s in ds}
    assert {"flag:dark", "review:confirmed"} <= set(mirrored[sid])

    # What a FiftyOne App user can do: drop the mirror tags, add a contrary one and a tag of their own.
    ds.untag_samples(["flag:dark", "review:confirmed"])
    sample = ds[other]
    sample.tags = [*sample.tags, "review:dismissed", "look-again"]
    sample.save()
    flags_before = {s: store.read_flags(ds, [s])[s][0] for s in (sid, other)}
    assert status(ds, sid)["status"] == "confirmed" and status(ds, other)["status"] == "open"
    assert review.queue(ds, status="confirmed")[0] == 1  # the queue reads the flags, not the tags
    assert [s for s, _ in review.my_queue(ds, "ana@example.com")] == []  # confirmed without assignee

    assert review.rebuild_tags(ds) == len(dark)  # four dark items lost their flag tag; `other` also got one too many
    restored = {s.id: list(s.tags) for s in ds.reload() or ds}
    assert restored[sid] == mirrored[sid]
    assert restored[other] == ["look-again", *mirrored[other]]  # the user's own tag is kept
    assert {s: store.read_flags(ds, [s])[s][0] for s in (sid, other)} == flags_before
    assert review.rebuild_tags(ds) == 0  # nothing left to correct


def test_history_records_who_acted_with_their_role(flagged):  # noqa: F811
    ds, dark = flagged
    sid, flag = dark[0]
    lead = Actor(auth.identity({"sub": "u-17", "email": "lead@example.com"}), "admin")
    review.act(ds, sid, "dark", "confirm", lead, version=flag["version"])
    [entry] = review.history(ds, sid)
    assert (entry["who"], entry["role"], status(ds, sid)["updated_by"]) == ("lead@example.com", "admin",
                                                                            "lead@example.com")


def test_identity_is_the_email_else_the_subject():
    assert auth.identity({"sub": "abc", "email": "ana@example.com"}) == "ana@example.com"
    assert auth.identity({"sub": "abc"}) == "abc"
    assert auth.identity({}) is None


def test_roles_come_from_the_file_and_the_secrets(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text('[roles]\n"Lead@Example.com" = "admin"\n"ana@example.com" = "reviewer"\n')
    secrets = {"datasteward": {"roles": {"ana@example.com": "viewer", "ben@example.com": "reviewer", "*": "viewer"}}}
    monkeypatch.setenv(auth.ROLES_FILE_ENV, str(path))
    roles = auth.read_roles(secrets=secrets)
    assert auth.role_for("lead@example.com", roles) == "admin"  # case does not matter
    assert auth.role_for("ana@example.com", roles) == "reviewer"  # the file wins over the secrets
    assert auth.role_for("ben@example.com", roles) == "reviewer"
    assert auth.role_for("stranger@example.com", roles) == "viewer"
    assert auth.role_for("stranger@example.com", {}) == "viewer"  # not listed anywhere: a viewer
    assert auth.role_for("x", {"*": "reviewer"}) == "reviewer"


def test_a_bad_role_or_roles_file_is_a_setup_error(tmp_path):
    with pytest.raises(SetupError, match="'ana' has role 'boss'; use one of viewer, reviewer, admin"):
        auth.read_roles(secrets={"datasteward": {"roles": {"ana": "boss"}}})
    bad = tmp_path / "roles.toml"
    bad.write_text("[roles\n")
    with pytest.raises(SetupError, match="cannot read the roles file"):
        auth.read_roles(bad)


def test_without_login_the_name_given_at_start_is_recorded(flagged, monkeypatch):  # noqa: F811
    from test_review_page import act_on_dark, open_review

    ds, dark = flagged
    monkeypatch.setenv("DATASTEWARD_USER", "solo")
    at = open_review(ds.name)
    act_on_dark(at, 1, "confirm")
    assert "confirm: 1 flags updated" in at.success[0].value
    [entry] = review.history(ds)
    assert (entry["who"], entry["role"]) == ("solo", "reviewer")


def test_with_auth_configured_nothing_shows_before_a_login(flagged):  # noqa: F811
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    ds, _ = flagged
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:1/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "c", "client_secret": "s",
                          "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}
    at.query_params["dataset"] = ds.name
    at.run()
    assert not at.exception
    assert at.button(key="login").label == "Log in"
    assert [t.value for t in at.title] == ["Data Steward"]
    assert len(at.sidebar.selectbox) == 0 and len(at.sidebar.text_input) == 0  # no dataset picker, no name box
