/** Upload: the backend relay encodes, the wallet registers (pays WAL), the relay sends the
 * slivers and answers the certificate, the wallet certifies (docs/frontend.md). */

import type { AppContext } from "../context";
import { busy, h, mount } from "../dom";
import { copyButton } from "../copy";
import { relayFailureText, relayUpload, stepList, type Prepared } from "../relay_upload";
import { formatBytes, formatEpoch, formatWal, readEpochClock } from "../units";

const DEFAULT_EPOCHS = 5;

export async function render(root: HTMLElement, ctx: AppContext): Promise<void> {
  const registry = ctx.contract("BlobRegistry");
  const maxBytes = ctx.deployment.maxBlobBytes;
  let maxEpochs = 0;
  try {
    maxEpochs = Number(
      await ctx.publicClient.readContract({
        address: registry.address,
        abi: registry.abi,
        functionName: "maxEpochsAhead",
      }),
    );
  } catch {
    maxEpochs = 0; // the input then has no upper bound; the relay checks it
  }

  let file: File | null = null;
  const input = h("input", {
    type: "file",
    id: "file-input",
    class: "visually-hidden",
    tabindex: -1,
    "aria-label": "Choose a file",
  });
  const chosen = h("p", { id: "chosen", class: "muted" }, "No file chosen.");
  const epochs = h("input", {
    type: "number",
    id: "epochs",
    min: 1,
    max: maxEpochs || null,
    value: Math.min(DEFAULT_EPOCHS, maxEpochs || DEFAULT_EPOCHS),
    required: true,
  });
  const deletable = h("input", { type: "checkbox", id: "deletable" });
  const estimate = h("p", { id: "estimate", class: "muted" });
  const store = h("button", { class: "primary", id: "store", disabled: true }, "Store");
  const steps = stepList("steps");
  const bar = h("progress", { id: "progress", max: 1, value: 0, hidden: true });
  const message = h("div", { id: "upload-message", "aria-live": "polite" });
  const result = h("div", { id: "result" });

  const pick = h("button", { type: "button", id: "choose-file" }, "Choose a file");
  pick.addEventListener("click", (event) => {
    event.stopPropagation();
    input.click();
  });
  const dropzone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h("p", {}, h("strong", {}, "Drop a file here"), h("span", { class: "muted" }, ` (at most ${formatBytes(maxBytes)}) or`)),
    pick,
  );
  dropzone.addEventListener("click", () => input.click());
  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("over");
    const dropped = event.dataTransfer?.files[0];
    if (dropped) choose(dropped);
  });
  input.addEventListener("change", () => {
    const picked = input.files?.[0];
    if (picked) choose(picked);
  });
  epochs.addEventListener("input", () => void updateEstimate());

  function showError(text: string): void {
    mount(message, h("p", { class: "error", role: "alert" }, text));
  }

  function choose(picked: File): void {
    file = picked;
    mount(result);
    mount(message);
    mount(chosen, h("strong", {}, picked.name), ` · ${formatBytes(picked.size)}`);
    if (picked.size > maxBytes) {
      store.disabled = true;
      showError(
        `“${picked.name}” is too large: ${formatBytes(picked.size)}; this backend stores at most ${formatBytes(maxBytes)} per file.`,
      );
      mount(estimate);
      return;
    }
    store.disabled = false;
    void updateEstimate();
  }

  async function updateEstimate(): Promise<void> {
    const count = Number(epochs.value);
    if (file === null || !Number.isInteger(count) || count < 1) {
      mount(estimate);
      return;
    }
    try {
      const [storage, write] = (await ctx.publicClient.readContract({
        address: registry.address,
        abi: registry.abi,
        functionName: "registrationCost",
        args: [BigInt(file.size), count],
      })) as [bigint, bigint];
      mount(estimate, `Cost: ${formatWal(storage + write)} for ${count} epoch${count === 1 ? "" : "s"}.`);
    } catch {
      mount(estimate);
    }
  }

  async function run(): Promise<void> {
    if (file === null) return;
    const count = Number(epochs.value);
    if (!Number.isInteger(count) || count < 1 || (maxEpochs > 0 && count > maxEpochs)) {
      showError(`Epochs must be a whole number from 1 to ${maxEpochs || "the network's maximum"}.`);
      return;
    }
    mount(message);
    mount(result);
    let wallet: Awaited<ReturnType<AppContext["requireWallet"]>>;
    try {
      wallet = await ctx.requireWallet();
    } catch (error) {
      showError(ctx.explain(error));
      return;
    }
    steps.reset();
    try {
      bar.hidden = false;
      bar.value = 0;
      const stored = await relayUpload(ctx, wallet, file, {
        epochs: count,
        deletable: deletable.checked,
        onStep: steps.set,
        onSent: (sent, total) => {
          bar.max = total;
          bar.value = sent;
        },
      });
      await showResult(stored.prepared, stored.tokenId, stored.endEpoch, stored.alreadyCertified);
    } catch (error) {
      showError(relayFailureText(ctx, error));
    } finally {
      bar.hidden = true;
    }
  }

  async function showResult(prepared: Prepared, tokenId: bigint | null, endEpoch: number, already: boolean): Promise<void> {
    const link = ctx.api.url(`/v1/blobs/${prepared.blobId}`);
    let until = `epoch ${endEpoch}`;
    try {
      until = formatEpoch(endEpoch, await readEpochClock(ctx.publicClient, ctx.contract("Staking")));
    } catch {
      // keep the epoch number
    }
    mount(
      result,
      h(
        "div",
        { class: "card", id: "upload-result" },
        h("h2", {}, already ? "Already stored" : "Stored"),
        already ? h("p", {}, "This file is already certified for long enough: nothing was paid.") : null,
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Blob id"),
          h("dd", { class: "mono", id: "result-blob-id" }, prepared.blobId),
          tokenId !== null ? [h("dt", {}, "Token"), h("dd", {}, `#${tokenId}`)] : null,
          h("dt", {}, "Size"),
          h("dd", {}, formatBytes(prepared.size)),
          h("dt", {}, "Stored until"),
          h("dd", {}, `the start of ${until}`),
          h("dt", {}, "Aggregator link"),
          h("dd", { class: "mono" }, h("a", { href: link, id: "aggregator-link" }, link)),
        ),
        h(
          "div",
          { class: "actions" },
          h("a", { class: "button", href: `/blob/${prepared.blobId}`, "data-link": true }, "Open blob page"),
          copyButton(ctx, link, "Copy link"),
          h("a", { class: "button", href: "/blobs", "data-link": true }, "My blobs"),
        ),
      ),
    );
  }

  store.addEventListener("click", () => void busy(store, run));

  mount(
    root,
    h("h1", {}, "Upload a file"),
    h(
      "p",
      { class: "muted" },
      "Your wallet registers the file and pays in WAL; the backend relay encodes it and sends the pieces to the storage nodes; your wallet then certifies it.",
    ),
    h(
      "div",
      { class: "card" },
      dropzone,
      input,
      chosen,
      h(
        "div",
        { class: "row" },
        h("label", { for: "epochs" }, `Epochs to store${maxEpochs ? ` (1–${maxEpochs})` : ""}`, epochs),
        h("label", { class: "checkbox", for: "deletable" }, deletable, "Deletable (the owner may delete it early)"),
      ),
      estimate,
      h("div", { class: "actions" }, store),
      steps.element,
      bar,
      message,
    ),
    result,
  );
}
