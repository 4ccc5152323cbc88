"""The JSON API of the registry: shapes, exact decimals as strings, filters and scope."""

from __future__ import annotations

from tests.support.seed import HOME_TOWN, uscc


def test_list_shape_filters_and_pagination(client, login_as, qualified):
    login_as("staff")
    body = client.get("/api/v1/enterprises").json()
    assert set(body) == {"total", "page", "pages", "per_page", "items"}
    assert body["total"] == 4 and body["per_page"] == 50 and body["pages"] == 1
    item = next(i for i in body["items"] if i["uscc"] == uscc(1))
    assert item == {
        "uscc": uscc(1), "name": "张家港华芯微电子有限公司", "region_code": HOME_TOWN,
        "region_name": "杨舍镇", "industry_code": "3973", "industry_display": "C3973",
        "industry_name": "集成电路制造",
        "badges": [{"code": "hte", "label": "高企", "tone": "ok"},
                   {"code": "abnormal", "label": "经营异常", "tone": "warn"}],
    }
    filtered = client.get("/api/v1/enterprises",
                          params={"industry": "C", "region": HOME_TOWN, "qual": "abnormal"})
    assert [i["uscc"] for i in filtered.json()["items"]] == [uscc(1)]


def test_list_scope_and_errors(client, login_as):
    login_as("other_admin")
    body = client.get("/api/v1/enterprises", params={"q": "张家港"}).json()
    assert body["total"] == 0 and body["items"] == []
    bad = client.get("/api/v1/enterprises", params={"industry": "ZZ"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"
    assert "行业代码无效" in bad.json()["message"]


def test_list_refuses_other_roles_as_json(client, login_as):
    assert client.get("/api/v1/enterprises").status_code == 401
    login_as("ent1")
    r = client.get("/api/v1/enterprises")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_detail_with_current_facts_batch_ids_and_history(client, login_as, facts):
    login_as("admin")
    body = client.get(f"/api/v1/enterprises/{uscc(1)}").json()
    assert body["uscc"] == uscc(1)
    assert [r["name"] for r in body["region_path"]] == ["江苏省", "苏州市", "张家港市", "杨舍镇"]
    revenue = {f["period"]: f for f in body["facts"] if f["metric"] == "revenue"}
    assert revenue[2022]["value"] == "1510.75"  # exact, as a string
    assert revenue[2022]["batch_id"] == facts["stats"]
    assert revenue[2022]["department"] == "stats" and revenue[2022]["unit"] == "万元"
    assert revenue[2021]["value"] == "1200.5" and revenue[2021]["batch_id"] == facts["tax"]
    attr = next(f for f in body["facts"] if f["metric"] == "srdi_level")
    assert attr["value"] is None and attr["value_text"] == "province" and attr["period"] == 0
    assert [(h["metric"], h["period"], h["value"], h["batch_id"], h["superseded_by"])
            for h in body["history"]] == [("revenue", 2022, "1500", facts["tax"], facts["stats"])]


def test_detail_scope(client, login_as):
    login_as("ent1")
    assert client.get(f"/api/v1/enterprises/{uscc(1)}").status_code == 200
    r = client.get(f"/api/v1/enterprises/{uscc(2)}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    client.cookies.clear()
    login_as("other_admin")
    assert client.get(f"/api/v1/enterprises/{uscc(1)}").status_code == 404
