"""`kb doc …` and `kb approvers …`: the document workflow for people without Slack, scripts and tests.

`--as USER` names who acts: the Slack user id an approver is listed under (`kb approvers set AREA U012…`).
What follows a transition (asking approvers, publishing, telling the author) runs before the command
returns, so `kb doc approve` prints `published` once the document is searchable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import click
from rich.table import Table

from common.cli.support import out, reports_errors, settings_with_logging
from common.documents.model import DOC_TYPES, STATUSES, DecisionKind, DocType, Document, Status
from common.documents.service import DocumentService, diff
from common.documents.workflow import Change
from common.runtime.documents import build_document_service
from common.runtime.store import build_store
from common.store.chunk import CLASSIFICATIONS, Classification


def _service() -> DocumentService:
    settings = settings_with_logging()
    return build_document_service(settings, build_store(settings))


def _print(doc: Document, as_json: bool, **extra: Any) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {"id": doc.id, "status": doc.status, "version": doc.version, "url": doc.page_url, **extra}
            )
        )
        return
    where = f" → {doc.page_url}" if doc.page_url else ""
    out.print(f"{doc.id}  {doc.status}  v{doc.version}  {doc.title}{where}")


def _done(service: DocumentService, change: Change, as_json: bool) -> None:
    doc = service.follow_up(change)
    _print(doc, as_json, waiting_on=list(change.ask))


@click.group("doc")
def doc_group() -> None:
    """Documents: create, review, publish."""


@doc_group.command("create")
@click.option("--title", required=True)
@click.option("--area", required=True)
@click.option("--type", "doc_type", required=True, type=click.Choice(DOC_TYPES))
@click.option("--body-file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--classification", default="internal", show_default=True, type=click.Choice(CLASSIFICATIONS))
@click.option("--owner", default="", help="Who owns it once published (an email); default: --as.")
@click.option("--as", "author", default="cli", show_default=True, help="Who writes it.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def create(
    title: str,
    area: str,
    doc_type: str,
    body_file: Path,
    classification: str,
    owner: str,
    author: str,
    as_json: bool,
) -> None:
    """Write version 1 and submit it: a policy or procedure to the area's approvers, anything else to
    publishing."""
    service = _service()
    change = service.create(
        title=title,
        area=area,
        doc_type=cast(DocType, doc_type),
        classification=cast(Classification, classification),
        owner=owner or author,
        author=author,
        body=body_file.read_text(encoding="utf-8"),
    )
    _done(service, change, as_json)


@doc_group.command("revise")
@click.argument("document_id")
@click.option("--body-file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", required=True, help="What changed, for the approvers.")
@click.option("--title", default="", help="A new title; default: keep it.")
@click.option("--as", "editor", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def revise(document_id: str, body_file: Path, note: str, title: str, editor: str, as_json: bool) -> None:
    """Write a new version and submit it again."""
    service = _service()
    change = service.revise(
        document_id, editor=editor, body=body_file.read_text(encoding="utf-8"), note=note, title=title
    )
    _done(service, change, as_json)


def _decide(
    document_id: str, kind: DecisionKind, approver: str, reason: str, version: int | None, as_json: bool
) -> None:
    service = _service()
    current = version or service.workflow.document(document_id).version
    change = service.decide(document_id, version=current, approver=approver, kind=kind, reason=reason)
    _done(service, change, as_json)


@doc_group.command("approve")
@click.argument("document_id")
@click.option("--as", "approver", required=True, help="The approver (their Slack user id).")
@click.option("--version", type=int, default=None, help="The version decided on; default: the current one.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def approve(document_id: str, approver: str, version: int | None, as_json: bool) -> None:
    """Approve a version; with the approvals it needs, it is published."""
    _decide(document_id, "approve", approver, "", version, as_json)


@doc_group.command("reject")
@click.argument("document_id")
@click.option("--as", "approver", required=True)
@click.option("--reason", required=True)
@click.option("--version", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def reject(document_id: str, approver: str, reason: str, version: int | None, as_json: bool) -> None:
    """Reject a version, saying why."""
    _decide(document_id, "reject", approver, reason, version, as_json)


@doc_group.command("request-changes")
@click.argument("document_id")
@click.option("--as", "approver", required=True)
@click.option("--reason", required=True)
@click.option("--version", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def request_changes(document_id: str, approver: str, reason: str, version: int | None, as_json: bool) -> None:
    """Send a version back to its author with what should change."""
    _decide(document_id, "request_changes", approver, reason, version, as_json)


@doc_group.command("publish")
@click.argument("document_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def publish(document_id: str | None, as_json: bool) -> None:
    """Publish one approved document, or every approved document not published yet."""
    service = _service()
    docs = [service.publish(document_id)] if document_id else service.publish_pending()
    for doc in docs:
        _print(doc, as_json)


@doc_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def list_documents(status: str | None, as_json: bool) -> None:
    """Documents, and for those in review who they are waiting on."""
    workflow = _service().workflow
    waiting = {doc.id: tuple(pending) for doc, pending in workflow.waiting()}
    docs = workflow.documents(status=cast(Status | None, status))
    if as_json:
        rows = [
            {
                "id": d.id,
                "title": d.title,
                "area": d.area,
                "type": d.doc_type,
                "status": d.status,
                "version": d.version,
                "author": d.author,
                "waiting_on": list(waiting.get(d.id, ())),
                "url": d.page_url,
            }
            for d in docs
        ]
        click.echo(json.dumps(rows))
        return
    table = Table(title=f"Documents ({len(docs)})")
    for column in ("id", "status", "v", "type", "area", "title", "waiting on"):
        table.add_column(column)
    for d in docs:
        table.add_row(
            d.id, d.status, str(d.version), d.doc_type, d.area, d.title, ", ".join(waiting.get(d.id, ()))
        )
    out.print(table)


@doc_group.command("show")
@click.argument("document_id")
@click.option("--diff", "between", nargs=2, type=int, default=None, help="Show what changed from A to B.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def show(document_id: str, between: tuple[int, int] | None, as_json: bool) -> None:
    """A document's history: every version, every decision, and the difference between two versions."""
    workflow = _service().workflow
    doc, versions, decisions = workflow.history(document_id)
    changes = ""
    if between:
        old, new = (workflow.version(doc.id, n) for n in between)
        changes = diff(old, new, max_lines=10_000)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": doc.id,
                    "status": doc.status,
                    "versions": [
                        {
                            "number": v.number,
                            "title": v.title,
                            "body_hash": v.body_hash,
                            "editor": v.editor,
                            "created_at": v.created_at.isoformat(),
                            "change_note": v.change_note,
                        }
                        for v in versions
                    ],
                    "decisions": [
                        {"version": d.version, "approver": d.approver, "decision": d.kind, "reason": d.reason}
                        for d in decisions
                    ],
                    "diff": changes,
                }
            )
        )
        return
    _print(doc, as_json=False)
    table = Table(title="Versions")
    for column in ("v", "when", "editor", "hash", "note"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.number), v.created_at.strftime("%Y-%m-%d %H:%M"), v.editor, v.body_hash[:10], v.change_note
        )
    out.print(table)
    for d in decisions:
        out.print(f"  v{d.version}: {d.approver} {d.kind.replace('_', ' ')} {d.reason}".rstrip())
    if changes:
        out.print(changes, markup=False, highlight=False)


