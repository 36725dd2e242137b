"""An organisation's own details over HTTP: the portal's form (an organisation user's
changes held for review, an admin's made at once) and the moderation queue's section
that approves or rejects them.

Runs on the small two-organisation site of ``test_pages_portal`` (``make_site``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_pages_admin import each_store  # noqa: F401  # the site on each store
from test_pages_portal import OURS, Site, elements, field_error, make_site

import geo_assets.review as review
from geo_assets.model import utcnow

FORM = "/portal/organisation"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from make_site(tmp_path)


def _said(text: str, element_id: str) -> str:
    return " ".join(elements(text)[element_id]["text"].split())


def _value(text: str, name: str) -> str:
    """What the form's control ``name`` holds."""
    found = elements(text)[name]
    if found["tag"] == "textarea":
        return html.unescape(found["text"])
    return html.unescape(found["attrs"].get("value") or "")


def _hidden(text: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="(\d+)">', text)
    assert match, f"no hidden {name}"
    return match.group(1)


def _post(site: Site, path: str = FORM, **values: str) -> Any:
    """Send the form as the page shows it now, with ``values`` changed."""
    page = site.client.get(path).text
    data = {f: _value(page, f) for f in ("name", "description", "email", "phone", "url")}
    data |= {"version": _hidden(page, "version"), "held_revision": _hidden(page, "held_revision")}
    return site.client.post(path, data=data | values, headers=OURS)


def test_the_portal_links_to_the_form_which_shows_the_details(site: Site) -> None:
    site.as_role("organisation")
    listings = site.client.get("/portal").text
    assert elements(listings)["details-link"]["attrs"]["href"] == FORM
    page = site.client.get(FORM)
    assert page.status_code == 200
    assert _value(page.text, "name") == "A Trust"
    assert _value(page.text, "description") == "Runs groups."
    assert "held-notice" not in elements(page.text)


def test_an_organisations_change_waits_for_a_moderator(site: Site) -> None:
    site.as_role("organisation")
    response = _post(site, name="A Trust (Leeds)", phone="0113 496 0000")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{FORM}?done=held"
    stored = site.store.get_organisation("org-a")
    assert (stored.name, stored.phone, stored.version) == ("A Trust", None, 1)
    held = site.store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {
        "name": "A Trust (Leeds)",
        "phone": "0113 496 0000",
    }
    assert held.proposed_by == site.users["organisation"].id
    page = site.client.get(response.headers["location"]).text
    assert _said(page, "notice") == (
        "Your changes are saved. Changes to its name and phone wait for a moderator to "
        "check them: until then, the directory shows the details as they were."
    )
    assert _value(page, "name") == "A Trust (Leeds)"  # the form shows what was proposed
    assert _hidden(page, "held_revision") == "1"
    # Saving it again as shown proposes nothing new; changing one field adds to it.
    assert _post(site).status_code == 303
    again = site.store.get_held_organisation_changes("org-a")
    assert again is not None and again.revision == 1
    assert _post(site, url="https://a-trust.example.org").status_code == 303
    added = site.store.get_held_organisation_changes("org-a")
    assert added is not None and added.revision == 2
    assert added.fields() == ["name", "phone", "url"]
    # Putting the checked name back takes that change back.
    assert _post(site, name="A Trust").status_code == 303
    back = site.store.get_held_organisation_changes("org-a")
    assert back is not None and back.fields() == ["phone", "url"]


def test_a_bad_value_is_named_and_nothing_is_saved(site: Site) -> None:
    site.as_role("organisation")
    response = _post(site, email="not an address", name="A Trust (Leeds)")
    assert response.status_code == 422
    assert field_error(response.text, "email") == "Enter an e-mail address like name@example.org."
    assert _value(response.text, "email") == "not an address"  # what was typed stays
    assert site.store.get_held_organisation_changes("org-a") is None
    blank = _post(site, name="  ")
    assert blank.status_code == 422
    assert field_error(blank.text, "name") == "Enter your organisation's name."
    assert site.store.get_organisation("org-a").version == 1


def test_a_form_opened_before_a_colleague_proposed_is_refused(site: Site) -> None:
    site.as_role("organisation")
    page = site.client.get(FORM).text
    colleague = site.users["organisation"].id
    site.store.update_organisation("org-a", {}, actor=colleague, hold={"phone": "0113 496 1111"})
    data = {f: _value(page, f) for f in ("name", "description", "email", "phone", "url")}
    data |= {"version": "1", "held_revision": "0", "name": "A Trust (Leeds)"}
    response = site.client.post(FORM, data=data, headers=OURS)
    assert response.status_code == 409
    assert "Someone changed these details after you opened this page" in html.unescape(
        response.text
    )
    held = site.store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"phone": "0113 496 1111"}  # not taken back


