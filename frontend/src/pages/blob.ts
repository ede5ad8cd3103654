/** Blob page `/blob/<id>`: the availability report (`walrus verify`), download, preview. */

import { ApiError } from "../api";
import type { AppContext } from "../context";
import { copyButton } from "../copy";
import { busy, h, mount } from "../dom";
import { previewElement } from "../preview";
import { formatEpoch, readEpochClock, type EpochClock } from "../units";

interface Availability {
  blob_id: string | null;
  available: boolean;
  state: string;
  current_epoch: number;
  token_id: number | null;
  end_epoch: number | null;
  invalidated_epoch: number | null;
  certification: {
    token_id: number;
    epoch: number;
    block_number: number;
    transaction_hash: string;
    deletable: boolean;
  } | null;
  certificate: { valid: boolean; signers: number[]; signer_weight: number; required_weight: number; problem: string | null } | null;
  notes: string[];
}

const STATE_WORDS: Record<string, string> = {
  available: "Available: certified and readable",
  nonexistent: "No such blob: nobody registered it",
  registered: "Registered but not certified yet",
  expired: "Expired: its storage period is over",
  deleted: "Deleted by its owner",
  invalidated: "Invalidated: the storage nodes found its encoding inconsistent",
  "certificate-invalid": "Its certificate does not verify",
};

export async function render(root: HTMLElement, ctx: AppContext): Promise<void> {
  const blobId = decodeURIComponent(window.location.pathname.slice("/blob/".length));
  const aggregatorLink = ctx.api.url(`/v1/blobs/${blobId}`);
  mount(root, h("h1", {}, "Blob"), h("p", { class: "mono" }, blobId), h("p", { class: "muted" }, "Checking availability…"));
  let report: Availability;
  try {
    report = await ctx.api.get<Availability>(`/v1/blobs/${encodeURIComponent(blobId)}/availability`);
  } catch (error) {
    const invalid = error instanceof ApiError && error.status === 400;
    mount(
      root,
      h("h1", {}, "Blob"),
      h("p", { class: "mono break" }, blobId),
      h("p", { class: "error", role: "alert", id: "blob-error" }, invalid ? `“${blobId}” is not a blob id: ${ctx.explain(error)}` : ctx.explain(error)),
    );
    return;
  }
  let clock: EpochClock | null = null;
  try {
    clock = await readEpochClock(ctx.publicClient, ctx.contract("Staking"));
  } catch {
    clock = null;
  }
  const when = (epoch: number): string => (clock ? formatEpoch(epoch, clock) : `epoch ${epoch}`);
  const message = h("div", { "aria-live": "polite" });
  const previewBox = h("div");
  const download = h("button", { class: "primary", id: "download" }, "Download");
  download.addEventListener("click", () =>
    void busy(download, async () => {
      try {
        const response = await ctx.api.fetchRaw(`/v1/blobs/${encodeURIComponent(blobId)}`);
        const url = URL.createObjectURL(await response.blob());
        const anchor = h("a", { href: url, download: `${blobId}.bin` });
        document.body.append(anchor);
        anchor.click();
        anchor.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (error) {
        mount(message, h("p", { class: "error", role: "alert" }, ctx.explain(error)));
      }
    }),
  );
  const preview = h("button", { id: "preview" }, "Preview");
  preview.addEventListener("click", () =>
    void busy(preview, async () => {
      try {
        const response = await ctx.api.fetchRaw(`/v1/blobs/${encodeURIComponent(blobId)}`);
        mount(previewBox, previewElement(new Uint8Array(await response.arrayBuffer())));
      } catch (error) {
        mount(message, h("p", { class: "error", role: "alert" }, ctx.explain(error)));
      }
    }),
  );

  const certificate = report.certificate;
  const certification = report.certification;
  mount(
    root,
    h("h1", {}, "Blob"),
    h("p", { class: "mono break", id: "blob-id" }, report.blob_id ?? blobId),
    h(
      "div",
      { class: `card ${report.available ? "" : "error-card"}`, id: "availability" },
      h("p", {}, h("span", { class: `badge ${report.available ? "ok" : "bad"}`, id: "availability-badge" }, report.available ? "available" : "not available"), " ", STATE_WORDS[report.state] ?? report.state),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Current epoch"),
        h("dd", {}, String(report.current_epoch)),
        report.end_epoch !== null ? [h("dt", {}, "Stored until"), h("dd", { id: "stored-until" }, `the start of ${when(report.end_epoch)}`)] : null,
        report.token_id !== null ? [h("dt", {}, "Token"), h("dd", {}, `#${report.token_id}`)] : null,
        certification !== null
          ? [
              h("dt", {}, "Certified"),
              h("dd", {}, `in epoch ${certification.epoch}, block ${certification.block_number}`),
              h("dt", {}, "Transaction"),
              h("dd", { class: "mono" }, certification.transaction_hash),
              h("dt", {}, "Kind"),
              h("dd", {}, certification.deletable ? "deletable" : "permanent"),
            ]
          : null,
        certificate !== null
          ? [
              h("dt", {}, "Certificate"),
              h("dd", {}, certificate.valid ? `valid: signed by nodes ${certificate.signers.join(", ")} (weight ${certificate.signer_weight} of ${certificate.required_weight} needed)` : `invalid: ${certificate.problem ?? "does not verify"}`),
            ]
          : null,
      ),
      report.notes.length ? h("ul", { class: "muted" }, report.notes.map((note) => h("li", {}, note))) : null,
    ),
    report.available
      ? h(
          "div",
          { class: "actions" },
          download,
          preview,
          copyButton(ctx, aggregatorLink, "Copy link"),
          h("a", { class: "button", href: aggregatorLink }, "Aggregator link"),
        )
      : null,
    message,
    previewBox,
  );
}
