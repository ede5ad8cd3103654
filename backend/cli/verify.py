"""`walrus verify <blob id | token id> [--deep] [--json]`: proof of availability from chain
data, re-checked locally. Exit status 0 only when the blob is available."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from backend.cli.client_options import client_options, emit_json, make_client, with_user_errors
from backend.sdk.availability import DEFAULT_DEEP_SAMPLES, AvailabilityReport, verify_availability


def _describe(report: AvailabilityReport) -> list[str]:
    lines = [f"Blob {report.blob_id or '?'}: {report.state} (epoch {report.current_epoch})"]
    record, check = report.certification, report.certificate
    if record is not None:
        lines.append(
            f"  certified in epoch {record.epoch}, token {record.token_id}, block "
            f"{record.block_number}, tx 0x{record.transaction_hash.hex()}"
        )
    if check is not None:
        verdict = "verified locally" if check.valid else f"INVALID: {check.problem}"
        signers = ", ".join(str(node_id) for node_id in check.signer_node_ids) or "none"
        lines.append(
            f"  certificate {verdict}; signers (node ids) {signers} hold "
            f"{check.signer_weight} shards, {check.required_weight} required"
        )
    if report.end_epoch is not None:
        lines.append(f"  stored until epoch {report.end_epoch} (exclusive)")
    if report.invalidated_epoch is not None:
        lines.append(f"  invalidated in epoch {report.invalidated_epoch}")
    if report.deep is not None:
        deep = report.deep
        lines.append(
            f"  deep check: {len(deep.pairs_ok)}/{len(deep.pairs_checked)} sampled sliver "
            "pairs verified against the metadata"
        )
        lines += [f"    failed: {failure}" for failure in deep.failures]
    lines.append("AVAILABLE" if report.available else "NOT AVAILABLE")
    return lines


@click.command("verify")
@click.argument("target")
@click.option("--deep", is_flag=True, help="Also fetch sliver pairs from nodes and verify them.")
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=DEFAULT_DEEP_SAMPLES,
    show_default=True,
    help="Sliver pairs sampled by --deep.",
)
@client_options
@with_user_errors
def verify(
    target: str,
    deep: bool,
    samples: int,
    rpc_url: str | None,
    private_key_file: Path | None,
    deployment_file: Path | None,
    node_timeout: float,
    as_json: bool,
) -> None:
    """Check from chain data that TARGET (a blob id or a token id) is available: the
    certificate is re-verified against its epoch's committee keys. Exit 0 only if available."""
    client = make_client(rpc_url, private_key_file, deployment_file, node_timeout)
    report = verify_availability(client, target, deep=deep, samples=samples)
    if as_json:
        emit_json(report.to_json())
    else:
        for line in _describe(report):
            click.echo(line)
    if not report.available:
        sys.exit(1)
