"""Demo data of the matching registries, loaded by ``kechuang init --demo`` in its transaction.

- Achievements: the 12,100 ChinaXiv abstracts (``data/achievements.csv.xz``, CC BY 4.0 —
  credited wherever shown) spread over the county's institutes: each goes to an institute
  whose own fields fit the achievement's technology field, chosen by a hash of its id (so
  the same id always lands at the same institute, whatever else changes).
- Demands: written as enterprises write them — per industry, templates of real production
  problems (Chinese, varied by product, numbers and targets), drawn with a seeded generator.
- Commissioners (some with zero capacity), service requests, service logs and positions of
  the talent demand catalogue.

Everything is bulk-inserted with Core ``insert`` (executemany); deterministic for a seed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import lzma
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kechuang.demo.names import EXPERT_FIELDS, GIVEN_CHARS, SURNAMES
from kechuang.kit import rules
from kechuang.matching import fields as fieldmap
from kechuang.models import Enterprise, Expert, Institute
from kechuang.models.matching import (
    Achievement,
    Commissioner,
    ExpertProfile,
    ServiceLog,
    ServiceRequest,
    TalentPosition,
    TechDemand,
)

SOURCE = "ChinaXiv（中国科学院科技论文预发布平台），CC BY 4.0"
ATTRIBUTION = ("科技成果数据来自 ChinaXiv（中国科学院科技论文预发布平台），"
               "依 CC BY 4.0 许可使用。")


@lru_cache(maxsize=1)
def achievement_rows() -> tuple[tuple[str, str, str, str], ...]:
    """(ChinaXiv id, title, abstract, keywords), titles and abstracts cleaned of the
    conversion residue a reader must not see (:func:`clean_text`), each title once."""
    raw = resources.files("kechuang.matching").joinpath("data/achievements.csv.xz").read_bytes()
    text = lzma.decompress(raw).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    next(reader)
    rows, seen = [], set()
    for r in reader:
        if len(r) < 4 or not r[0]:
            continue
        abstract = clean_text(r[2])
        title = _title_or_lead(clean_title(r[1]), abstract)
        if title in seen:  # the preprint server holds some papers twice: list each once
            continue
        seen.add(title)
        rows.append((r[0], title, abstract, r[3]))
    return tuple(rows)


def _title_or_lead(title: str, abstract: str) -> str:
    """A title that the conversion lost (a footnote digit, a name, an affiliation) is
    replaced by the abstract's first clause."""
    if (len(re.findall(r"[\u4e00-\u9fff]", title)) >= 6 and "（1." not in title
            and "关键词" not in title[:8]):
        return title
    lead = re.sub(r"^[；;\s]*(?:摘要\s*[:：]\s*)?(?:［?目的[/／意义」］\]]*)?", "", abstract)
    lead = re.split(r"[。；;]", lead, maxsplit=1)[0]
    return lead[:40] + ("…" if len(lead) > 40 else "")


# The abstracts come from PDF conversion: titles carry footnote markers (``\*``), formulas as
# LaTeX (``$\mathbf { N } _ { 2 }$O``) and, for some, the whole citation instead of a title.
_MATH = re.compile(r"\$([^$]{1,200})\$")
_COMMAND = re.compile(r"\\(?:math[a-z]+|text[a-z]*|operatorname|dot|bar|hat|tilde|left|right"
                      r"|mathrm|boldsymbol|rm|bf|it)\b")
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
          "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ",
          "tau": "τ", "phi": "φ", "omega": "ω", "Delta": "Δ", "Omega": "Ω", "%": "%",
          "times": "×", "pm": "±", "sim": "～", "leq": "≤", "geq": "≥", "circ": "°"}
_SYMBOL = re.compile(r"\\({})\b|\\%".format("|".join(k for k in _GREEK if k != "%")))
_CITATION = re.compile(r"^[^．.]{0,80}?等?[．.]\s*(?:19|20)\d\d[．.]\s*"
                       r"(?P<title>[^．.]{4,200})[．.]")