@click.group("approvers")
def approvers_group() -> None:
    """Areas and the people who approve their policies and procedures."""


@approvers_group.command("set")
@click.argument("area")
@click.argument("users", nargs=-1)
@click.option("--space", "space_key", default="", help="Where the area's documents are published.")
@click.option("--parent", "parent_page_id", default="", help="The Confluence page they go under.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def set_approvers(
    area: str, users: tuple[str, ...], space_key: str, parent_page_id: str, as_json: bool
) -> None:
    """Make USERS (Slack user ids) the approvers of AREA, replacing any before; none leaves an area whose
    guidelines and information publish at once and which takes no policies or procedures."""
    found = _service().set_area(area, users, space_key=space_key, parent_page_id=parent_page_id)
    if as_json:
        click.echo(
            json.dumps({"area": found.name, "approvers": list(found.approvers), "space": found.space_key})
        )
        return
    out.print(f"{found.name}: {', '.join(found.approvers) or '(no approvers)'} (space {found.space_key})")


@approvers_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def list_approvers(as_json: bool) -> None:
    """Every area with its approvers and where its documents are published."""
    areas = _service().workflow.areas()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "area": a.name,
                        "approvers": list(a.approvers),
                        "space": a.space_key,
                        "parent": a.parent_page_id,
                    }
                    for a in areas
                ]
            )
        )
        return
    if not areas:
        out.print("No areas yet: add one with `kb approvers set AREA USER…`.")
    for a in areas:
        out.print(f"{a.name}: {', '.join(a.approvers) or '(no approvers)'}  space {a.space_key}")
