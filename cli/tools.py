"""Offline tools that need no server: ``render`` a spec, ``validate`` a script."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError

from engine.render import render_strategy
from engine.spec import parse_spec
from engine.validate import validate_script

MAX_SHOWN_ERRORS = 20


@click.command()
@click.argument(
    "spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
def render(spec_file: Path, out: Path | None) -> None:
    """Render the strategy spec in SPEC_FILE (JSON) to Pine Script."""
    try:
        spec = parse_spec(json.loads(spec_file.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{spec_file} is not JSON: {exc}") from exc
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(part) for part in error['loc']) or '(root)'}: "
            f"{error['msg']}"
            for error in exc.errors(include_url=False)[:MAX_SHOWN_ERRORS]
        ]
        raise click.ClickException(
            f"{spec_file} is not a valid spec:\n" + "\n".join(lines)
        ) from exc

    code = render_strategy(spec)
    if out is None:
        click.echo(code, nl=not code.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(code, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


@click.command()
@click.argument(
    "pine_files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
def validate(pine_files: tuple[Path, ...]) -> None:
    """Parse and lint each PINE_FILE; print LINE RULE message; exit 1 on errors."""
    failed = False
    for pine_file in pine_files:
        report = validate_script(pine_file.read_text(encoding="utf-8"))
        prefix = f"{pine_file}:" if len(pine_files) > 1 else ""
        for issue in report.issues:
            line = "-" if issue.line is None else str(issue.line)
            suffix = "" if issue.severity == "error" else f" ({issue.severity})"
            click.echo(f"{prefix}{line} {issue.rule} {issue.message}{suffix}")

        errors = sum(1 for issue in report.issues if issue.severity == "error")
        warnings = len(report.issues) - errors
        click.echo(f"{pine_file}: {errors} error(s), {warnings} warning(s)", err=True)
        failed = failed or not report.ok
    if failed:
        raise SystemExit(1)