def _formula(match: re.Match[str]) -> str:
    body = _COMMAND.sub("", match.group(1))
    body = _SYMBOL.sub(lambda m: _GREEK.get(m.group(1) or "%", ""), body)
    return re.sub(r"[{}_^\\\s]", "", body)


def clean_text(text: str) -> str:
    """Formulas written as LaTeX become plain text (``$\\mathbf { C O } _ { 2 }$`` → ``CO2``,
    ``$\\beta$`` → ``β``); footnote markers ``\\*`` go."""
    text = _MATH.sub(_formula, text).replace("\\~", "～")
    text = re.sub(r"\s*\\?(?:cdot|nabla)\s*", "", text) if "cdot" in text or "nabla" in text \
        else text
    return re.sub(r"\s*\\?\*\s*", "", text) if "*" in text else text


_TITLE_END = re.compile("影响|研究|机制|对策|分析|进展|应用|评价|评估|效果|作用|方法|模型|"
                       "需要量|适宜水平|比较")


def clean_title(title: str) -> str:
    """:func:`clean_text`, and a citation string given as a title becomes the cited title
    (``吴祺，余涛等．2016．海南电离层F区…观测.地球物理学报,…`` → ``海南电离层F区…观测``)."""
    if "doi" in title.lower() or _CITATION.match(title):
        found = _CITATION.match(title)
        if found:
            title = found.group("title")
    title = title.split("\\~ ")[0]  # "…进展\~ 张成 耿照玉（…学院）": authors after the marker
    if "」" in title:  # an author list glued on: "…的影响焦志强」王雪琴」…" (」 = superscript 1)
        head = title.lstrip("」").split("」")[0]
        ends = list(_TITLE_END.finditer(head))
        title = head[:ends[-1].end()] if ends else re.sub(r"\s+\S{1,4}$", "", head)
    title = re.sub(r"^[；;\s]*\d\s+", "", title)  # a footnote digit: "1 饲粮…"
    title = re.sub(r"^[；;\s]*\d*摘要\s*[:：]\s*", "", title)  # "摘要：本试验…"
    title = clean_text(title).replace("\\~", "～").replace("\\", "")
    return re.sub(r"\s{2,}", " ", title).strip(" \u3000～~")


