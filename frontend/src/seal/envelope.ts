/** Seal encryption and decryption in the browser, byte-compatible with
 * backend/core/seal/envelope.py and stream.py: the data key encrypts the content with
 * segmented XChaCha20-Poly1305 (nonce = 19-byte prefix || u32 index || last flag, the
 * header as associated data of every segment; version 1: one AEAD pass), its Shamir shares
 * are encrypted to each key server's X25519 key, and key servers answer with the share
 * encrypted to the requester's session key. Keys come from BLAKE2b-256 (personalisation
 * "walrus-seal-kdf1") of the X25519 secret, sender key and receiver key. */

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import {
  DEFAULT_SEGMENT_SIZE,
  KEY_SIZE,
  NONCE_PREFIX_SIZE,
  NONCE_SIZE,
  TAG_SIZE,
  VERSION_STREAM,
  headerBytes,
  indexOf,
  parseHeader,
  type SealHeader,
} from "./header";
import { combineShares, splitSecret, type Share } from "./shamir";

const encoder = new TextEncoder();
const SHARE_CONTEXT = encoder.encode("walrus-seal/v1/share");
const RESPONSE_CONTEXT = encoder.encode("walrus-seal/v1/response");
const KDF_PERSON = encoder.encode("walrus-seal-kdf1");
const ZERO_NONCE = new Uint8Array(NONCE_SIZE);

/** Altered ciphertext, header or share, or the wrong key (SealTampered in the Python). */
export class SealTampered extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealTampered";
  }
}

export interface X25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function keyPairFromPrivate(privateKey: Uint8Array): X25519KeyPair {
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

export function generateKeyPair(): X25519KeyPair {
  return keyPairFromPrivate(crypto.getRandomValues(new Uint8Array(KEY_SIZE)));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

function deriveKey(
  privateKey: Uint8Array,
  peerPublicKey: Uint8Array,
  sender: Uint8Array,
  receiver: Uint8Array,
): Uint8Array {
  const shared = x25519.getSharedSecret(privateKey, peerPublicKey);
  if (shared.every((byte) => byte === 0)) {
    throw new SealTampered("X25519 public key is a low-order point");
  }
  return blake2b(concat(shared, sender, receiver), { dkLen: KEY_SIZE, personalization: KDF_PERSON });
}

function shareAad(chainId: bigint, policy: Uint8Array, identity: Uint8Array, x: number): Uint8Array {
  return concat(SHARE_CONTEXT, u64(chainId), policy, identity, new Uint8Array([x]));
}

function responseAad(header: SealHeader, serverPublicKey: Uint8Array, x: number): Uint8Array {
  return concat(
    RESPONSE_CONTEXT,
    u64(header.chainId),
    header.policy,
    header.identity,
    serverPublicKey,
    new Uint8Array([x]),
  );
}

function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, data: Uint8Array, what: string): Uint8Array {
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(data);
  } catch {
    throw new SealTampered(`${what} does not authenticate (altered or wrong key)`);
  }
}

function segmentNonce(prefix: Uint8Array, index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(NONCE_SIZE);
  nonce.set(prefix, 0);
  const view = new DataView(nonce.buffer);
  view.setUint32(NONCE_PREFIX_SIZE, index);
  nonce[NONCE_PREFIX_SIZE + 4] = last ? 1 : 0;
  return nonce;
}

export interface EncryptOptions {
  chainId: bigint;
  /** 20-byte policy contract address. */
  policy: Uint8Array;
  /** 32-byte id. */
  identity: Uint8Array;
  serverPublicKeys: Uint8Array[];
  threshold: number;
  segmentSize?: number;
}

