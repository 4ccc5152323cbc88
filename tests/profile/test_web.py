"""The profile page, its HTMX what-if block and the JSON API over HTTP: roles, scope,
CSRF, the chart elements the static script draws, and errors in Chinese."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.profile.conftest import County
from tests.support.seed import uscc

U1, U2 = uscc(1), uscc(2)


def test_page_shows_standing_radar_trend_and_whatif_form(county: County, client: TestClient,
                                                         login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("staff")
    r = client.get(f"/enterprises/{U2}/profile")
    assert r.status_code == 200
    html = r.text
    assert 'data-testid="points"' in html and 'data-testid="whatif-form"' in html
    assert '<script src="/static/profile-charts.js"' in html
    assert "<script>" not in html  # the CSP allows no inline script
    radar = re.search(r'data-testid="radar" data-profile-chart="([^"]+)"', html)
    assert radar is not None
    option = json.loads(radar.group(1).replace("&#34;", '"').replace("&quot;", '"')
                        .replace("&amp;", "&").replace("&#39;", "'"))
    assert option["series"][0]["type"] == "radar"
    assert len(option["radar"]["indicator"]) == 5  # the five dimensions of zjg 2.0
    assert 'data-testid="trend"' in html
    assert client.get("/static/profile-charts.js").status_code == 200


def test_whatif_block_over_htmx(county: County, client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    csrf = login_as("staff")
    url = f"/enterprises/{U2}/profile/whatif"
    form = {"delta.rd_staff": "3", "delta.rd_expense": "200", "system_id": "zjg-points"}
    assert client.post(url, data=form).status_code == 403  # no CSRF token
    r = client.post(url, data={**form, "csrf_token": csrf}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'data-testid="whatif-points"' in r.text and 'data-testid="whatif-policies"' in r.text
    assert "<html" not in r.text  # a partial
    bad = client.post(url, data={"delta.rd_staff": "三个", "csrf_token": csrf})
    assert bad.status_code == 200 and 'data-testid="whatif-error"' in bad.text
    assert "研发人员数（rd_staff）：应为数字" in bad.text


def test_api_profile_and_whatif(county: County, client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    csrf = login_as("ent1")
    r = client.get(f"/api/v1/enterprises/{U1}/profile")
    assert r.status_code == 200
    body = r.json()
    assert body["uscc"] == U1 and body["standing"]["rank"] >= 1
    assert {d["code"] for d in body["radar"]["dimensions"]} == {
        "input", "output", "talent", "growth", "cooperation"}
    assert client.get(f"/api/v1/enterprises/{U2}/profile").status_code == 404
    url = f"/api/v1/enterprises/{U1}/profile/whatif"
    ok = client.post(url, json={"changes": [{"metric": "rd_expense", "delta": 200}]},
                     headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["after"]["points"] >= ok.json()["before"]["points"]
    bad = client.post(url, json={"changes": [{"metric": "nope", "delta": 1}]},
                      headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and "未知的指标" in bad.json()["message"]
    other = client.post(f"/api/v1/enterprises/{U2}/profile/whatif",
                        json={"changes": []}, headers={"X-CSRF-Token": csrf})
    assert other.status_code == 404


def test_enterprise_shortcut_and_out_of_scope(county: County, client: TestClient,
                                              login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("ent1")
    r = client.get("/enterprises/me/profile", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/enterprises/{U1}/profile"
    assert client.get(f"/enterprises/{U2}/profile").status_code == 404


def test_no_run_yet_says_so(client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("staff")
    r = client.get(f"/enterprises/{U2}/profile")
    assert r.status_code == 200 and 'data-testid="profile-none"' in r.text


def test_the_enterprises_own_page_shows_values_not_engine_columns_in_its_language(
        county: County, client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    """Issue 11, item 4: the engine's technical columns are for the staff explanation page;
    an enterprise's links to the source of its numbers stay on its own facts (never the
    import pages it may not open); English pages name dimensions and indicators in English."""
    login_as("ent1")
    html = client.get(f"/enterprises/{U1}/profile").text
    for stage in ("treated", "normalised", "weight"):
        assert f'data-stage="{stage}"' not in html
    assert 'data-stage="raw"' in html and 'data-stage="percentile"' in html
    assert 'data-testid="explain-link"' not in html
    links = re.findall(r'<a href="([^"]+)"[^>]*data-testid="source-link"', html)
    assert links, "the indicators list their source facts"
    assert all(h.startswith(f"/enterprises/{U1}#batch-") for h in links)
    assert client.get(f"/enterprises/{U1}").status_code == 200
    own = client.get(f"/enterprises/{U1}").text
    assert all(f'id="{h.split("#")[1]}"' in own for h in links)  # the anchors exist
    client.cookies.set("kc_lang", "en")
    english = client.get(f"/enterprises/{U1}/profile").text
    assert "Innovation input" in english and "创新投入" not in english
    client.cookies.delete("kc_lang")
    login_as("staff")
    staff = client.get(f"/enterprises/{U1}/profile").text
    assert 'data-testid="explain-link"' in staff
    assert 'href="/imports/' in staff