def _h(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


# ------------------------------------------------------------------ demand templates
# {p}: the enterprise's product word; {a}, {b}: numbers drawn per demand
_TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "31": [
        ("{p}连铸坯表面裂纹控制技术", "我公司{p}连铸坯角部横裂纹发生率约{a}%，轧后需大量修磨，"
         "怀疑与结晶器冷却和保护渣性能有关，希望找到从工艺到在线检测的整体解决方案。",
         "裂纹发生率降到{b}%以下；修磨量减少一半"),
        ("特钢夹杂物控制与洁净钢冶炼", "高端{p}客户要求氧含量和夹杂物级别更严，目前精炼后"
         "大颗粒夹杂偶发，探伤不合格率{a}%。需要精炼渣系和钙处理工艺优化。",
         "探伤合格率提高到{c}%；氧含量≤{b}ppm"),
        ("轧钢加热炉节能与燃烧优化", "加热炉吨钢燃耗偏高，烟气余热利用不足，希望采用智能燃烧"
         "控制和余热回收技术降低能耗。", "吨钢燃耗下降{a}%；氮氧化物排放达超低排放标准"),
    ],
    "32": [
        ("{p}高强高导铜合金制备", "产品用于新能源汽车连接器，要求强度和导电率同时提升，"
         "现有固溶时效工艺难以兼顾。", "抗拉强度≥{c}MPa，导电率≥{b}%IACS"),
        ("铝合金熔体净化与再生料利用", "再生铝比例提高后，{p}气孔和夹渣增多，需要熔体净化"
         "和在线除气技术。", "再生料比例提高到{a}%，废品率低于{b}%"),
    ],
    "33": [
        ("{p}焊接变形控制与自动化焊接", "大型{p}焊接后变形大，矫形占用大量人工，希望引入"
         "焊接机器人和变形预测仿真。", "变形量减少{a}%；焊接效率提高一倍"),
        ("金属表面防腐涂层寿命提升", "{p}在沿海高盐雾环境使用{a}年即出现锈蚀，需要新型"
         "防腐涂层或表面处理工艺。", "盐雾试验≥{c}小时"),
        ("热处理工艺数字化与质量追溯", "热处理炉温均匀性差，{p}硬度离散大，希望做炉温监测"
         "和工艺数据追溯系统。", "硬度波动控制在±{b}HRC内"),
    ],
    "34": [
        ("{p}关键零部件精密加工", "{p}核心部件加工精度不稳定，依赖进口数控系统，希望"
         "开展误差补偿和在线测量。", "加工精度达到{b}微米；良品率≥{c}%"),
        ("设备状态监测与故障预测", "{p}现场故障停机多，想用振动传感器和机器学习做预测性"
         "维护。", "非计划停机减少{a}%"),
        ("{p}减振降噪技术", "整机噪声超过客户要求，需要结构优化和降噪材料方案。",
         "噪声降低{b}分贝"),
    ],
    "35": [
        ("{p}智能化控制系统开发", "现有{p}控制系统功能单一，希望开发基于工业互联网的远程"
         "监控和自适应控制。", "实现远程运维；能耗降低{a}%"),
        ("专用装备国产化替代", "产线上一台进口{p}维护成本高，希望与高校合作完成关键部件"
         "国产化。", "国产化率达到{c}%"),
    ],
    "36": [
        ("新能源汽车{p}轻量化", "客户要求{p}减重，考虑铝合金或复合材料替代钢件，需要"
         "材料和结构设计支持。", "减重{a}%以上，满足碰撞安全要求"),
    ],
    "38": [
        ("锂电池{p}安全性提升", "动力电池{p}在针刺和过充测试中热失控风险高，希望改进"
         "电解液和隔膜材料。", "通过国标热失控测试；循环寿命≥{c}次"),
        ("{p}电机效率提升", "电机效率距离一级能效还有差距，需要电磁设计优化和新型硅钢"
         "材料应用。", "效率提升{b}个百分点"),
        ("光伏组件{p}降本增效", "希望提高组件转换效率并降低银浆用量。", "转换效率提高{b}%"),
    ],
    "39": [
        ("{p}芯片封装散热问题", "{p}功率密度上升后封装散热不足，结温过高，需要导热材料"
         "和封装结构方案。", "结温降低{a}℃"),
        ("机器视觉缺陷检测", "{p}外观缺陷依靠人工目检，漏检率高，希望用深度学习图像识别"
         "实现在线检测。", "漏检率低于{b}%；检测节拍≤{a}秒"),
        ("{p}信号完整性与电磁兼容", "高速接口电磁兼容测试不通过，需要电路和屏蔽设计支持。",
         "通过 EMC 认证"),
    ],
    "26": [
        ("{p}合成工艺绿色化改造", "现有{p}合成路线三废多，收率{a}%，希望开发新型催化剂"
         "和连续流工艺。", "收率提高到{c}%；废水减少一半"),
        ("高分子材料{p}改性", "{p}耐热性和韧性不足，希望通过共混或纳米复合改性提升性能。",
         "热变形温度提高{a}℃"),
        ("化工废水处理与资源化", "高盐高浓度有机废水处理成本高，希望采用高级氧化或膜分离"
         "技术。", "COD 降到{c}mg/L 以下"),
    ],
    "29": [
        ("{p}橡胶制品耐老化", "{p}户外使用开裂，希望改进配方和防老剂体系。",
         "老化试验后性能保持率≥{c}%"),
    ],
    "17": [
        ("功能性纺织{p}开发", "客户需要抗菌、吸湿排汗的{p}，现有整理工艺耐洗性差。",
         "洗涤{a}次后抗菌率≥{c}%"),
        ("印染废水减排与节水", "印染环节水耗高，希望引入少水或无水染色技术。",
         "吨布水耗降低{a}%"),
    ],
    "65": [
        ("{p}平台数据治理与智能分析", "企业积累了大量业务数据，缺少数据治理和分析模型，"
         "希望引入大数据和人工智能技术。", "形成可复用的数据中台"),
        ("工业软件{p}国产化", "{p}依赖国外软件，希望与院所合作开发自主可控版本。",
         "核心功能替代率{c}%"),
    ],
    "27": [
        ("{p}药物制剂工艺优化", "{p}溶出度批间差异大，希望优化制剂工艺和质量控制方法。",
         "溶出度 RSD≤{b}%"),
    ],
    "14": [
        ("{p}保鲜与品质控制", "{p}货架期短，希望采用新型保鲜和杀菌技术。",
         "货架期延长{a}天"),
    ],
}
_GENERIC = [
    ("{p}生产过程节能降耗", "生产线能耗偏高，希望开展能源审计和节能技术改造。",
     "综合能耗下降{a}%"),
    ("{p}数字化车间建设", "生产数据靠人工记录，希望建设数字化车间和生产执行系统。",
     "生产效率提高{a}%"),
    ("{p}产品检测方法开发", "缺少快速检测手段，质量问题发现滞后，希望开发在线检测方法。",
     "检测时间缩短到{b}分钟"),
]
_PRODUCT = {"31": "特钢", "32": "铜合金", "33": "钢结构件", "34": "通用设备", "35": "专用设备",
            "36": "汽车零部件", "38": "电池", "39": "电子元器件", "26": "化学品", "29": "橡胶制品",
            "17": "面料", "65": "软件", "27": "药品", "14": "食品"}
