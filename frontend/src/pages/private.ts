/** Private files: encrypt a file in the browser to a Seal policy + id and store the
 * ciphertext through the upload relay, registered, paid and certified by the wallet
 * (relay_upload.ts, as the Upload page); open one: fetch the blob, sign a Seal session with the wallet
 * (eth_signTypedData_v4), get shares from t key servers, decrypt in the browser. The
 * plaintext never leaves the browser; the backend only ever sees ciphertext. */

import { bytesToHex, hexToBytes, isAddress, keccak256, toBytes, type Address } from "viem";
import type { AppContext } from "../context";
import { busy, h, mount } from "../dom";
import { relayFailureText, relayUpload, stepList } from "../relay_upload";
import { formatBytes, formatWal } from "../units";
import { encryptBlob, decryptBlob } from "../seal/envelope";
import { isSealed, parseHeader } from "../seal/header";
import {
  collectShares,
  keyServerInfo,
  NotEnoughShares,
  parseKnownKeyServers,
  signSession,
  trimUrl,
  type KnownKeyServers,
} from "../seal/keyservers";

/** Only URLs the user typed are remembered (v1 also kept the prefilled list, which then
 * held every registered server: dropped). */
const KEY_SERVERS_STORAGE = "walrus.keyServers.v2";
const STORE_EPOCHS = 5;

/** The last ciphertext stored and what it was sealed from: encrypting again gives other
 * bytes (fresh key and nonces), so a retry after a failure re-uses these to keep the blob
 * id, and the relay then offers the wallet's unfinished registration (nothing paid twice). */
interface SealedAttempt {
  inputs: string;
  sealed: Uint8Array;
}

/** "0x" + 64 hex digits as is; any other text: keccak256 of its UTF-8 bytes. */
export function identityOf(text: string): Uint8Array {
  const clean = text.trim();
  if (/^0x[0-9a-fA-F]{64}$/.test(clean)) return hexToBytes(clean as `0x${string}`);
  return hexToBytes(keccak256(toBytes(clean)));
}

function keyServerUrls(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
}

