"""`healthscore upgrade links`: move a deployment's links into the records table, once, when
upgrading a stack deployed before links moved there (docs/deploying.md, Upgrading)."""

from __future__ import annotations

from typing import Annotated

import typer

from healthscore.cli.common import _fail, app, err, out

upgrade_app = typer.Typer(help="Move a deployment's stored data to this version's layout.")
app.add_typer(upgrade_app, name="upgrade")


@upgrade_app.command("links")
def upgrade_links(
    from_table: Annotated[
        str, typer.Option("--from-table", help="The old AssociationsTable's name")
    ],
    to_table: Annotated[str, typer.Option("--to-table", help="The stack's RecordsTable name")],
    region: Annotated[
        str | None, typer.Option(help="AWS region (default: your AWS config)")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="A DynamoDB endpoint other than AWS's (DynamoDB Local)")
    ] = None,
) -> None:
    """Copy every link of the old associations table into the records table (a link the
    upgraded stack has written since is kept when it is the later). Safe to run again; delete
    the old table yourself once it has run."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from healthscore.adapters.dynamo_upgrade import CopiedLinks, copy_links

    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url)

    def progress(done: CopiedLinks) -> None:
        err.print(f"  {done.copied + done.kept_newer:,} links read", highlight=False)

    try:
        for name, option in ((from_table, "--from-table"), (to_table, "--to-table")):
            try:
                dynamodb.describe_table(TableName=name)
            except dynamodb.exceptions.ResourceNotFoundException:
                _fail(f"{option} {name}: no such table in this account and region")
        done = copy_links(dynamodb, from_table, to_table, progress)
    except (BotoCoreError, ClientError) as error:
        _fail(f"DynamoDB: {error}")
    out.print(
        f"copied {done.copied:,} links from {from_table} to {to_table}; "
        f"{done.kept_newer:,} were there already, from the same or a later change",
        highlight=False,
    )
