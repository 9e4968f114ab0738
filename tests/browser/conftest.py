"""A real ``casewise serve`` on demo data, and Debian's headless Chromium driven by Playwright.

The server runs once for the browser tests on a free port, against the session's Neo4j
(``neo4j_server`` in ``tests/conftest.py``), serving a copy of ``rules/`` with one broken file
added. Each page a test visits is saved, once ``arrive`` has checked it, as
``test-artifacts/browser/<test>-<n>-<path>.png`` for a person to look at; the page a test
failed on as ``<test>-<n>-failed.png``. Every flow signs in through ``sign_in``, as one of the
users ``graph_key`` (``tests/conftest.py``) puts into the graph.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from service.auth import Neo4jStore
from service.auth.store import add_user
from service.demo import decisions as demo_decisions
from service.demo.cases import generate_set, write_demo
from service.engine import Registry
from service.graph.db import Graph
from service.recommend.playbooks import PlaybookRegistry
from tests.auth import PASSWORD
from tests.browser.site import (
    ARTIFACTS,
    BROKEN_NAME,
    BROKEN_RULES,
    COLLEAGUE,
    ROOT,
    Demo,
    Site,
)
from tests.graphs import KNOWLEDGE, Neo4jServer
from tests.serving import casewise_serve, served_env

RULES = ROOT / "rules"
CHROMIUM = Path("/usr/bin/chromium")
# Quiet and self-contained: no GPU, no QUIC, no first-run page, no update or sync traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the browser tests, saying why, on a machine without Debian's Chromium."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `make browser` installs it")
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def demo(graph: Graph) -> Demo:
    """Demo data under a prefix of this session; its headline ring claim (open, priority 1, a
    few days overdue, the expert's) heads the worklist of this session's cases."""
    prefix = f"b{uuid.uuid4().hex[:8]}-"
    data = generate_set(40, 7, prefix=prefix)
    assert data.headline is not None
    claim_id = data.headline
    write_demo(graph, data)
    add_user(Neo4jStore(graph), COLLEAGUE, "expert", PASSWORD)
    # a history for the dashboard: routine decisions, and experts deciding on advice elsewhere
    history = demo_decisions.decision_history(_example_rules(), 100, 7, prefix=prefix)
    demo_decisions.write_decisions(graph, history)
    ringed = {c for ring in data.rings for c in ring}
    others = [c for c in data.cases if c.status != "closed" and c.id not in ringed][:12]
    demo_decisions.expert_history(graph, PlaybookRegistry.load(KNOWLEDGE), others)
    return Demo(data, prefix, claim_id)


def _example_rules() -> Registry:
    registry = Registry()
    registry.load_dir(RULES)
    return registry


@pytest.fixture(scope="package")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example rules with one broken file beside them."""
    folder = tmp_path_factory.mktemp("rules")
    for path in RULES.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    (folder / f"{BROKEN_NAME}.yaml").write_text(BROKEN_RULES)
    return folder


@pytest.fixture(scope="package")
def site(
    neo4j_server: Neo4jServer,
    demo: Demo,
    rules_dir: Path,
    graph_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """A real ``casewise serve`` (uvicorn) on a free port, on the session's Neo4j."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = served_env(neo4j_server) | {
        "CASEWISE_KNOWLEDGE_DIR": str(KNOWLEDGE),
    }
    with casewise_serve(["--rules", str(rules_dir)], env, log) as url:
        yield Site(url, log, rules_dir)


# Package scope: Playwright's sync API keeps an asyncio loop running in the main thread while
# it is open, so it must be closed before other tests call asyncio.run().
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright gives it a fresh user-data dir of its own."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _slug(url: str) -> str:
    path = urlsplit(url).path.strip("/") or "worklist"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path)[:80]


class Camera:
    """Saves the page as ``<test>-<n>-<path>.png`` under ``test-artifacts/browser/``."""

    def __init__(self, page: Page, test: str) -> None:
        self.page = page
        self.test = re.sub(r"[^A-Za-z0-9._-]+", "_", test)
        self.count = 0
        for old in ARTIFACTS.glob(f"{self.test}-*.png"):
            old.unlink()

    def __call__(self, label: str = "") -> Path:
        self.count += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = f"{self.test}-{self.count:02d}-{label or _slug(self.page.url)}.png"
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        return ARTIFACTS / name


FAILED = pytest.StashKey[bool]()
CAMERA = pytest.StashKey[Camera]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether a test failed, so that its page is saved as it was then."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def page(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page of a fresh browser context (no cookies, no storage) on the site."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    camera = Camera(page, request.node.name)
    request.node.stash[CAMERA] = camera
    yield page
    if request.node.stash.get(FAILED, False):
        camera("failed")
    context.close()


@pytest.fixture
def arrive(page: Page, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Give a function that checks the page arrived at (its heading) and saves a picture of it.

    Call it after every navigation (``goto``, a link, a form's redirect): so each page a test
    visits is saved once it has loaded and shows what the test expects.
    """
    camera: Camera = request.node.stash[CAMERA]

    def arrived(heading: str) -> None:
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        page.wait_for_load_state("load")
        camera()

    return arrived


@pytest.fixture
def sign_in(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Page]:
    """Give a function that signs the page in as the user of a role and gives it back.

    It fills the sign-in form as a person would, and checks the header names the user.
    """
    camera: Camera = request.node.stash[CAMERA]

    def as_role(role: str) -> Page:
        page.goto("/signin")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Sign in")
        camera()
        page.get_by_label("Name").fill(role)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#current-user")).to_have_text(role)
        return page

    return as_role


@pytest.fixture
def expert(sign_in: Callable[[str], Page]) -> Page:
    """The page of an expert who decides on cases."""
    return sign_in("expert")


@pytest.fixture
def author(sign_in: Callable[[str], Page]) -> Page:
    """The page of a rule author."""
    return sign_in("author")
