"""An admin, in a real browser: people added, disabled and enabled; keys created, shown once,
revoked; every change listed; a disabled user's session and a revoked key stop at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.auth import PASSWORD
from tests.browser.shots import picture
from tests.browser.site import Site

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]


@pytest.fixture
def admin(sign_in: Callable[[str], Page]) -> Page:
    """The page of an admin."""
    return sign_in("admin")


def test_an_admin_disables_a_user_whose_session_ends(
    admin: Page, arrive: Callable[[str], None], browser: Browser, site: Site
) -> None:
    name = f"b{uuid.uuid4().hex[:6]}-sam"
    admin.locator("header nav").get_by_role("link", name="Admin").click()
    arrive("People")
    admin.get_by_label("Name", exact=True).fill(name)
    admin.get_by_label("Role", exact=True).select_option("expert")
    admin.get_by_label("First password").fill(PASSWORD)
    admin.get_by_role("button", name="Add user").click()
    arrive("People")
    row = admin.locator(f"#user-{name}")
    expect(row).to_have_attribute("data-disabled", "no")

    other = browser.new_context(base_url=site.url).new_page()
    other.goto("/signin")
    other.get_by_label("Name").fill(name)
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    expect(other.locator("#current-user")).to_have_text(name)

    row.get_by_role("button", name="Disable").click()
    arrive("People")
    expect(admin.locator(f"#user-{name}")).to_have_attribute("data-disabled", "yes")
    other.goto("/cases")
    expect(other.get_by_role("heading", level=1)).to_contain_text("Sign in")  # at once
    other.context.close()
    admin.evaluate("window.scrollTo(0, 0)")
    picture(admin, "admin-people")

    admin.locator("nav.subnav").get_by_role("link", name="Changes").click()
    arrive("Changes to people and keys")
    expect(admin.locator(f"#changes tr[data-target='{name}']")).to_have_count(2)
    expect(admin.locator(f"#changes tr[data-target='{name}']").first).to_contain_text("admin")


def test_a_key_is_shown_once_and_revoked_at_once(
    admin: Page, arrive: Callable[[str], None]
) -> None:
    name = f"b{uuid.uuid4().hex[:6]}-erp"
    admin.goto("/admin/keys")
    arrive("API keys")
    admin.get_by_label("Name (what it is for)").fill(name)
    admin.get_by_label("Rulesets").fill("discount,invoice-approval")
    admin.get_by_role("button", name="Create key").click()
    arrive("API keys")
    key = admin.locator("#key-value").inner_text().strip()
    assert key.startswith("cw_")
    headers = {"Authorization": f"Bearer {key}"}
    assert admin.request.get("/v1/rulesets", headers=headers).status == 200
    admin.goto("/admin/keys")
    expect(admin.locator("#key-value")).to_have_count(0)  # never again
    row = admin.locator(f"#key-{key[3:19]}")
    expect(row).to_contain_text(name)
    picture(admin, "admin-keys")
    row.get_by_role("button", name="Revoke").click()
    arrive("API keys")
    expect(admin.locator(f"#key-{key[3:19]}")).to_have_attribute("data-revoked", "yes")
    assert admin.request.get("/v1/rulesets", headers=headers).status == 401