/** Version-2 header + segmented ciphertext of `plaintext`. */
export function encryptBlob(plaintext: Uint8Array, options: EncryptOptions): Uint8Array {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const dataKey = crypto.getRandomValues(new Uint8Array(KEY_SIZE));
  const shares = splitSecret(dataKey, options.threshold, options.serverPublicKeys.length);
  const ephemeral = generateKeyPair();
  const entries = shares.map((share, index) => {
    const serverKey = options.serverPublicKeys[index];
    const key = deriveKey(ephemeral.privateKey, serverKey, ephemeral.publicKey, serverKey);
    const aad = shareAad(options.chainId, options.policy, options.identity, share.x);
    return {
      serverPublicKey: serverKey,
      encryptedShare: xchacha20poly1305(key, ZERO_NONCE, aad).encrypt(share.value),
    };
  });
  const header = headerBytes({
    chainId: options.chainId,
    policy: options.policy,
    identity: options.identity,
    threshold: options.threshold,
    ephemeralPublicKey: ephemeral.publicKey,
    nonce: crypto.getRandomValues(new Uint8Array(NONCE_PREFIX_SIZE)),
    segmentSize,
    entries,
  });
  const prefix = header.slice(100, 100 + NONCE_PREFIX_SIZE);
  const count = Math.max(1, Math.ceil(plaintext.length / segmentSize));
  const out = new Uint8Array(header.length + plaintext.length + TAG_SIZE * count);
  out.set(header, 0);
  let offset = header.length;
  for (let index = 0; index < count; index++) {
    const piece = plaintext.subarray(index * segmentSize, (index + 1) * segmentSize);
    const nonce = segmentNonce(prefix, index, index === count - 1);
    const sealed = xchacha20poly1305(dataKey, nonce, header).encrypt(piece);
    out.set(sealed, offset);
    offset += sealed.length;
  }
  return out;
}

/** The share a key server sent back (ephemeral key 32 + AEAD of the share), opened with
 * the session key it was encrypted to. */
export function openResponse(
  response: Uint8Array,
  header: SealHeader,
  serverPublicKey: Uint8Array,
  session: X25519KeyPair,
): Share {
  const index = indexOf(header, serverPublicKey);
  if (index === null) throw new SealTampered("the answering key server is not in the Seal header");
  if (response.length !== KEY_SIZE + KEY_SIZE + TAG_SIZE) {
    throw new SealTampered(`key server response has ${response.length} bytes, expected 80`);
  }
  const ephemeralPublic = response.subarray(0, KEY_SIZE);
  const key = deriveKey(session.privateKey, ephemeralPublic, ephemeralPublic, session.publicKey);
  const aad = responseAad(header, serverPublicKey, index + 1);
  const value = open(key, ZERO_NONCE, aad, response.subarray(KEY_SIZE), "key server response");
  return { x: index + 1, value };
}

/** The plaintext of a Seal blob (version 1 or 2) from `threshold` distinct shares. */
export function decryptBlob(data: Uint8Array, shares: readonly Share[]): Uint8Array {
  const header = parseHeader(data);
  const distinct = [...new Map(shares.map((share) => [share.x, share])).values()];
  if (distinct.length < header.threshold) {
    throw new RangeError(`need ${header.threshold} distinct shares, got ${distinct.length}`);
  }
  const dataKey = combineShares(distinct.slice(0, header.threshold));
  const body = data.subarray(header.bytes.length);
  if (header.version !== VERSION_STREAM) {
    return open(dataKey, header.nonce, header.bytes, body, "Seal blob");
  }
  const sealedSegment = header.segmentSize + TAG_SIZE;
  const count = Math.max(1, Math.ceil(body.length / sealedSegment));
  const last = body.length - (count - 1) * sealedSegment;
  if (last < TAG_SIZE || (last === TAG_SIZE && count > 1)) {
    throw new SealTampered(
      `${body.length} bytes are no sequence of ${header.segmentSize}-byte segments (truncated or extended)`,
    );
  }
  const out = new Uint8Array(body.length - TAG_SIZE * count);
  for (let index = 0; index < count; index++) {
    const sealed = body.subarray(index * sealedSegment, (index + 1) * sealedSegment);
    const nonce = segmentNonce(header.nonce, index, index === count - 1);
    out.set(open(dataKey, nonce, header.bytes, sealed, `Seal segment ${index}`), index * header.segmentSize);
  }
  return out;
}
