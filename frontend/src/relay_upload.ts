/** Store bytes through the backend's upload relay, paid and certified by the user's wallet
 * (docs/frontend.md, "Upload: the backend relays, the wallet signs and pays"): prepare
 * (the relay encodes) -> register with the wallet (approve + registerBlob, or re-use the
 * wallet's unfinished registration of the same blob id: nothing is paid twice) -> the
 * relay sends the slivers and answers the certificate -> certifyBlob with the wallet.
 * Used by the Upload and Private files pages; progress goes to `onStep` / `onSent`. */

import { parseEventLogs, type Address, type Hex, type WalletClient } from "viem";
import { ApiError } from "./api";
import type { AppContext } from "./context";
import { h, mount } from "./dom";
import { UserFacingError } from "./errors";
import { checkedWrite } from "./pages/checked_write";
import { formatBytes, formatWal } from "./units";
import { ensureAllowance, requireWal } from "./wal";

/** `POST /v1/relay/uploads`'s answer. */
export interface Prepared {
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

export type RelayStep = "encode" | "register" | "upload" | "certify";
export type RelayStepState = "pending" | "active" | "done" | "failed" | "skipped";

export const RELAY_STEPS: Record<RelayStep, string> = {
  encode: "Send and encode (backend relay)",
  register: "Register and pay (your wallet)",
  upload: "Upload slivers to the storage nodes",
  certify: "Certify on chain (your wallet)",
};

export interface RelayOptions {
  epochs: number;
  deletable: boolean;
  onStep: (step: RelayStep, state: RelayStepState, detail?: string) => void;
  /** Bytes of the body sent to the relay so far (the encode step). */
  onSent?: (sent: number, total: number) => void;
}

export interface RelayResult {
  prepared: Prepared;
  /** The registration certified now; null when the blob was already certified. */
  tokenId: bigint | null;
  endEpoch: number;
  alreadyCertified: boolean;
  /** FROST the wallet paid in this run (0 when a registration was re-used). */
  paid: bigint;
}

/** A step failed; `cause` is the original error (explain it with `ctx.explain`). */
export class RelayStepFailed extends Error {
  readonly step: RelayStep;
  readonly cause: unknown;

  constructor(step: RelayStep, cause: unknown) {
    super(`${RELAY_STEPS[step]} failed`);
    this.name = "RelayStepFailed";
    this.step = step;
    this.cause = cause;
  }
}

/** "<step> failed: <reason> You can try again: nothing is paid twice." */
export function relayFailureText(ctx: AppContext, error: unknown): string {
  if (error instanceof RelayStepFailed) {
    return `${RELAY_STEPS[error.step]} failed: ${ctx.explain(error.cause)} You can try again: nothing is paid twice.`;
  }
  return ctx.explain(error);
}

/** POST the body with upload progress (fetch cannot report it). */
function prepareUpload(
  ctx: AppContext,
  body: Blob,
  query: Record<string, string>,
  onProgress: (sent: number, total: number) => void,
): Promise<Prepared> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", ctx.api.url("/v1/relay/uploads", query));
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total || body.size);
    request.onerror = () =>
      reject(
        new ApiError(0, "BackendUnreachable", "The walrus backend does not answer. Try again later."),
      );
    request.onload = () => {
      let answer: unknown = null;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        // not JSON
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(answer as Prepared);
        return;
      }
      const error = (answer as { error?: { code?: string; message?: string } } | null)?.error;
      reject(
        new ApiError(
          request.status,
          error?.code ?? `Http${request.status}`,
          error?.message ?? `The backend answered ${request.status}.`,
        ),
      );
    };
    request.send(body);
  });
}

