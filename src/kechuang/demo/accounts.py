"""The parties around the demo enterprises (institutes, experts, banks) and one demo account
per role, all created through the real models and ``do_create_user`` (Argon2, audit rows)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import do_create_user
from kechuang.demo.names import (
    BANKS,
    EXPERT_FIELDS,
    EXPERT_TITLES,
    GIVEN_CHARS,
    INSTITUTES,
    SURNAMES,
    TOWN_PINYIN,
)
from kechuang.models import Bank, Enterprise, Expert, Institute, Region
from kechuang.registry.catalogue import departments_by_code

#: the password of every demo account (documented in README and docs/demo.md)
PASSWORD = "demo-pass-2024"
N_EXPERTS = 150
DEPARTMENT_ACCOUNTS = ("tax", "stats", "ip", "hrss", "kjj")


def create_parties(session: Session, *, county_code: str, prefix: str, seed: int,
                   region_codes: list[str]) -> dict[str, list[Any]]:
    """30 institutes, 150 experts (a few with declared conflicts) and 6 banks.

    ``region_codes`` are the county's towns and parks, most likely first: institutes in the
    county stand in one of the first four (the county seat, the development zones)."""
    rng = np.random.default_rng([seed, 2 << 30])
    known = set(session.scalars(select(Region.code).where(
        Region.code.in_([r for *_, r in INSTITUTES if r]))))
    institutes = []
    for i, (template, kind, inst_fields, region) in enumerate(INSTITUTES, start=1):
        if region is None or region not in known:
            region = region_codes[int(rng.integers(0, min(4, len(region_codes))))]
        institute = Institute(code=f"INST-{i:02d}", name=template.format(p=prefix), kind=kind,
                              region_code=region, fields=list(inst_fields))
        session.add(institute)
        institutes.append(institute)
    banks = []
    for template, code in BANKS:
        bank = Bank(code=code, name=template.format(p=prefix), region_code=county_code)
        session.add(bank)
        banks.append(bank)
    session.flush()

    # enterprises an expert may have ties to: the first high-tech enterprises by id
    candidates = list(session.scalars(
        select(Enterprise.uscc).where(Enterprise.hte_cert_no.is_not(None))
        .order_by(Enterprise.id).limit(24)))
    if not candidates:
        candidates = list(session.scalars(select(Enterprise.uscc).order_by(Enterprise.id)
                                          .limit(24)))
    experts = []
    names: set[str] = set()
    for i in range(1, N_EXPERTS + 1):
        while True:
            given = "".join(GIVEN_CHARS[j] for j in rng.integers(0, len(GIVEN_CHARS),
                                                                  int(rng.integers(1, 3))))
            name = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + given
            if name not in names:
                names.add(name)
                break
        inst: Institute | None = (institutes[int(rng.integers(0, len(institutes)))]
                                  if rng.random() < 0.8 else None)
        own: list[str] = list(inst.fields) if inst else []
        extra = [EXPERT_FIELDS[j] for j in rng.choice(len(EXPERT_FIELDS), 2, replace=False)]
        fields = list(dict.fromkeys(own[:2] + extra))[: int(rng.integers(1, 4))]
        conflicts: list[str] = []
        if i % 19 == 0 and candidates:  # about eight experts declare a conflict
            conflicts = [candidates[int(j)] for j in
                         rng.choice(len(candidates), min(2, len(candidates)), replace=False)]
        expert = Expert(code=f"EXP-{i:04d}", name=name,
                        title=EXPERT_TITLES[int(rng.integers(0, len(EXPERT_TITLES)))],
                        institute_id=inst.id if inst else None,
                        region_code=inst.region_code if inst and inst.region_code.startswith(
                            county_code) else county_code,
                        fields=fields, conflicts=sorted(conflicts))
        session.add(expert)
        experts.append(expert)
    session.flush()
    return {"institutes": institutes, "experts": experts, "banks": banks}


def create_accounts(session: Session, *, county_code: str, parties: dict[str, list[Any]],
                    towns: list[tuple[str, str]], enterprise_id: int) -> list[dict[str, str]]:
    """One account per role (and a town-level staff account), password :data:`PASSWORD`."""
    depts = departments_by_code()
    ent = session.get(Enterprise, enterprise_id)
    assert ent is not None
    inst = next(i for i in parties["institutes"] if i.region_code.startswith(county_code))
    expert = next(e for e in parties["experts"]
                  if e.region_code.startswith(county_code) and e.institute_id is not None)
    bank = parties["banks"][0]
    specs: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("admin", "bureau_admin", county_code, "科技局管理员", {}),
        ("staff", "bureau_staff", county_code, "科技局工作人员", {}),
    ]
    for code in DEPARTMENT_ACCOUNTS:
        specs.append((code, "department", county_code, f"{depts[code].name_zh}数据员",
                      {"department_code": code}))
    specs += [
        ("enterprise", "enterprise", ent.region_code, ent.name, {"enterprise_id": ent.id}),
        ("institute", "institute", inst.region_code, inst.name, {"institute_id": inst.id}),
        ("expert", "expert", expert.region_code, f"{expert.name}（{expert.title}）",
         {"expert_id": expert.id}),
        ("bank", "bank", county_code, bank.name, {"bank_id": bank.id}),
    ]
    if towns:
        seat = next((t for name in TOWN_PINYIN for t in towns if t[1] == name), towns[0])
        username = f"staff_{TOWN_PINYIN.get(seat[1], 'town')}"
        specs.append((username, "bureau_staff", seat[0], f"{seat[1]}科技工作人员", {}))
    cli = Actor.command_line()
    out = []
    for username, role, region, display, party in specs:
        do_create_user(session, cli, username=username, password=PASSWORD, role=role,
                       region_code=region, display_name=display, **party)
        out.append({"username": username, "role": role, "region_code": region,
                    "display_name": display})
    return out
