"""Render docs/LANDING_CONTRACT.md from config/landing_contract.yaml (`make docs`).

A test regenerates it and compares, so the document cannot drift from what the code reads.
"""
import sys

from pipelines.contract import load_contract


def render() -> str:
    lines = [
        "# Landing contract",
        "",
        "<!-- Generated from config/landing_contract.yaml by `make docs`; do not edit by hand. -->",
        "",
        "Every file the pipeline reads from the landing folder (`SEG_LANDING_DIR`, default `data/landing/`).",
        "Headers are matched by the **export name**; a site whose export names a column differently maps it in",
        "`config/column_mapping.yaml` (see `config/column_mapping.example.yaml`), no code change needed.",
        "CSV files are UTF-8 with a header row; values are parsed in staging, so a bad value never stops a load:",
        "rows that cannot be used go to `quality.quarantine`, bad descriptive values to `quality.defects`.",
        "Timestamps may carry any UTC offset (`Z`, `+0000`, `+02:00`) or none (UTC assumed).",
        "A missing **required** column stops the load with an error naming the file and column; a missing",
        "optional column is loaded as NULL and reported; new columns are kept in `raw.<source>._extra`.",
        "",
    ]
    for source in load_contract().values():
        key = ", ".join(source.key) if source.key else "none (event stream)"
        lines += [
            f"## `{source.name}` ({source.system})",
            "",
            f"{source.description}",
            "",
            f"- File: `{source.file}` ({source.format})"
            + (", **optional**: when absent the pipeline runs with an empty table" if source.optional else ""),
            f"- Key: {key}",
            *([f"- Daily-partitioned: one file per day, the day (YYYYMMDD) taken from the file name by "
               f"`{source.daily_partition_file}`; a run loads the days it is asked for"] if source.partitioned else []),
            "",
            "| Export column | Canonical name | Type | Required | Meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for c in source.columns:
            lines.append(
                f"| `{c.export_name}` | `{c.name}` | `{c.type}` | {'yes' if c.required else 'no'} | {c.description} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
