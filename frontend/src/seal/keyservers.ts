/** Talking to Seal key servers from the browser (CORS: backend/api/keyserver/app.py):
 * the ones the deployment trusts (the backend's GET /v1/keyservers: the registry ids named in
 * the deployment file; other KeyServerRegistry entries are listed as untrusted, since anyone
 * may register one; a registered server answering another key than its registered one is
 * refused, as the SDK does), their public keys (GET /v1/seal/info), the EIP-712 session the wallet signs
 * (eth_signTypedData_v4: SealSession(requester, policy, sessionKey, expiresAt) in domain
 * {name "WalrusSeal", version "1", chainId}, backend/chain/seal_session.py), and the share
 * request (POST /v1/seal/share {header, session}). */

import { bytesToHex, getAddress, hexToBytes, type Address, type WalletClient } from "viem";
import { indexOf, type SealHeader } from "./header";
import { generateKeyPair, openResponse, type X25519KeyPair } from "./envelope";
import type { Share } from "./shamir";

/** Same paths as backend/core/routes.py KEYSERVER_INFO / KEYSERVER_SHARE. */
export const KEYSERVER_INFO = "/v1/seal/info";
export const KEYSERVER_SHARE = "/v1/seal/share";
/** Sessions last one hour (key servers accept at most 24 h). */
export const SESSION_SECONDS = 3600;

export interface KeyServer {
  url: string;
  publicKey: Uint8Array;
}

/** A key server refused or failed; `code` is its error code ("AccessDenied", ...). */
export class KeyServerError extends Error {
  readonly url: string;
  readonly code: string;
  constructor(url: string, code: string, message: string) {
    super(`${url}: ${code}: ${message}`);
    this.name = "KeyServerError";
    this.url = url;
    this.code = code;
  }
}

/** A key server as the backend's GET /v1/keyservers lists it (KeyServerRegistry entry). */
export interface RegisteredKeyServer {
  id: number;
  operator: string;
  name: string;
  url: string;
  publicKey: Uint8Array;
  /** Named by the deployment (or the backend's WALRUS_KEY_SERVERS): used by default. */
  trusted: boolean;
}

/** GET /v1/keyservers: `urls` (with `threshold`) are the key servers to use by default:
 * `source` "deployment" (the registry ids the deployment file trusts), "env" (the backend's
 * WALRUS_KEY_SERVERS) or "none" (`message` says what to do); `servers` lists every active
 * registry entry, `trusted` or not. */
export interface KnownKeyServers {
  source: string;
  registry: string | null;
  urls: string[];
  threshold: number | null;
  message: string | null;
  servers: RegisteredKeyServer[];
}

export function parseKnownKeyServers(body: {
  source?: string;
  registry?: string | null;
  urls?: string[];
  threshold?: number | null;
  message?: string | null;
  servers?: {
    id: number;
    operator: string;
    name: string;
    url: string;
    public_key: string;
    trusted?: boolean;
  }[];
}): KnownKeyServers {
  return {
    source: body.source ?? "none",
    registry: body.registry ?? null,
    urls: (body.urls ?? []).map(trimUrl),
    threshold: typeof body.threshold === "number" ? body.threshold : null,
    message: body.message ?? null,
    servers: (body.servers ?? []).map((server) => ({
      id: server.id,
      operator: server.operator,
      name: server.name,
      url: trimUrl(server.url),
      publicKey: hexToBytes(`0x${server.public_key}`),
      trusted: server.trusted === true,
    })),
  };
}