_DEGREES = ("本科", "本科", "硕士", "硕士", "博士", "大专")
_POSITIONS = (("工艺工程师", "材料工程"), ("研发工程师", "机械工程"), ("电气工程师", "电气自动化"),
              ("软件工程师", "计算机"), ("质量工程师", "质量管理"), ("化学分析师", "化学"),
              ("算法工程师", "人工智能"), ("电池研发工程师", "电化学"))
_CHAINS = ("冶金新材料", "高端装备", "新能源", "集成电路", "纺织服装", "生物医药", "数字经济")


class LabelledDemand(BaseModel):
    """A demo demand with its known answer (``data/labelled_demands.yaml``)."""

    model_config = ConfigDict(extra="forbid")
    title: str
    description: str
    targets: str
    expect_top: list[str] = []
    abstain: bool = False

    @model_validator(mode="after")
    def _one_answer(self) -> LabelledDemand:
        if self.abstain == bool(self.expect_top):
            raise ValueError("give either expect_top or abstain: true")
        return self


class LabelledDemands(BaseModel):
    model_config = ConfigDict(extra="forbid")
    demands: list[LabelledDemand]


@lru_cache(maxsize=1)
def labelled_demands() -> tuple[LabelledDemand, ...]:
    path = Path(str(resources.files("kechuang.matching").joinpath(
        "data/labelled_demands.yaml")))
    return tuple(rules.load(path, LabelledDemands).demands)


def _utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 2, 0, tzinfo=UTC)


