/** My blobs: the connected account's blobs from the indexer, with extend, transfer,
 * attributes, delete, copy link and an inline preview. */

import { getAddress, isAddress, type TransactionReceipt } from "viem";
import { checkedWrite } from "./checked_write";
import type { AppContext } from "../context";
import { copyButton } from "../copy";
import { busy, h, mount } from "../dom";
import { UserFacingError } from "../errors";
import { blobsOf, waitForIndex, type IndexedBlob, type IndexStatus } from "../indexer";
import { fetchForPreview, previewElement } from "../preview";
import { formatBytes, formatEpoch, formatWal, readEpochClock, type EpochClock } from "../units";
import { ensureAllowance, requireWal } from "../wal";

export async function render(root: HTMLElement, ctx: AppContext): Promise<void> {
  const owner = ctx.wallet.address;
  if (owner === null) {
    mount(
      root,
      h("h1", {}, "My blobs"),
      h(
        "div",
        { class: "card" },
        h("p", {}, ctx.wallet.available ? "Connect your wallet to see the blobs you own." : "No browser wallet found: install one (e.g. MetaMask) to see the blobs you own."),
        ctx.wallet.available
          ? h("button", { class: "primary", onclick: () => void ctx.connect().catch((e: unknown) => ctx.notify("error", ctx.explain(e))) }, "Connect wallet")
          : null,
      ),
    );
    return;
  }
  mount(root, h("h1", {}, "My blobs"), h("p", { class: "muted" }, "Loading your blobs…"));
  // after a transaction from this tab, list only once the indexer has seen it
  if (ctx.lastConfirmedBlock() > 0n && !(await waitForIndex(ctx, ctx.lastConfirmedBlock()))) {
    ctx.notify("info", "The indexer has not seen your last transaction yet; refresh in a moment.");
  }
  const [blobs, clock, status] = await Promise.all([
    blobsOf(ctx, owner),
    readEpochClock(ctx.publicClient, ctx.contract("Staking")),
    ctx.api.get<IndexStatus>("/v1/index/status"),
  ]);
  const rerender = (): void => void render(root, ctx).catch((e: unknown) => ctx.notify("error", ctx.explain(e)));
  // a following indexer is normally a block or two behind; say so only when it lags
  const lag = status.headBlock - status.nextBlock + 1;
  const behind = lag > 5;
  const refresh = h("button", { id: "refresh", onclick: rerender }, "Refresh");
  const total = blobs.reduce((sum, blob) => sum + blob.size, 0);
  mount(
    root,
    h("h1", {}, "My blobs"),
    h(
      "p",
      { class: "muted", id: "blobs-summary" },
      `${blobs.length} blob${blobs.length === 1 ? "" : "s"} · ${formatBytes(total)} · current epoch ${clock.currentEpoch}`,
      behind ? ` · the index is ${lag} blocks behind the chain: recent changes may be missing` : "",
      " ",
      refresh,
    ),
    blobs.length === 0
      ? h("div", { class: "card", id: "no-blobs" }, h("p", {}, "You own no stored blobs yet. "), h("a", { href: "/upload", "data-link": true }, "Upload a file"))
      : h("ul", { class: "blob-list", id: "blob-list" }, blobs.map((blob) => blobCard(ctx, blob, clock, rerender))),
  );
}

