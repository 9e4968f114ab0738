"""Rules that change while Casewise runs: reload, refusal, retirement, status and the pages."""

from __future__ import annotations

import gc
import shutil
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.reloading import Reloader
from service.app import create_app
from service.auth import MemoryStore
from service.auth.store import AuthError, check_key, create_key
from service.engine import Registry
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings
from tests.pagetree import parse
from tests.rulefiles import BROKEN, rule_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "price.yaml").write_text(rule_text(1))
    return rules


def test_a_changed_file_is_swapped_in_and_a_held_version_keeps_deciding(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    held = registry.get("price")
    (folder / "price.yaml").write_text(rule_text(2))
    report = registry.reload(folder)
    assert [(o.name, o.change) for o in report.outcomes] == [("price", "changed")]
    new = registry.get("price")
    assert new is not held and new.version != held.version
    assert new.evaluate({"amount": 1}).outputs["version_no"] == 2
    # a request that got the old version before the swap finishes on it
    assert held.evaluate({"amount": 15}).outputs == {"version_no": 1, "big": True}
    assert report.stopped == [held.version]
    assert [s.version for s in report.started] == [new.version]


def test_an_unchanged_file_is_not_compiled_again(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    before = registry.get("price")
    report = registry.reload(folder)
    assert [o.change for o in report.outcomes] == ["unchanged"]
    assert registry.get("price") is before
    assert report.started == []


def test_a_broken_change_leaves_the_last_good_version_serving(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    good = registry.get("price").version
    (folder / "price.yaml").write_text(BROKEN)
    report = registry.reload(folder)
    assert [o.change for o in report.outcomes] == ["refused"]
    assert registry.get("price").version == good
    [status] = registry.statuses()
    assert (status.state, status.version, status.name) == ("refused", good, "price")
    assert status.attempted != good
    [problem] = status.errors
    assert (problem.line, problem.col) == (3, 18)
    assert "numbr" in problem.message
    # fixed again: serving the fix, status clean
    (folder / "price.yaml").write_text(rule_text(3))
    registry.reload(folder)
    [status] = registry.statuses()
    assert (status.state, status.errors) == ("serving", ())
    assert registry.get("price").evaluate({"amount": 1}).outputs["version_no"] == 3


def test_a_deleted_file_retires_its_ruleset(folder: Path) -> None:
    registry = Registry(settle=0.05)
    registry.reload(folder)
    version = registry.get("price").version
    (folder / "price.yaml").unlink()
    report = registry.reload(folder)
    assert [(o.name, o.change) for o in report.outcomes] == [("price", "retired")]
    assert registry.names() == []
    assert report.stopped == [version]
    [status] = registry.statuses()
    assert (status.state, status.version) == ("retired", None)


def test_a_file_an_editor_is_replacing_is_not_retired(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(settle=0.5)
    registry.reload(folder)
    file = folder / "price.yaml"
    text = file.read_text()
    file.unlink()
    waited: list[float] = []

    def editor_saves(seconds: float) -> None:
        """The settle wait: the editor writes the file back before it ends."""
        waited.append(seconds)
        file.write_text(text)

    with monkeypatch.context() as patched:
        patched.setattr("service.engine.livefiles.time.sleep", editor_saves)
        report = registry.reload(folder)
    assert waited == [0.5]
    assert [o.change for o in report.outcomes] == ["unchanged"]
    assert registry.names() == ["price"]


def test_a_second_file_naming_a_served_ruleset_is_refused(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    served = registry.get("price")
    (folder / "zz-copy.yaml").write_text("# a copy\n" + rule_text(9))
    report = registry.reload(folder)
    refused = [o for o in report.outcomes if o.change == "refused"]
    assert [o.path for o in refused] == [str(folder / "zz-copy.yaml")]
    [problem] = refused[0].errors
    assert (problem.line, problem.col) == (2, 10)
    # a ruleset's file is named after it, so the second is refused for its name
    assert "must be in a file named price.yaml" in problem.message
    assert registry.get("price") is served


def test_a_new_file_serves_a_new_ruleset(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    (folder / "other.yaml").write_text(rule_text(4, name="other"))
    report = registry.reload(folder)
    assert {(o.name, o.change) for o in report.outcomes} == {
        ("price", "unchanged"),
        ("other", "new"),
    }
    assert registry.names() == ["other", "price"]


def test_playbooks_reload_and_a_broken_catalogue_keeps_the_last_good(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    playbooks = PlaybookRegistry.load(knowledge)
    assert playbooks.problems == []
    claim = playbooks.get("insurance-claim")
    assert claim is not None
    path = knowledge / "playbooks" / "insurance-claim.yaml"
    path.write_text(path.read_text() + "\n# changed\n")
    report = playbooks.reload(knowledge)
    changed = {o.name: o.change for o in report.outcomes}
    assert changed["insurance-claim"] == "changed"
    assert changed["actions.yaml"] == "unchanged"
    assert playbooks.get("insurance-claim") is not claim
    catalogue = knowledge / "actions.yaml"
    catalogue.write_text("actions: [\n")
    report = playbooks.reload(knowledge)
    assert [o.change for o in report.outcomes if o.name == "actions.yaml"] == ["refused"]
    assert playbooks.actions and len(playbooks) == 3  # the last good catalogue and playbooks
    assert playbooks.catalogue is not None and playbooks.catalogue.state == "refused"


@pytest.fixture
def live(tmp_path: Path, folder: Path) -> Iterator[tuple[TestClient, Path]]:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    settings = Settings(
        rules_dir=folder,
        knowledge_dir=knowledge,
        auth="off",
        watch="off",
        spool_dir=tmp_path / "spool",
    )
    with TestClient(create_app(settings)) as client:
        yield client, folder


def test_reload_route_answers_each_file_and_status_shows_a_refusal(
    live: tuple[TestClient, Path],
) -> None:
    client, folder = live
    first = client.get("/v1/rulesets/price/status").json()
    assert first["state"] == "serving" and first["errors"] == []
    (folder / "price.yaml").write_text(BROKEN)
    (folder / "nameless.yaml").write_text("not: [a, ruleset\n")
    body = client.post("/v1/rulesets/reload").json()
    assert body["refused"] == 2
    by_path = {Path(o["path"]).name: o for o in body["rulesets"]}
    assert by_path["price.yaml"]["outcome"] == "refused"
    assert by_path["price.yaml"]["version"] == first["version"]
    assert by_path["nameless.yaml"]["name"] == "nameless"  # never loaded: its file name
    assert {o["outcome"] for o in body["playbooks"]} == {"unchanged"}
    status = client.get("/v1/rulesets/price/status").json()
    assert status["state"] == "refused"
    assert status["serving"] is True and status["version"] == first["version"]
    assert status["last_attempt_at"] > first["last_attempt_at"]
    [error] = status["errors"]
    assert error["text"].startswith(f"{folder / 'price.yaml'}:3:18: ")
    every = client.get("/v1/rulesets/status").json()
    nameless = [s for s in every["rulesets"] if s["path"].endswith("nameless.yaml")]
    assert nameless[0]["state"] == "refused" and nameless[0]["version"] is None
    never = client.get("/v1/rulesets/nameless/status").json()
    assert never["state"] == "refused" and never["serving"] is False
    assert never["errors"][0]["line"] == 2
    assert client.post("/v1/decisions/price", json={"amount": 1}).json()["outputs"] == {
        "version_no": 1,
        "big": False,
    }
    missing = client.get("/v1/rulesets/nope/status")
    assert (
        missing.status_code == 404
        and "GET /v1/rulesets/status" in missing.json()["error"]["message"]
    )


def test_rules_page_shows_a_refused_change_after_a_reload(live: tuple[TestClient, Path]) -> None:
    client, folder = live
    (folder / "price.yaml").write_text(BROKEN)
    client.post("/v1/rulesets/reload")
    page = parse(client.get("/rules").text)
    row = page.one("tr", data_name="price")
    status = row.one("td", cls="status").text()
    assert status.startswith("refused: the last change has problems")
    assert f"{folder / 'price.yaml'}:3:18" in row.one("ul", cls="problems").text()
    assert "last load" in status
    (folder / "price.yaml").unlink()
    client.post("/v1/rulesets/reload")
    page = parse(client.get("/rules").text)
    assert page.one("tr", data_name="price").get("data-state") == "retired"


def test_version_routes_check_the_hash(live: tuple[TestClient, Path]) -> None:
    client, _ = live
    bad = client.get("/v1/rulesets/price/versions/abc")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "version"
    assert client.get("/v1/rulesets/price/diff", params={"from": "x"}).status_code == 422


def test_an_author_key_carries_its_role() -> None:
    store = MemoryStore()
    key = create_key(store, "deploy", ["*"], "author")
    principal = check_key(store, key)
    assert principal is not None and principal.role == "author"
    with pytest.raises(AuthError, match="key role 'admin'"):
        create_key(store, "deploy", ["*"], "admin")


def test_an_old_version_is_freed_once_no_request_holds_it(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    held = weakref.ref(registry.get("price"))
    (folder / "price.yaml").write_text(rule_text(2))
    registry.reload(folder)
    gc.collect()
    assert held() is None


def test_an_old_version_is_freed_by_a_reload_although_start_up_froze_the_heap(
    folder: Path,
) -> None:
    registry = Registry()
    reloader = Reloader(Settings(rules_dir=folder, knowledge_dir=folder.parent / "none"),
                        registry, PlaybookRegistry())  # fmt: skip
    reloader.reload()
    held = weakref.ref(registry.get("price"))
    gc.freeze()  # as the app's lifespan does after start-up
    try:
        (folder / "price.yaml").write_text(rule_text(2))
        reloader.reload()
        # no gc.collect(): the app's lifespan froze the heap (gc.freeze), so a replaced version
        # must hold no reference cycle, or it would stay until the app stops
        assert held() is None
    finally:
        gc.unfreeze()


def test_decisions_during_reloads_name_the_version_that_made_them(folder: Path) -> None:
    registry = Registry()
    registry.reload(folder)
    seen: list[tuple[str, int]] = []
    numbers = {registry.get("price").version: 1}
    done = threading.Event()

    def decide() -> None:
        while not done.is_set():
            decision = registry.get("price").evaluate({"amount": 1})
            seen.append((decision.version, decision.outputs["version_no"]))

    reader = threading.Thread(target=decide)
    reader.start()
    for n in range(2, 8):
        (folder / "price.yaml").write_text(rule_text(n))
        registry.reload(folder)
        numbers[registry.get("price").version] = n
    done.set()
    reader.join()
    assert seen and all(numbers[version] == n for version, n in seen)