async function register(
  ctx: AppContext,
  wallet: { address: Address; walletClient: WalletClient },
  prepared: Prepared,
  onStep: RelayOptions["onStep"],
): Promise<{ tokenId: bigint; paid: bigint }> {
  const registry = ctx.contract("BlobRegistry");
  const reusable = prepared.reusableRegistration;
  if (reusable !== null) {
    onStep("register", "done", `re-using your unfinished registration #${reusable.tokenId}: nothing to pay`);
    return { tokenId: BigInt(reusable.tokenId), paid: 0n };
  }
  const cost = BigInt(prepared.cost);
  onStep("register", "active", `${formatWal(cost)}: confirm in your wallet`);
  await requireWal(ctx, wallet.address, cost);
  await ensureAllowance(ctx, wallet.walletClient, wallet.address, registry.address, cost);
  const receipt = await ctx.runTx("Register blob", () =>
    checkedWrite(ctx, wallet, {
      address: registry.address,
      abi: registry.abi,
      functionName: "registerBlob",
      args: [
        prepared.blobIdHex,
        prepared.rootHash,
        BigInt(prepared.size),
        prepared.encodingType,
        prepared.epochs,
        prepared.deletable,
      ],
    }),
  );
  const [registered] = parseEventLogs({
    abi: registry.abi,
    logs: receipt.logs,
    eventName: "BlobRegistered",
  }) as unknown as { args: { tokenId: bigint } }[];
  if (registered === undefined) throw new UserFacingError("The registration emitted no BlobRegistered event.");
  onStep("register", "done", `token #${registered.args.tokenId}, paid ${formatWal(cost)}`);
  return { tokenId: registered.args.tokenId, paid: cost };
}

/** Store `body` for `options.epochs` epochs, owned by and paid from `wallet`. Throws
 * RelayStepFailed naming the step that failed (after `onStep(step, "failed")`). */
export async function relayUpload(
  ctx: AppContext,
  wallet: { address: Address; walletClient: WalletClient },
  body: Blob,
  options: RelayOptions,
): Promise<RelayResult> {
  const { onStep } = options;
  const registry = ctx.contract("BlobRegistry");
  let current: RelayStep = "encode";
  try {
    onStep("encode", "active");
    const prepared = await prepareUpload(
      ctx,
      body,
      { epochs: String(options.epochs), deletable: String(options.deletable), owner: wallet.address },
      (sent, total) => {
        options.onSent?.(sent, total);
        onStep("encode", "active", `${formatBytes(sent)} of ${formatBytes(total)} sent`);
      },
    );
    onStep("encode", "done", `blob id ${prepared.blobId}`);
    if (prepared.alreadyCertified !== null) {
      for (const step of ["register", "upload", "certify"] as RelayStep[]) onStep(step, "skipped");
      return {
        prepared,
        tokenId: null,
        endEpoch: prepared.alreadyCertified.endEpoch,
        alreadyCertified: true,
        paid: 0n,
      };
    }
    current = "register";
    const { tokenId, paid } = await register(ctx, wallet, prepared, onStep);
    current = "upload";
    onStep("upload", "active", "the relay sends the slivers and collects signatures");
    const certificate = await ctx.api.post<Certificate>(
      `/v1/relay/uploads/${encodeURIComponent(prepared.uploadId ?? "")}/certificate`,
      { tokenId: Number(tokenId) },
    );
    onStep("upload", "done", `${certificate.failedNodes.length === 0 ? "all" : "enough"} nodes confirmed`);
    current = "certify";
    onStep("certify", "active", "confirm in your wallet");
    await ctx.runTx("Certify blob", () =>
      checkedWrite(ctx, wallet, {
        address: registry.address,
        abi: registry.abi,
        functionName: "certifyBlob",
        args: [tokenId, certificate.signers, certificate.signature],
      }),
    );
    onStep("certify", "done");
    return {
      prepared,
      tokenId,
      endEpoch: prepared.reusableRegistration?.endEpoch ?? prepared.endEpoch,
      alreadyCertified: false,
      paid,
    };
  } catch (error) {
    onStep(current, "failed");
    throw new RelayStepFailed(current, error);
  }
}

/** The `<ol class="steps">` both pages show: `reset()` lists every step as pending,
 * `set` is a RelayOptions.onStep. */
export function stepList(id: string): {
  element: HTMLOListElement;
  reset: () => void;
  set: RelayOptions["onStep"];
} {
  const element = h("ol", { class: "steps", id, hidden: true });
  const items = new Map<RelayStep, HTMLLIElement>();
  const set = (step: RelayStep, state: RelayStepState, detail = ""): void => {
    const item = items.get(step);
    if (!item) return;
    item.dataset.state = state;
    const note = state === "skipped" ? " (not needed)" : detail ? ` — ${detail}` : "";
    mount(item, h("span", {}, RELAY_STEPS[step] + note));
  };
  const reset = (): void => {
    element.hidden = false;
    mount(element);
    items.clear();
    for (const step of Object.keys(RELAY_STEPS) as RelayStep[]) {
      const item = h("li", { class: "step", "data-step": step });
      items.set(step, item);
      element.append(item);
      set(step, "pending");
    }
  };
  return { element, reset, set };
}