export function render(root: HTMLElement, ctx: AppContext): void {
  const chainId = ctx.deployment.chainId;
  const serversInput = h("input", {
    id: "key-servers",
    name: "key-servers",
    style: "width: min(100%, 42rem)",
    autocomplete: "off",
    placeholder: "http://127.0.0.1:9101, http://127.0.0.1:9102",
    value: localStorage.getItem(KEY_SERVERS_STORAGE) ?? "",
  });
  // The key servers the deployment trusts (registry ids named in its deployment file, or the
  // backend's WALRUS_KEY_SERVERS) prefill an empty field. Anyone may register a key server
  // on chain: the other registry entries are listed as untrusted and never used unless the
  // user enters their URLs.
  const registeredList = h("div", { id: "registered-key-servers" });
  const knownList: Promise<KnownKeyServers | null> = ctx.api
    .get<Parameters<typeof parseKnownKeyServers>[0]>("/v1/keyservers")
    .then(parseKnownKeyServers)
    .catch(() => null);
  void knownList.then((list) => {
    if (list === null) return;
    if (serversInput.value === "" && list.urls.length) serversInput.value = list.urls.join(", ");
    const intro =
      list.source === "none"
        ? `This deployment trusts no key server: enter the URLs of key servers you trust (${list.message ?? ""}).`
        : list.message !== null
          ? list.message
          : list.servers.length === 0
          ? "No key server is registered on chain."
          : "Registered on chain (a server answering another key than its registered one is refused; anyone may register one, so only the trusted ones are used unless you enter others):";
    mount(
      registeredList,
      h("p", { class: "muted", id: "key-server-trust" }, intro),
      h(
        "ul",
        {},
        list.servers.map((server) =>
          h(
            "li",
            { class: "break", "data-url": server.url, "data-trusted": String(server.trusted) },
            `${server.id}. ${server.name}: ${server.url}, key ${bytesToHex(server.publicKey).slice(2, 18)}… — `,
            server.trusted
              ? h("strong", {}, "trusted by this deployment")
              : h("em", { class: "untrusted" }, "untrusted: not used"),
          ),
        ),
      ),
    );
  });
  serversInput.addEventListener("change", () =>
    localStorage.setItem(KEY_SERVERS_STORAGE, serversInput.value.trim()),
  );

  /** Each URL's key server; a URL registered on chain must answer its registered key. */
  async function servers() {
    const urls = keyServerUrls(serversInput.value);
    if (urls.length === 0) throw new Error("Enter the URLs of key servers you trust first.");
    // A URL's registered key: a trusted entry's wins over entries anyone else registered with
    // the same URL (an untrusted entry must not make a trusted server fail its key check).
    const listed = (await knownList)?.servers ?? [];
    const byTrust = [
      ...listed.filter((server) => !server.trusted),
      ...listed.filter((server) => server.trusted),
    ];
    const registered = new Map(byTrust.map((server) => [server.url, server]));
    const answered = await Promise.all(
      urls.map((url) => keyServerInfo(url, chainId, registered.get(trimUrl(url)))),
    );
    const seen = new Map<string, string>();
    for (const server of answered) {
      const key = bytesToHex(server.publicKey);
      const first = seen.get(key);
      if (first !== undefined) {
        // one server would hold two shares and could decrypt alone (SDK: DuplicateKeyServer)
        throw new Error(`${first} and ${server.url} have the same public key: list each key server once.`);
      }
      seen.set(key, server.url);
    }
    return answered;
  }

  // ------------------------------------------------------------ encrypt and store
  const policyInput = h("input", {
    id: "seal-policy",
    name: "policy",
    autocomplete: "off",
    placeholder: "0x… policy contract",
  });
  const idInput = h("input", {
    id: "seal-id",
    name: "id",
    autocomplete: "off",
    placeholder: "0x + 64 hex digits, or any text",
  });
  const thresholdInput = h("input", {
    id: "seal-threshold",
    name: "threshold",
    inputmode: "numeric",
    placeholder: "majority",
    size: 8,
  });
  const fileInput = h("input", { id: "seal-file", name: "file", type: "file" });
  const epochsInput = h("input", {
    id: "seal-epochs",
    name: "epochs",
    type: "number",
    min: 1,
    value: STORE_EPOCHS,
    size: 6,
  });
  const encryptButton = h("button", { class: "primary", id: "seal-submit", type: "submit" }, "Encrypt and store");
  const storeSteps = stepList("seal-steps");
  let lastAttempt: SealedAttempt | null = null;
  const encryptResult = h("div", { id: "seal-result", "aria-live": "polite" });
  const encryptForm = h(
    "form",
    { class: "card", id: "seal-form", "aria-label": "Encrypt and store a file" },
    h("h2", {}, "Encrypt and store"),
    h(
      "p",
      { class: "muted" },
      "The file is encrypted in this browser; only readers the policy contract approves for the id can get the key back from the key servers. Your wallet registers the ciphertext and pays in WAL, then certifies it, as on the Upload page.",
    ),
    h(
      "div",
      { class: "row" },
      h("label", {}, "Policy", policyInput),
      h("label", {}, "Id", idInput),
      h("label", {}, "Key servers needed", thresholdInput),
      h("label", {}, "Epochs", epochsInput),
      h("label", {}, "File", fileInput),
      encryptButton,
    ),
    storeSteps.element,
    encryptResult,
  );
  encryptForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(encryptButton, async () => {
      try {
        const policy = policyInput.value.trim();
        if (!isAddress(policy)) throw new Error(`"${policy}" is not a policy contract address.`);
        if (idInput.value.trim() === "") throw new Error("Enter an id (the policy decides per id).");
        const file = fileInput.files?.[0];
        if (file === undefined) throw new Error("Choose a file to encrypt.");
        if (file.size > ctx.deployment.maxBlobBytes) {
          throw new Error(
            `The file is too large: ${formatBytes(file.size)}, at most ${formatBytes(ctx.deployment.maxBlobBytes)}.`,
          );
        }
        const epochs = Number(epochsInput.value);
        if (!Number.isInteger(epochs) || epochs < 1) throw new Error("Epochs must be a whole number of at least 1.");
        const wallet = await ctx.requireWallet();
        const known = await servers();
        const list = await knownList;
        const trustedDefaults =
          list !== null &&
          list.threshold !== null &&
          keyServerUrls(serversInput.value).map(trimUrl).join() === list.urls.join();
        const threshold = thresholdInput.value.trim()
          ? Number(thresholdInput.value)
          : trustedDefaults
            ? (list.threshold as number)
            : Math.floor(known.length / 2) + 1;
        if (!Number.isInteger(threshold) || threshold < 1 || threshold > known.length) {
          throw new Error(`Key servers needed must be between 1 and ${known.length}.`);
        }
        const identity = identityOf(idInput.value);
        const inputs = JSON.stringify([
          wallet.address,
          file.name,
          file.size,
          file.lastModified,
          policy.toLowerCase(),
          bytesToHex(identity),
          threshold,
          known.map((server) => bytesToHex(server.publicKey)),
        ]);
        let sealed: Uint8Array;
        if (lastAttempt !== null && lastAttempt.inputs === inputs) {
          sealed = lastAttempt.sealed; // a retry: same ciphertext, same blob id
        } else {
          sealed = encryptBlob(new Uint8Array(await file.arrayBuffer()), {
            chainId: BigInt(chainId),
            policy: hexToBytes(policy),
            identity,
            serverPublicKeys: known.map((server) => server.publicKey),
            threshold,
          });
          lastAttempt = { inputs, sealed };
        }
        mount(encryptResult, h("p", { class: "muted" }, `Encrypted (${formatBytes(sealed.length)}); storing…`));
        storeSteps.reset();
        const stored = await relayUpload(ctx, wallet, new Blob([sealed as BlobPart]), {
          epochs,
          deletable: false,
          onStep: storeSteps.set,
        });
        lastAttempt = null;
        const blobId = stored.prepared.blobId;
        const paid = stored.paid > 0n ? `your wallet paid ${formatWal(stored.paid)}` : "nothing to pay";
        mount(
          encryptResult,
          h(
            "p",
            { class: "ok" },
            `Stored encrypted (${paid}). Blob id: `,
            h("code", { id: "sealed-blob-id", class: "break" }, blobId),
          ),
        );
        openInput.value = blobId;
        ctx.notify("success", "Encrypted file stored.");
      } catch (error) {
        mount(encryptResult, h("p", { class: "error", role: "alert" }, relayFailureText(ctx, error)));
      }
    });
  });

  // ------------------------------------------------------------ open
  const openInput = h("input", {
    id: "open-blob-id",
    name: "blob",
    autocomplete: "off",
    placeholder: "blob id",
    style: "width: min(100%, 32rem)",
  });
  const openButton = h("button", { class: "primary", id: "open-submit", type: "submit" }, "Decrypt");
  const openResult = h("div", { id: "open-result", "aria-live": "polite" });
  const openForm = h(
    "form",
    { class: "card", id: "open-form", "aria-label": "Open a private file" },
    h("h2", {}, "Open a private file"),
    h(
      "p",
      { class: "muted" },
      "Your wallet signs a one-hour session (no transaction, no gas); the key servers release their key shares only if the policy approves you.",
    ),
    h("div", { class: "row" }, h("label", { style: "flex: 1" }, "Blob id", openInput), openButton),
    openResult,
  );
  openForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(openButton, async () => {
      const blobId = openInput.value.trim();
      if (blobId === "") {
        mount(openResult, h("p", { class: "error", role: "alert" }, "Enter a blob id."));
        return;
      }
      try {
        const { address, walletClient } = await ctx.requireWallet();
        mount(openResult, h("p", { class: "muted" }, "Reading the blob…"));
        const response = await ctx.api.fetchRaw(`/v1/blobs/${encodeURIComponent(blobId)}`);
        const data = new Uint8Array(await response.arrayBuffer());
        if (!isSealed(data)) throw new Error("This blob is not encrypted (no Seal header): open it from its blob page.");
        const header = parseHeader(data);
        if (Number(header.chainId) !== chainId) {
          throw new Error(`This file is sealed for chain ${header.chainId}, not ${chainId}.`);
        }
        const policy = bytesToHex(header.policy) as Address;
        const known = await servers();
        mount(openResult, h("p", { class: "muted" }, "Sign the session in your wallet…"));
        const session = await signSession(walletClient, address, policy, chainId);
        mount(openResult, h("p", { class: "muted" }, `Asking ${known.length} key servers…`));
        const shares = await collectShares(known, header, session);
        const plaintext = decryptBlob(data, shares);
        const blob = new Blob([plaintext as BlobPart]);
        const link = h("a", { href: URL.createObjectURL(blob), download: `${blobId}.bin`, id: "decrypted-download" }, "Download the decrypted file");
        const text = new TextDecoder("utf-8", { fatal: false }).decode(plaintext.subarray(0, 4096));
        const printable = !/[\u0000-\u0008\u000e-\u001f]/.test(text);
        mount(
          openResult,
          h("p", { class: "ok", id: "decrypted" }, `Decrypted ${formatBytes(plaintext.length)} in your browser. `, link),
          h("p", { class: "muted" }, `Policy ${policy}, ${header.threshold} of ${header.entries.length} key servers.`),
          h("input", { type: "hidden", id: "decrypted-hex", value: bytesToHex(plaintext.subarray(0, 65536)) }),
          printable ? h("div", { class: "preview" }, h("pre", { id: "decrypted-text" }, text)) : null,
        );
      } catch (error) {
        if (error instanceof NotEnoughShares && error.denied) {
          mount(
            openResult,
            h(
              "div",
              { class: "error", role: "alert", id: "decrypt-error" },
              h(
                "p",
                { class: "break" },
                `Not allowed by the policy: the key servers refused to release the key to ${ctx.wallet.address ?? "this account"}.`,
              ),
              h(
                "details",
                {},
                h("summary", {}, "What the key servers said"),
                h("ul", {}, error.refusals.map((refusal) => h("li", { class: "break" }, refusal.message))),
              ),
            ),
          );
        } else {
          mount(openResult, h("p", { class: "error", role: "alert", id: "decrypt-error" }, ctx.explain(error)));
        }
      }
    });
  });

  mount(
    root,
    h("h1", {}, "Private files"),
    h(
      "p",
      { class: "muted" },
      "Seal encryption: a policy contract on chain decides who may read; t of m key servers enforce it.",
    ),
    h(
      "div",
      { class: "card" },
      h("h2", {}, "Key servers"),
      registeredList,
      h("label", {}, "URLs, separated by commas", serversInput),
    ),
    encryptForm,
    openForm,
  );
}
