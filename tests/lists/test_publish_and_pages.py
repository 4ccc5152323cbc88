"""Publishing runs, the public list page (no login, veto applied, published only), the
bureau's preview, XLSX exports and the robustness marks — through the real app."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, Forbidden, NotFound
from kechuang.lists import repository as repo
from kechuang.lists.service import do_publish_run, do_withdraw_run
from kechuang.models import AuditEvent, Enterprise, User
from kechuang.models.scoring import ScoringRun
from tests.conftest import login
from tests.lists.helpers import add_robustness, make_run
from tests.support.seed import OTHER_COUNTY

# enterprise 1 leads 成长, 2 is vetoed though it has the most points, 3 is on 竞跑榜,
# 4 is scored but on no list
RESULTS = [(1, 88.5, "成长", "lead", None), (2, 95.0, "成长", "lead", "严重失信"),
           (3, 70.25, "成长", "race", None), (4, 40.0, "成长", None, None)]


def actor_of(session, username: str) -> Actor:  # type: ignore[no-untyped-def]
    from kechuang.models import Region

    user = session.scalar(select(User).where(User.username == username))
    path = session.scalar(select(Region.path).where(Region.code == user.region_code))
    return Actor(username=user.username, role=user.role, region_code=user.region_code,
                 region_path=path, user_id=user.id)


def names(session) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return dict(session.execute(select(Enterprise.id, Enterprise.name)).all())


def test_publish_sets_flags_audits_and_supersedes(engine):
    with unit_of_work(engine) as s:
        old = make_run(s, RESULTS)
        admin = actor_of(s, "admin")
        do_publish_run(s, admin, old.id)
        assert old.published and old.published_at is not None
        assert repo.is_current(s, old)
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "lists.publish"))
        assert audit.object_id == str(old.id) and audit.after["published"] is True
        with pytest.raises(Conflict):
            do_publish_run(s, admin, old.id)
        new = make_run(s, RESULTS)
        do_publish_run(s, admin, new.id)
        assert [r.id for r in repo.current_runs(s)] == [new.id]
        assert old.published  # history stays published, no longer current
        assert not repo.is_current(s, old)
        # another year of the same system is a separate key
        other_year = make_run(s, RESULTS, year=2022)
        do_publish_run(s, admin, other_year.id)
        assert {r.id for r in repo.current_runs(s)} == {new.id, other_year.id}
        # withdrawing the current one makes the older current again
        do_withdraw_run(s, admin, new.id)
        assert repo.is_current(s, old) and not new.published
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "lists.withdraw"))


def test_only_an_administrator_of_the_runs_region_may_publish(engine):
    with unit_of_work(engine) as s:
        run = make_run(s, RESULTS)
        with pytest.raises(Forbidden):
            do_publish_run(s, actor_of(s, "staff"), run.id)
        with pytest.raises(NotFound):  # 常熟's administrator does not see 张家港's run
            do_publish_run(s, actor_of(s, "other_admin"), run.id)
        citywide = make_run(s, RESULTS, region=None)
        with pytest.raises(Forbidden):  # covers more than the county
            do_publish_run(s, actor_of(s, "admin"), citywide.id)
        assert not run.published and not citywide.published


def test_a_run_without_results_cannot_be_published(engine):
    with unit_of_work(engine) as s:
        run = make_run(s, [])
        from kechuang.kit.errors import InvalidInput

        with pytest.raises(InvalidInput):
            do_publish_run(s, actor_of(s, "admin"), run.id)


def test_public_page_shows_published_lists_without_vetoed_or_personal_data(engine, client):
    with unit_of_work(engine) as s:
        run = make_run(s, RESULTS, published=True)
        hidden = make_run(s, [(4, 99.0, "成长", "lead", None)], year=2024)  # unpublished
        n = names(s)
        from tests.lists.helpers import enterprise_id

        name = {k: n[enterprise_id(s, k)] for k in (1, 2, 3, 4)}
        uscc1 = s.scalar(select(Enterprise.uscc).where(Enterprise.name == name[1]))
        run_id, hidden_id = run.id, hidden.id
    page = client.get("/lists")
    assert page.status_code == 200
    html = page.text
    assert name[1] in html and name[3] in html
    assert name[2] not in html  # vetoed: never shown
    assert name[4] not in html  # below every cut-off
    assert uscc1 not in html  # no credit codes on the public page
    assert "领跑榜" in html and "竞跑榜" in html
    assert f"#{hidden_id}" not in html
    # places within the stage, veto applied: 1 is first although 2 had more points
    assert 'data-tier="lead"' in html
    lead = html.split('data-tier="lead"')[1].split("</table>")[0]
    assert '<td class="num" data-testid="place">1</td>' in lead
    assert client.get(f"/lists?run={hidden_id}").status_code == 404
    assert client.get(f"/lists/published/{hidden_id}.xlsx").status_code == 404
    assert client.get(f"/api/v1/lists/{hidden_id}").status_code == 404
    api = client.get(f"/api/v1/lists/{run_id}").json()
    assert [(e["name"], e["place"], e["tier"]) for e in api["entries"]] == [
        (name[1], 1, "lead"), (name[3], 2, "race")]
    assert all(e["uscc"] is None for e in api["entries"])
    # a bureau of another county sees the published list as the public does
    login(client, "other_admin")
    other = client.get(f"/api/v1/lists/{run_id}").json()
    assert [e["name"] for e in other["entries"]] == [name[1], name[3]]
    assert all(e["uscc"] is None for e in other["entries"])
    assert client.get(f"/api/v1/lists/{hidden_id}").status_code == 404


def test_public_page_without_any_published_run(client):
    page = client.get("/lists")
    assert page.status_code == 200 and 'data-testid="none-published"' in page.text


def test_robustness_marks_only_the_unstable_places(engine, client, app):
    """Robustness marks on the public page come with a publication (issue 11, item 3): an
    analysis made after the list was published is visible inside the bureau, says so, and
    reaches the public page when an administrator publishes again; staff see who can."""
    from fastapi.testclient import TestClient

    from tests.lists.helpers import enterprise_id

    with unit_of_work(engine) as s:
        run = make_run(s, RESULTS, published=True)
        run_id = run.id
    plain = client.get("/lists").text
    assert "名次不稳健" not in plain  # no analysis, no marks
    with unit_of_work(engine) as s:
        add_robustness(s, s.get(ScoringRun, run_id), unstable=[3], stable=[1, 2])
        name3 = names(s)[enterprise_id(s, 3)]
    # made after the publication: the public page does not change
    assert 'data-testid="unstable"' not in client.get("/lists").text
    assert [e["robust"] for e in client.get(f"/api/v1/lists/{run_id}").json()["entries"]] \
        == [None, None]
    staff = TestClient(app)
    login(staff, "staff")
    inside = staff.get(f"/lists/{run_id}").text
    assert inside.count('data-testid="unstable"') == 1
    assert 'data-testid="unpublished-analysis"' in inside
    assert 'data-testid="who-publishes"' in inside and "admin" in inside
    assert 'data-testid="publish-form"' not in inside
    admin = TestClient(app)
    csrf = login(admin, "admin")
    page = admin.get(f"/lists/{run_id}").text
    assert 'data-testid="publish-form"' in page and 'data-testid="who-publishes"' not in page
    r = admin.post(f"/lists/{run_id}/publish", data={"csrf_token": csrf},
                   follow_redirects=False)
    assert r.status_code == 303
    html = client.get("/lists").text
    assert html.count('data-testid="unstable"') == 1
    row = html.split(f'data-enterprise="{name3}"')[1].split("</tr>")[0]
    assert "名次不稳健" in row
    api = client.get(f"/api/v1/lists/{run_id}").json()
    assert [e["robust"] for e in api["entries"]] == [True, False]
    # nothing newer to bring out: publishing the current run again is refused
    assert admin.post(f"/lists/{run_id}/publish", data={"csrf_token": csrf},
                      follow_redirects=False).status_code == 409


def test_exports_neutralise_formulas_and_the_public_one_has_no_credit_codes(engine, client,
                                                                           login_as):
    with unit_of_work(engine) as s:
        run = make_run(s, RESULTS, published=True)
        from tests.lists.helpers import enterprise_id

        e1 = s.get(Enterprise, enterprise_id(s, 1))
        e1.name = '=HYPERLINK("http://evil.example","点我")'
        uscc1 = e1.uscc
        run_id = run.id
    public = client.get(f"/lists/published/{run_id}.xlsx")
    assert public.status_code == 200
    ws = load_workbook(io.BytesIO(public.content))["积分榜"]
    rows = list(ws.iter_rows(values_only=True))
    assert "统一社会信用代码" not in rows[0]
    cells = [c for r in rows for c in r if isinstance(c, str)]
    assert "'" + '=HYPERLINK("http://evil.example","点我")' in cells
    assert not any(c.startswith("=") for c in cells)
    assert uscc1 not in cells
    login_as("staff")
    bureau = client.get(f"/lists/{run_id}/export.xlsx")
    rows = list(load_workbook(io.BytesIO(bureau.content))["积分榜"].iter_rows(values_only=True))
    assert "统一社会信用代码" in rows[0] and any(uscc1 in r for r in rows)
    assert not any(isinstance(c, str) and c.startswith("=") for r in rows for c in r)


def test_bureau_preview_of_an_unpublished_run_and_publishing_from_the_page(engine, client,
                                                                          login_as):
    with unit_of_work(engine) as s:
        run = make_run(s, RESULTS)
        run_id = run.id
        from tests.lists.helpers import enterprise_id

        vetoed_name = names(s)[enterprise_id(s, 2)]
    login_as("staff")
    page = client.get(f"/lists/{run_id}")
    assert page.status_code == 200
    assert 'data-testid="preview"' in page.text
    assert 'data-testid="publish-form"' not in page.text  # staff may not publish
    vetoed = page.text.split('data-testid="vetoed"')[1]
    assert vetoed_name in vetoed and "严重失信" in vetoed
    client.cookies.clear()
    csrf = login_as("admin")
    page = client.get(f"/lists/{run_id}")
    assert 'data-testid="publish-form"' in page.text
    r = client.post(f"/lists/{run_id}/publish", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/lists/manage")
    manage = client.get(r.headers["location"])
    assert 'data-testid="done"' in manage.text
    with unit_of_work(engine) as s:
        assert s.get(ScoringRun, run_id).published


def test_a_county_bureau_sees_only_its_own_enterprises_in_a_wider_run(engine, client,
                                                                      login_as):
    from kechuang.models import Enterprise as E

    with unit_of_work(engine) as s:
        run = make_run(s, [(1, 80.0, "成长", "lead", None), (5, 90.0, "成长", "lead", None)],
                       region=None)
        run_id = run.id
        from tests.lists.helpers import enterprise_id

        other = s.get(E, enterprise_id(s, 5))
        assert other.region_code.startswith(OTHER_COUNTY)
        other_name = other.name
    login_as("staff")
    page = client.get(f"/lists/{run_id}")
    assert page.status_code == 200 and other_name not in page.text


def test_lists_cut_over_the_whole_run_use_overall_places_and_the_runs_tier_names(engine):
    from kechuang.lists.service import list_view

    params = {"lists": {"per": "all", "tiers": [{"code": "gold", "name": "金榜", "upto": 0.1},
                                                {"code": "lead", "upto": 0.2}]}}
    with unit_of_work(engine) as s:
        run = make_run(s, [(1, 50.0, "初创", "gold", None), (2, 70.0, "成长", "gold", None),
                           (3, 60.0, "稳定", "lead", None), (4, 80.0, "成长", None, "失信")],
                       parameters=params, published=True)
        view = list_view(s, actor_of(s, "admin"), run, public=True)
        assert len(view.stages) == 1
        tiers = view.stages[0].tiers
        assert [t.tier for t in tiers] == ["gold", "lead"]
        assert view.tier_label("gold") == "金榜" and view.tier_label("lead") == "领跑榜"
        # places over the whole run, veto applied: 70 → 1, 60 → 2, 50 → 3
        assert [(e.row.points, e.row.stage_rank) for t in tiers for e in t.entries] == [
            (70.0, 1), (50.0, 3), (60.0, 2)]