def test_a_form_shown_again_with_a_problem_keeps_what_it_was_opened_on(site: Site) -> None:
    """A 422 shows the form again; saving it then must still be refused if someone
    changed the details (or proposed more) after it was first opened."""
    site.as_role("admin")
    path = f"{FORM}?organisation=org-b"
    page = site.client.get(path).text
    site.store.update_organisation("org-b", {"phone": "0113 496 2222"})  # a colleague, live
    data = {f: _value(page, f) for f in ("name", "description", "email", "phone", "url")}
    data |= {"version": "1", "held_revision": "0", "url": "oops"}
    shown = site.client.post(path, data=data, headers=OURS)
    assert shown.status_code == 422
    assert (_hidden(shown.text, "version"), _hidden(shown.text, "held_revision")) == ("1", "0")
    fixed = {**data, "url": "https://b.example.org"}
    assert site.client.post(path, data=fixed, headers=OURS).status_code == 409
    assert site.store.get_organisation("org-b").phone == "0113 496 2222"

    site.as_role("organisation")
    page = site.client.get(FORM).text
    colleague = site.users["organisation"].id
    site.store.update_organisation("org-a", {}, actor=colleague, hold={"phone": "0113 496 1111"})
    data = {f: _value(page, f) for f in ("name", "description", "email", "phone", "url")}
    data |= {"version": "1", "held_revision": "0", "email": "not an address"}
    shown = site.client.post(FORM, data=data, headers=OURS)
    assert shown.status_code == 422 and _hidden(shown.text, "held_revision") == "0"
    fixed = {f: _value(shown.text, f) for f in data if f not in ("version", "held_revision")}
    fixed |= {"version": "1", "held_revision": "0", "email": "a@example.org"}
    assert site.client.post(FORM, data=fixed, headers=OURS).status_code == 409
    held = site.store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"phone": "0113 496 1111"}  # not taken back


def test_saving_the_form_as_shown_writes_nothing(site: Site) -> None:
    site.store.update_organisation("org-a", {"description": "Runs groups.\nIn Leeds."})
    audit_rows = site.store.list_audit("org-a").total
    for role in ("admin", "organisation"):
        site.as_role(role)
        path = FORM if role == "organisation" else f"{FORM}?organisation=org-a"
        # As a browser sends it: the text box's line breaks as CR LF.
        description = "Runs groups.\r\nIn Leeds."
        response = _post(site, path, description=description)
        assert response.status_code == 303, response.text
        assert site.store.get_organisation("org-a").version == 2
        assert site.store.list_audit("org-a").total == audit_rows
    # A real change beside it proposes that field alone.
    response = _post(site, FORM, description="Runs groups.\r\nIn Leeds.", phone="0113 496 0000")
    assert response.status_code == 303
    held = site.store.get_held_organisation_changes("org-a")
    assert held is not None and held.fields() == ["phone"]


def test_an_organisation_user_edits_only_its_own(site: Site) -> None:
    site.as_role("other_organisation")
    response = _post(site, f"{FORM}?organisation=org-a", name="Taken over")
    assert response.status_code == 303
    assert site.store.get_organisation("org-a").name == "A Trust"
    assert site.store.get_held_organisation_changes("org-a") is None
    held = site.store.get_held_organisation_changes("org-b")  # the parameter is an admin's
    assert held is not None and held.changes == {"name": "Taken over"}
    site.as_role("practitioner")
    assert site.client.get(FORM).status_code == 403
    site.as_role(None)
    assert site.client.get(FORM).status_code in (302, 303, 401)