def load_demo(session: Session, *, seed: int, county_code: str, today: date) -> dict[str, int]:
    """Insert the matching demo rows; returns counts for the init summary."""
    rng = np.random.default_rng([seed, 5 << 28])
    fm = fieldmap.load()
    stamp = _utc(today - timedelta(days=1))
    institutes = list(session.execute(
        select(Institute.id, Institute.fields, Institute.region_code)
        .where(Institute.region_code.startswith(county_code)).order_by(Institute.id)))
    counts: dict[str, int] = {}
    if institutes:
        by_field: dict[str | None, list[tuple[int, str]]] = {}
        for inst_id, inst_fields, region in institutes:
            joined = " ".join(inst_fields or [])
            code = fm.classify(joined, "", joined)
            by_field.setdefault(code, []).append((inst_id, region))
        everyone = [(i, r) for i, _, r in institutes]
        rows = []
        answers = tuple(t for d in labelled_demands() for t in d.expect_top)
        for n, (xid, title, abstract, keywords) in enumerate(achievement_rows()):
            tech = fm.classify(title, abstract, keywords)
            h = _h(xid)
            pool = by_field.get(tech) or everyone
            inst_id, region = pool[h % len(pool)]
            stage = h >> 8 & 0xFF
            maturity, trl = (("产业化", 7 + stage % 2) if stage < 26 else
                             ("中试", 5 + stage % 2) if stage < 100 else ("实验室", 3 + stage % 2))
            modes = [m for i, m in enumerate(("转让", "许可", "作价入股", "合作开发"))
                     if (h >> (16 + i)) & 1] or ["合作开发"]
            priced = (h >> 24) % 3 == 0
            lo = Decimal(5 * (1 + (h >> 28) % 40)) if priced else None
            rows.append({
                "code": xid, "owner_kind": "institute", "institute_id": inst_id,
                "enterprise_id": None, "region_code": region, "title": title[:300],
                "abstract": abstract, "keywords": keywords, "discipline": fm.name_of(tech)
                if tech else "", "tech_field": tech, "maturity": maturity, "trl": trl,
                "patent_numbers": [], "transfer_modes": modes, "price_min": lo,
                "price_max": lo * 3 if lo is not None else None,
                "visibility": "public" if (h >> 32) % 20 or title.startswith(answers)
                else "bureau_only",  # the labelled demands' answers stay public
                "source": SOURCE, "created_by": None, "created_at": stamp,
                "updated_at": stamp})
            if len(rows) == 2000:
                session.execute(insert(Achievement), rows)
                rows = []
            counts["achievements"] = n + 1
        if rows:
            session.execute(insert(Achievement), rows)

    # enterprises to write demands: a deterministic sample, industries with templates first
    ents = session.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.industry_code, Enterprise.region_code)
        .order_by(Enterprise.id).limit(20000)).all()
    n_dem = max(20, min(400, len(ents) // 25))
    templated = [e for e in ents if (e[2] or "")[:2] in _TEMPLATES]
    pool_e = templated if len(templated) >= n_dem // 2 else ents
    demand_rows, req_rows, pos_rows = [], [], []
    if pool_e:
        pick = rng.choice(len(pool_e), size=min(n_dem, len(pool_e)), replace=False)
        statuses = ("open",) * 6 + ("matched", "in_cooperation", "solved", "closed")
        for j, i in enumerate(sorted(pick.tolist())):
            ent_id, _name, industry, region = pool_e[i]
            div = (industry or "")[:2]
            options = _TEMPLATES.get(div, []) + _GENERIC
            title, desc, target = options[int(rng.integers(0, len(options)))]
            a, b, c = int(rng.integers(3, 30)), int(rng.integers(1, 9)), int(rng.integers(60, 99))
            p = _PRODUCT.get(div, "产品")
            lo = Decimal(int(rng.integers(1, 40)) * 10)
            demand_rows.append({
                "enterprise_id": ent_id, "title": title.format(p=p, a=a, b=b, c=c),
                "description": desc.format(p=p, a=a, b=b, c=c),
                "targets": target.format(p=p, a=a, b=b, c=c), "industry_code": industry,
                "region_code": region, "budget_min": lo, "budget_max": lo * 2,
                "deadline": today + timedelta(days=int(rng.integers(30, 365))),
                "visibility": "bureau_only" if j % 9 == 4 else "public",
                "status": statuses[int(rng.integers(0, len(statuses)))], "created_by": None,
                "created_at": stamp, "updated_at": stamp})
            if j % 4 == 0:
                req_rows.append({
                    "enterprise_id": ent_id, "title": f"{p}技术问题诊断与服务",
                    "description": desc.format(p=p, a=a, b=b, c=c),
                    "industry_code": industry, "region_code": region,
                    "team_size": 1 + int(j % 12 == 0), "status": "open", "created_at": stamp})
            if j % 2 == 0:
                pos_title, pos_field = _POSITIONS[int(rng.integers(0, len(_POSITIONS)))]
                pos_rows.append({
                    "enterprise_id": ent_id, "title": pos_title, "field": pos_field,
                    "degree": _DEGREES[int(rng.integers(0, len(_DEGREES)))],
                    "count": int(rng.integers(1, 6)),
                    "industry_chain": _CHAINS[int(rng.integers(0, len(_CHAINS)))],
                    "region_code": region, "status": "open", "created_at": stamp})
    for k, labelled in enumerate(labelled_demands() if ents else ()):
        # written by enterprises spread over the county, after the templated ones
        ent_id, _name, industry, region = ents[(k * 7919 + 13) % len(ents)]
        demand_rows.append({
            "enterprise_id": ent_id, "title": labelled.title,
            "description": labelled.description, "targets": labelled.targets,
            "industry_code": industry, "region_code": region,
            "budget_min": Decimal(50 + 10 * k), "budget_max": Decimal(100 + 20 * k),
            "deadline": today + timedelta(days=90 + 30 * k), "visibility": "public",
            "status": "open", "created_by": None, "created_at": stamp, "updated_at": stamp})
    for table, rows_ in ((TechDemand, demand_rows), (ServiceRequest, req_rows),
                         (TalentPosition, pos_rows)):
        if rows_:
            session.execute(insert(table), rows_)
    counts["demands"], counts["service_requests"] = len(demand_rows), len(req_rows)
    counts["talent_positions"] = len(pos_rows)

    # commissioners: 40, capacity 0..5 (a few at 0: inactive for dispatch)
    com_rows = []
    names: set[str] = set()
    for i in range(40):
        while True:
            name = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + "".join(
                GIVEN_CHARS[int(x)] for x in rng.integers(0, len(GIVEN_CHARS),
                                                          int(rng.integers(1, 3))))
            if name not in names:
                names.add(name)
                break
        fields_ = [EXPERT_FIELDS[int(x)] for x in rng.choice(len(EXPERT_FIELDS), 2,
                                                             replace=False)]
        com_rows.append({"name": name, "expertise": "、".join(fields_) + "方面的技术服务",
                         "affiliation": "", "capacity": 0 if i % 13 == 7 else
                         int(rng.integers(1, 6)), "region_code": county_code,
                         "user_id": None, "active": i % 13 != 7, "created_at": stamp})
    session.execute(insert(Commissioner), com_rows)
    counts["commissioners"] = len(com_rows)
    com_ids = list(session.scalars(select(Commissioner.id).order_by(Commissioner.id)))
    log_rows = []
    for j, req in enumerate(req_rows[: len(req_rows) // 2]):
        log_rows.append({"commissioner_id": com_ids[j % len(com_ids)],
                         "enterprise_id": req["enterprise_id"], "request_id": None,
                         "visited_on": today - timedelta(days=int(rng.integers(1, 200))),
                         "problem": req["description"][:200],
                         "result": "已提出改进建议，约定下次回访" if j % 3 else
                         "问题已解决，企业确认", "created_at": stamp})
    if log_rows:
        session.execute(insert(ServiceLog), log_rows)
    counts["service_logs"] = len(log_rows)

    # expert profiles: expertise text from their fields (the public directory)
    prof = [{"expert_id": eid, "expertise": "长期从事" + "、".join(f or []) + "研究与技术服务",
             "keywords": " ".join(f or []), "visibility": "public", "updated_at": stamp}
            for eid, f in session.execute(select(Expert.id, Expert.fields).order_by(Expert.id))]
    if prof:
        session.execute(insert(ExpertProfile), prof)
    return counts


def summary_lines(counts: dict[str, Any]) -> list[str]:
    return [f"科技成果 {counts.get('achievements', 0):,} 项（{SOURCE}）",
            f"技术需求 {counts.get('demands', 0):,} 项；科技特派员 "
            f"{counts.get('commissioners', 0)} 名；服务需求 {counts.get('service_requests', 0)} 项"]
