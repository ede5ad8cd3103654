/** Upload: the backend relay encodes, the wallet registers (pays WAL), the relay sends the
 * slivers and answers the certificate, the wallet certifies (docs/frontend.md). */

import { parseEventLogs, type Address, type Hex } from "viem";
import { ApiError } from "../api";
import { checkedWrite } from "./checked_write";
import type { AppContext } from "../context";
import { busy, h, mount } from "../dom";
import { UserFacingError } from "../errors";
import { copyButton } from "../copy";
import { formatBytes, formatEpoch, formatWal, readEpochClock } from "../units";
import { ensureAllowance, requireWal } from "../wal";

interface Prepared {
  uploadId: string | null;
  blobId: string;
  blobIdHex: Hex;
  rootHash: Hex;
  size: number;
  encodingType: number;
  epochs: number;
  deletable: boolean;
  currentEpoch: number;
  endEpoch: number;
  cost: string;
  alreadyCertified: { endEpoch: number } | null;
  reusableRegistration: { tokenId: number; endEpoch: number } | null;
}

interface Certificate {
  tokenId: number;
  epoch: number;
  signers: Hex;
  signature: Hex;
  failedNodes: string[];
}

type Step = "encode" | "register" | "upload" | "certify";
type StepState = "pending" | "active" | "done" | "failed" | "skipped";

const STEPS: Record<Step, string> = {
  encode: "Send and encode (backend relay)",
  register: "Register and pay (your wallet)",
  upload: "Upload slivers to the storage nodes",
  certify: "Certify on chain (your wallet)",
};

const DEFAULT_EPOCHS = 5;

/** POST the file with upload progress (fetch cannot report it). */
function prepareUpload(
  ctx: AppContext,
  file: File,
  query: Record<string, string>,
  onProgress: (sent: number, total: number) => void,
): Promise<Prepared> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", ctx.api.url("/v1/relay/uploads", query));
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total || file.size);
    request.onerror = () =>
      reject(
        new ApiError(0, "BackendUnreachable", "The walrus backend does not answer. Try again later."),
      );
    request.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // not JSON
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(body as Prepared);
        return;
      }
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      reject(
        new ApiError(
          request.status,
          error?.code ?? `Http${request.status}`,
          error?.message ?? `The backend answered ${request.status}.`,
        ),
      );
    };
    request.send(file);
  });
}

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
  const steps = h("ol", { class: "steps", id: "steps", hidden: true });
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

  const stepItems = new Map<Step, HTMLLIElement>();
  function setStep(step: Step, state: StepState, detail = ""): void {
    const item = stepItems.get(step);
    if (!item) return;
    item.dataset.state = state;
    const note = state === "skipped" ? " (not needed)" : detail ? ` — ${detail}` : "";
    mount(item, h("span", {}, STEPS[step] + note));
  }
  function resetSteps(): void {
    steps.hidden = false;
    mount(steps);
    stepItems.clear();
    for (const step of Object.keys(STEPS) as Step[]) {
      const item = h("li", { class: "step", "data-step": step });
      stepItems.set(step, item);
      steps.append(item);
      setStep(step, "pending");
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
    const { address, walletClient } = wallet;
    resetSteps();
    let current: Step = "encode";
    try {
      setStep("encode", "active");
      bar.hidden = false;
      bar.value = 0;
      const prepared = await prepareUpload(
        ctx,
        file,
        { epochs: String(count), deletable: String(deletable.checked), owner: address },
        (sent, total) => {
          bar.max = total;
          bar.value = sent;
          setStep("encode", "active", `${formatBytes(sent)} of ${formatBytes(total)} sent`);
        },
      );
      setStep("encode", "done", `blob id ${prepared.blobId}`);
      if (prepared.alreadyCertified !== null) {
        for (const step of ["register", "upload", "certify"] as Step[]) setStep(step, "skipped");
        await showResult(prepared, null, prepared.alreadyCertified.endEpoch, true);
        return;
      }
      current = "register";
      const tokenId = await register(prepared, address, walletClient);
      current = "upload";
      setStep("upload", "active", "the relay sends the slivers and collects signatures");
      const certificate = await ctx.api.post<Certificate>(
        `/v1/relay/uploads/${encodeURIComponent(prepared.uploadId ?? "")}/certificate`,
        { tokenId: Number(tokenId) },
      );
      setStep("upload", "done", `${certificate.failedNodes.length === 0 ? "all" : "enough"} nodes confirmed`);
      current = "certify";
      setStep("certify", "active", "confirm in your wallet");
      await ctx.runTx("Certify blob", () =>
        checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "certifyBlob", args: [tokenId, certificate.signers, certificate.signature] }),
      );
      setStep("certify", "done");
      await showResult(prepared, tokenId, prepared.reusableRegistration?.endEpoch ?? prepared.endEpoch, false);
    } catch (error) {
      setStep(current, "failed");
      showError(`${STEPS[current]} failed: ${ctx.explain(error)} You can try again: nothing is paid twice.`);
    } finally {
      bar.hidden = true;
    }
  }

  async function register(prepared: Prepared, address: Address, walletClient: Awaited<ReturnType<AppContext["requireWallet"]>>["walletClient"]): Promise<bigint> {
    const reusable = prepared.reusableRegistration;
    if (reusable !== null) {
      setStep("register", "done", `re-using your unfinished registration #${reusable.tokenId}: nothing to pay`);
      return BigInt(reusable.tokenId);
    }
    const cost = BigInt(prepared.cost);
    setStep("register", "active", `${formatWal(cost)}: confirm in your wallet`);
    await requireWal(ctx, address, cost);
    await ensureAllowance(ctx, walletClient, address, registry.address, cost);
    const receipt = await ctx.runTx("Register blob", () =>
      checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "registerBlob", args: [
          prepared.blobIdHex,
          prepared.rootHash,
          BigInt(prepared.size),
          prepared.encodingType,
          prepared.epochs,
          prepared.deletable,
        ] }),
    );
    const [registered] = parseEventLogs({
      abi: registry.abi,
      logs: receipt.logs,
      eventName: "BlobRegistered",
    }) as unknown as { args: { tokenId: bigint } }[];
    if (registered === undefined) throw new UserFacingError("The registration emitted no BlobRegistered event.");
    setStep("register", "done", `token #${registered.args.tokenId}, paid ${formatWal(cost)}`);
    return registered.args.tokenId;
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
      steps,
      bar,
      message,
    ),
    result,
  );
}