export function trimUrl(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

/** The key server at `url`; with `registered` (its key on chain), a server answering another
 * key is refused (KeyServerError code "KeyServerKeyMismatch"). */
export async function keyServerInfo(
  url: string,
  chainId: number,
  registered?: RegisteredKeyServer,
): Promise<KeyServer> {
  const base = trimUrl(url);
  let body: { public_key?: string; chain_id?: number };
  try {
    const answer = await fetch(base + KEYSERVER_INFO);
    body = (await answer.json()) as typeof body;
  } catch {
    throw new KeyServerError(base, "Unreachable", "the key server does not answer");
  }
  if (body.chain_id !== chainId || typeof body.public_key !== "string") {
    throw new KeyServerError(base, "WrongChain", `serves chain ${body.chain_id}, not ${chainId}`);
  }
  const publicKey = hexToBytes(`0x${body.public_key}`);
  if (registered !== undefined && bytesToHex(publicKey) !== bytesToHex(registered.publicKey)) {
    throw new KeyServerError(
      base,
      "KeyServerKeyMismatch",
      `key server ${registered.name} answers public key ${body.public_key}, but ` +
        `${bytesToHex(registered.publicKey).slice(2)} is registered on chain: refused`,
    );
  }
  return { url: base, publicKey };
}

export interface SignedSession {
  key: X25519KeyPair;
  json: Record<string, string | number>;
}

/** A fresh session X25519 key, authorised for `policy` by the wallet's EIP-712 signature. */
export async function signSession(
  walletClient: WalletClient,
  requester: Address,
  policy: Address,
  chainId: number,
): Promise<SignedSession> {
  const key = generateKeyPair();
  const expiresAt = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
  const signature = await walletClient.signTypedData({
    account: requester,
    domain: { name: "WalrusSeal", version: "1", chainId },
    types: {
      SealSession: [
        { name: "requester", type: "address" },
        { name: "policy", type: "address" },
        { name: "sessionKey", type: "bytes32" },
        { name: "expiresAt", type: "uint64" },
      ],
    },
    primaryType: "SealSession",
    message: {
      requester,
      policy: getAddress(policy),
      sessionKey: bytesToHex(key.publicKey),
      expiresAt: BigInt(expiresAt),
    },
  });
  return {
    key,
    json: {
      requester,
      policy: getAddress(policy),
      session_key: bytesToHex(key.publicKey).slice(2),
      expires_at: expiresAt,
      chain_id: chainId,
      signature: signature.slice(2),
    },
  };
}

async function askShare(server: KeyServer, header: SealHeader, session: SignedSession): Promise<Share> {
  let answer: Response;
  try {
    answer = await fetch(server.url + KEYSERVER_SHARE, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ header: bytesToHex(header.bytes).slice(2), session: session.json }),
    });
  } catch {
    throw new KeyServerError(server.url, "Unreachable", "the key server does not answer");
  }
  const body = (await answer.json().catch(() => ({}))) as {
    response?: string;
    error?: { code?: string; message?: string };
  };
  if (!answer.ok || typeof body.response !== "string") {
    throw new KeyServerError(
      server.url,
      body.error?.code ?? `Http${answer.status}`,
      body.error?.message ?? answer.statusText,
    );
  }
  return openResponse(hexToBytes(`0x${body.response}`), header, server.publicKey, session.key);
}

/** Shares from the key servers that hold one for `header`, asked in parallel, until
 * `threshold` answered; throws the refusals (KeyServerError[]) when too few did. */
export async function collectShares(
  servers: readonly KeyServer[],
  header: SealHeader,
  session: SignedSession,
): Promise<Share[]> {
  const holders = servers.filter((server) => indexOf(header, server.publicKey) !== null);
  const results = await Promise.allSettled(holders.map((server) => askShare(server, header, session)));
  const shares: Share[] = [];
  const refusals: KeyServerError[] = [];
  for (const result of results) {
    if (result.status === "fulfilled") shares.push(result.value);
    else if (result.reason instanceof KeyServerError) refusals.push(result.reason);
    else refusals.push(new KeyServerError("?", "BadAnswer", String(result.reason)));
  }
  if (shares.length < header.threshold) {
    throw new NotEnoughShares(header.threshold, holders.length, shares.length, refusals);
  }
  return shares;
}

export class NotEnoughShares extends Error {
  readonly refusals: KeyServerError[];
  readonly denied: boolean;
  constructor(threshold: number, holders: number, got: number, refusals: KeyServerError[]) {
    super(
      `needs ${threshold} key server shares, got ${got} (${holders} configured key servers hold one)` +
        (refusals.length ? `: ${refusals.map((r) => r.message).join("; ")}` : ""),
    );
    this.name = "NotEnoughShares";
    this.refusals = refusals;
    this.denied = refusals.some((refusal) => refusal.code === "AccessDenied");
  }
}
