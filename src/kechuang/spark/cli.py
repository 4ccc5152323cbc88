"""``kechuang export facts``: the current facts, attributes and enterprises to Parquet
(docs/cli/export.md, docs/spark.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.cli_output import console, fail
from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.spark import service
from kechuang.spark.cluster import check_address

# the options of a run on a cluster (``kechuang score`` and ``kechuang policy run``)
SparkMasterOption = Annotated[
    str | None, typer.Option("--spark-master", help="Standalone master spark://HOST:PORT "
                             "(or local[N])")]
SparkRemoteOption = Annotated[
    str | None, typer.Option("--spark-remote", help="Spark Connect server sc://HOST:PORT")]
SparkConfOption = Annotated[
    list[str] | None, typer.Option("--spark-conf", help="A Spark setting KEY=VALUE "
                                   "(repeatable)")]
LakeOption = Annotated[
    Path | None, typer.Option("--lake", help="The Parquet export the cluster reads (brought "
                              "up to date first; default: a directory under the temporary "
                              "directory)")]

export_app = typer.Typer(help="导出 Export (Parquet for Spark).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")


@export_app.command("facts")
def export_facts(
    out: Annotated[Path, typer.Option("--out", help="Output directory (created; a previous "
                                                    "export there is updated incrementally)")],
    full: Annotated[bool, typer.Option("--full", help="Rewrite everything instead of adding "
                                                      "the batches committed since")] = False,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1,
                                            help="Rows per chunk (memory bound, row group)")
                          ] = service.DEFAULT_CHUNK,
) -> None:
    """Write the current facts as Parquet partitioned by year, streaming, incremental by
    import batch."""
    actor = Actor.command_line()
    try:
        with unit_of_work() as session:
            result = service.export_facts(session, actor, out, full=full, chunk=chunk_rows)
        with unit_of_work() as session:
            service.do_record_export(session, actor, result)
    except KechuangError as exc:
        raise fail(exc) from exc
    console.print(f"已导出 [bold]{result.facts}[/] 条事实、{result.attributes} 条属性、"
                  f"{result.enterprises} 家企业到 {result.out}（{result.reason}）", highlight=False)
    typer.echo(json.dumps({k: v for k, v in result.as_dict().items() if k != "files"}
                          | {"files": len(result.files)}, ensure_ascii=False))


def cluster_params(spark_master: str | None, spark_remote: str | None,
                   spark_conf: list[str] | None, lake: Path | None) -> dict[str, object]:
    """The job parameters of a run on a Spark cluster (``--spark-*``, ``--lake``)."""
    conf: dict[str, str] = {}
    for item in spark_conf or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InvalidInput(f"--spark-conf 应为 KEY=VALUE，实为 “{item}”",
                               "--spark-conf must be KEY=VALUE")
        conf[key.strip()] = value.strip()
    if bool(spark_master) == bool(spark_remote):
        raise InvalidInput("--engine spark 需要 --spark-master（spark://主机:端口 或 local[N]）"
                           "或 --spark-remote（sc://主机:端口）之一",
                           "--engine spark needs one of --spark-master, --spark-remote")
    check_address(spark_master, spark_remote)
    return {"engine": "spark", "spark_master": spark_master, "spark_remote": spark_remote,
            "spark_conf": conf,
            "lake": str(lake.expanduser().absolute()) if lake is not None else None}