def test_an_admins_change_is_made_at_once(site: Site) -> None:
    site.as_role("admin")
    path = f"{FORM}?organisation=org-b"
    assert elements(site.client.get("/portal?organisation=org-b").text)["details-link"]["attrs"][
        "href"
    ] == html.escape(path)
    response = _post(site, path, email="hello@b-trust.example.org")
    assert response.status_code == 303, response.text
    stored = site.store.get_organisation("org-b")
    assert (stored.email, stored.version) == ("hello@b-trust.example.org", 2)
    assert site.store.get_held_organisation_changes("org-b") is None
    assert site.client.get(FORM).status_code == 404  # an admin names the organisation


def _org_rows(text: str, n: int) -> list[tuple[str, str, str]]:
    section = text[text.index(f'id="held-organisation-{n}"') :]
    section = section[: section.index("</section>")]
    cells = re.findall(r'<td data-label="[^"]+">(.*?)</td>', section, flags=re.S)
    words = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]
    return [tuple(words[i : i + 3]) for i in range(0, len(words), 3)]  # type: ignore[misc]


def _decide(site: Site, org_id: str, decision: str, revision: int) -> Any:
    return site.client.post(
        f"/admin/organisations/{org_id}/held-changes",
        data={"decision": decision, "revision": str(revision)},
        headers=OURS,
    )


def test_the_queue_shows_checked_and_proposed_details_oldest_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    bea, olu = site.users["other_organisation"].id, site.users["organisation"].id
    site.store.update_organisation("org-b", {}, actor=bea, hold={"url": "https://b.example.org"})
    monkeypatch.setattr(review, "utcnow", lambda: utcnow() - timedelta(days=1))
    site.store.update_organisation(
        "org-a", {}, actor=olu, hold={"name": "A Trust (Leeds)", "email": "a@example.org"}
    )
    monkeypatch.undo()
    site.as_role("admin")
    text = site.client.get("/admin").text
    assert _said(text, "held-organisations-count").startswith(
        "2 organisations have changed their name or contact details."
    )
    assert _said(text, "held-organisation-1-name") == "A Trust"  # proposed first
    assert _org_rows(text, 1) == [
        ("Name", "A Trust", "A Trust (Leeds)"),
        ("E-mail", "None", "a@example.org"),
    ]
    assert _org_rows(text, 2) == [("Web site", "None", "https://b.example.org")]
    first = text[text.index('id="held-organisation-1"') : text.index('id="held-organisation-2"')]
    assert "Proposed by Olu," in " ".join(first.split())
    assert 'action="/admin/organisations/org-a/held-changes"' in first


def test_approving_and_rejecting_from_the_queue(each_store: Site) -> None:  # noqa: F811
    site = each_store
    olu = site.users["organisation"].id
    site.store.update_organisation("org-a", {}, actor=olu, hold={"name": "A Trust (Leeds)"})
    site.as_role("organisation")
    assert _decide(site, "org-a", "approve", 1).status_code == 403
    site.as_role("admin")
    response = _decide(site, "org-a", "approve", 1)
    assert response.status_code == 303, response.text
    assert site.store.get_organisation("org-a").name == "A Trust (Leeds)"
    entry = site.store.list_audit("org-a").items[0]
    assert (entry.actor, entry.action) == (site.users["admin"].id, "approve")
    page = site.client.get(response.headers["location"]).text
    assert _said(page, "notice").startswith(
        "Approved the changes to the details of “A Trust (Leeds)”"
    )
    assert _said(page, "held-organisations-none") == (
        "No changes to organisations’ details await review."
    )
    site.as_role(None)
    assert "A Trust (Leeds)" in site.client.get("/listings/own-live").text  # "Run by"
    # A rejection leaves the details as they are; the next proposal is a new revision.
    site.store.update_organisation("org-a", {}, actor=olu, hold={"phone": "0113 496 0000"})
    site.as_role("admin")
    assert _decide(site, "org-a", "reject", 1).status_code == 409  # revision 2 waits
    assert _decide(site, "org-a", "reject", 2).status_code == 303
    assert site.store.get_organisation("org-a").phone is None
    assert site.store.get_held_organisation_changes("org-a") is None
    gone = _decide(site, "org-a", "approve", 2)
    assert gone.status_code == 409
    assert "No changes to “A Trust (Leeds)” await review now" in html.unescape(gone.text)
    unknown = _decide(site, "nobody", "approve", 1)
    assert unknown.status_code == 404 and "Organisation not found" in unknown.text