function blobCard(
  ctx: AppContext,
  blob: IndexedBlob,
  clock: EpochClock,
  rerender: () => void,
): HTMLLIElement {
  const registry = ctx.contract("BlobRegistry");
  const link = ctx.api.url(`/v1/blobs/${blob.blobId}`);
  const certified = blob.certifiedEpoch !== null;
  const message = h("div", { class: "card-message", "aria-live": "polite" });
  const previewBox = h("div");
  const fail = (error: unknown): void => {
    mount(message, h("p", { class: "error", role: "alert" }, ctx.explain(error)));
  };

  /** Send one transaction, wait for the indexer to see it, show the new list. */
  const act = async (label: string, send: (wallet: Awaited<ReturnType<AppContext["requireWallet"]>>) => Promise<TransactionReceipt>): Promise<void> => {
    mount(message);
    try {
      const wallet = await ctx.requireWallet();
      const receipt = await send(wallet);
      mount(message, h("p", { class: "ok" }, `${label}: done. Updating the list…`));
      await waitForIndex(ctx, receipt.blockNumber);
      rerender();
    } catch (error) {
      fail(error);
    }
  };

  // --- extend
  const extra = h("input", { type: "number", min: 1, value: 1, "aria-label": "Extra epochs", id: `extend-epochs-${blob.tokenId}` });
  const extendCost = h("span", { class: "muted" });
  const showExtendCost = async (): Promise<void> => {
    const count = Number(extra.value);
    if (!Number.isInteger(count) || count < 1) {
      mount(extendCost);
      return;
    }
    try {
      const cost = (await ctx.publicClient.readContract({ address: registry.address, abi: registry.abi, functionName: "extensionCost", args: [BigInt(blob.tokenId), count] })) as bigint;
      mount(extendCost, `costs ${formatWal(cost)}`);
    } catch (error) {
      mount(extendCost, ctx.explain(error));
    }
  };
  extra.addEventListener("input", () => void showExtendCost());
  const extendButton = h("button", { class: "primary", "data-action": "extend" }, "Extend");
  extendButton.addEventListener("click", () =>
    void busy(extendButton, () =>
      act("Extend", async ({ address, walletClient }) => {
        const count = Number(extra.value);
        if (!Number.isInteger(count) || count < 1) throw new UserFacingError("Extra epochs must be a whole number of at least 1.");
        const cost = (await ctx.publicClient.readContract({ address: registry.address, abi: registry.abi, functionName: "extensionCost", args: [BigInt(blob.tokenId), count] })) as bigint;
        await requireWal(ctx, address, cost);
        await ensureAllowance(ctx, walletClient, address, registry.address, cost);
        return ctx.runTx(`Extend by ${count} epoch${count === 1 ? "" : "s"}`, () =>
          checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "extendBlob", args: [BigInt(blob.tokenId), count] }),
        );
      }),
    ),
  );

  // --- transfer
  const recipient = h("input", { type: "text", placeholder: "0x… recipient address", "aria-label": "Recipient address", spellcheck: "false", autocomplete: "off", id: `transfer-to-${blob.tokenId}` });
  const transferButton = h("button", { class: "primary", "data-action": "transfer" }, "Transfer");
  transferButton.addEventListener("click", () =>
    void busy(transferButton, () =>
      act("Transfer", async ({ address, walletClient }) => {
        const to = recipient.value.trim();
        if (!isAddress(to)) throw new UserFacingError(`“${to}” is not an address (0x followed by 40 hex digits).`);
        if (getAddress(to) === address) throw new UserFacingError("That is your own address.");
        return ctx.runTx("Transfer blob", () =>
          checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "transferFrom", args: [address, getAddress(to), BigInt(blob.tokenId)] }),
        );
      }),
    ),
  );

  // --- attributes
  const key = h("input", { type: "text", placeholder: "key", "aria-label": "Attribute key", maxlength: 64 });
  const value = h("input", { type: "text", placeholder: "value", "aria-label": "Attribute value" });
  const setButton = h("button", { class: "primary", "data-action": "set-attribute" }, "Set");
  setButton.addEventListener("click", () =>
    void busy(setButton, () =>
      act("Set attribute", async ({ address, walletClient }) => {
        const name = key.value.trim();
        if (name === "") throw new UserFacingError("An attribute needs a key.");
        return ctx.runTx(`Set “${name}”`, () =>
          checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "setAttribute", args: [BigInt(blob.tokenId), name, value.value] }),
        );
      }),
    ),
  );
  const attributeRows = Object.entries(blob.attributes).map(([name, text]) => {
    const remove = h("button", { class: "link", "aria-label": `Remove attribute ${name}` }, "remove");
    remove.addEventListener("click", () =>
      void busy(remove, () =>
        act("Remove attribute", ({ address, walletClient }) =>
          ctx.runTx(`Remove “${name}”`, () =>
            checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "removeAttribute", args: [BigInt(blob.tokenId), name] }),
          ),
        ),
      ),
    );
    return h("li", {}, h("code", {}, name), " = ", h("span", { class: "break" }, text), " ", remove);
  });

  // --- delete (two steps, inline)
  const deleteBox = h("div", { class: "actions" });
  const askDelete = (): void => {
    const confirmButton = h("button", { class: "danger", "data-action": "confirm-delete" }, "Yes, delete it");
    confirmButton.addEventListener("click", () =>
      void busy(confirmButton, () =>
        act("Delete", ({ address, walletClient }) =>
          ctx.runTx("Delete blob", () =>
            checkedWrite(ctx, { address: address, walletClient }, { address: registry.address, abi: registry.abi, functionName: "deleteBlob", args: [BigInt(blob.tokenId)] }),
          ),
        ),
      ),
    );
    mount(
      deleteBox,
      h("span", {}, "Delete this blob? The unused epochs are refunded; the data stops being served."),
      confirmButton,
      h("button", { onclick: () => mount(deleteBox) }, "Cancel"),
    );
    confirmButton.focus();
  };

  // --- preview
  const previewButton = h("button", { "data-action": "preview" }, "Preview");
  previewButton.addEventListener("click", () =>
    void busy(previewButton, async () => {
      if (previewBox.childElementCount > 0) {
        mount(previewBox);
        previewButton.textContent = "Preview";
        return;
      }
      try {
        mount(previewBox, previewElement(await fetchForPreview(ctx.api, blob.blobId, blob.size)));
        previewButton.textContent = "Hide preview";
      } catch (error) {
        fail(error);
      }
    }),
  );

  const until = formatEpoch(blob.endEpoch, clock);
  return h(
    "li",
    { class: "card blob", "data-blob-id": blob.blobId, "data-token-id": blob.tokenId },
    h(
      "div",
      { class: "blob-head" },
      h("a", { class: "mono", href: `/blob/${blob.blobId}`, "data-link": true }, blob.blobId),
      " ",
      h("span", { class: `badge ${certified ? "ok" : "bad"}` }, certified ? "certified" : "not certified"),
      " ",
      h("span", { class: "badge" }, blob.deletable ? "deletable" : "permanent"),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Size"),
      h("dd", { "data-field": "size" }, formatBytes(blob.size)),
      h("dt", {}, "Stored until"),
      h("dd", { "data-field": "end-epoch", "data-end-epoch": blob.endEpoch }, `the start of ${until}`),
      h("dt", {}, "Token"),
      h("dd", {}, `#${blob.tokenId}`),
    ),
    certified ? null : h("p", { class: "muted" }, "Not certified yet: upload the same file again to finish (you do not pay twice)."),
    h(
      "div",
      { class: "actions" },
      copyButton(ctx, link, "Copy link"),
      previewButton,
      blob.deletable ? h("button", { class: "danger", "data-action": "delete", onclick: askDelete }, "Delete") : null,
    ),
    deleteBox,
    previewBox,
    h("details", {}, h("summary", {}, "Extend"), h("div", { class: "row" }, h("label", {}, "Extra epochs", extra), extendButton, extendCost)),
    h("details", {}, h("summary", {}, "Transfer"), h("div", { class: "row" }, h("label", { class: "grow" }, "To address", recipient), transferButton)),
    h(
      "details",
      {},
      h("summary", {}, `Attributes (${attributeRows.length})`),
      attributeRows.length ? h("ul", { class: "attributes" }, attributeRows) : h("p", { class: "muted" }, "No attributes."),
      h("div", { class: "row" }, h("label", {}, "Key", key), h("label", {}, "Value", value), setButton),
    ),
    message,
  );
}
