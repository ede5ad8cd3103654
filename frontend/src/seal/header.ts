/** The Seal header (docs/seal.md, backend/core/seal/header.py): magic "WSEL", version 1
 * (one AEAD pass, 24-byte nonce) or 2 (segmented STREAM: 19-byte nonce prefix + u32
 * segment size), XChaCha20-Poly1305, chain id, policy, id, t, m, ephemeral X25519 key and
 * m entries of (key server public key 32 + encrypted share 48). Big-endian. */

export const MAGIC = new Uint8Array([0x57, 0x53, 0x45, 0x4c]); // "WSEL"
export const VERSION_SINGLE = 1;
export const VERSION_STREAM = 2;
export const AEAD_XCHACHA20_POLY1305 = 1;
export const KEY_SIZE = 32;
export const TAG_SIZE = 16;
export const NONCE_SIZE = 24;
export const NONCE_PREFIX_SIZE = 19;
export const DEFAULT_SEGMENT_SIZE = 1 << 20;
export const MIN_SEGMENT_SIZE = 64;
export const MAX_SEGMENT_SIZE = 1 << 24;
export const ENTRY_SIZE = KEY_SIZE + KEY_SIZE + TAG_SIZE;
const COMMON_SIZE = 4 + 1 + 1 + 8 + 20 + 32 + 1 + 1 + 32;
export const FIXED_SIZE_V1 = COMMON_SIZE + NONCE_SIZE;
export const FIXED_SIZE_V2 = COMMON_SIZE + NONCE_PREFIX_SIZE + 4;

/** The bytes are not a valid Seal header (MalformedSealHeader in the Python). */
export class MalformedSealHeader extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedSealHeader";
  }
}

export interface ShareEntry {
  serverPublicKey: Uint8Array;
  encryptedShare: Uint8Array;
}

export interface SealHeader {
  version: number;
  chainId: bigint;
  /** 20-byte policy contract address. */
  policy: Uint8Array;
  /** 32-byte id given to sealApprove. */
  identity: Uint8Array;
  threshold: number;
  ephemeralPublicKey: Uint8Array;
  /** Version 1: the 24-byte nonce; version 2: the 19-byte segment nonce prefix. */
  nonce: Uint8Array;
  /** Plaintext bytes per segment (version 2); 0 in version 1. */
  segmentSize: number;
  entries: ShareEntry[];
  /** The header's own bytes (the content AEAD's associated data). */
  bytes: Uint8Array;
}

export function isSealed(data: Uint8Array): boolean {
  return (
    data.length >= 5 &&
    MAGIC.every((byte, index) => data[index] === byte) &&
    (data[4] === VERSION_SINGLE || data[4] === VERSION_STREAM)
  );
}

export function parseHeader(data: Uint8Array): SealHeader {
  if (data.length < FIXED_SIZE_V2) {
    throw new MalformedSealHeader(
      `Seal header needs at least ${FIXED_SIZE_V2} bytes, got ${data.length}`,
    );
  }
  if (!MAGIC.every((byte, index) => data[index] === byte)) {
    throw new MalformedSealHeader("not a Seal blob (magic is not WSEL)");
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = data[4];
  if (version !== VERSION_SINGLE && version !== VERSION_STREAM) {
    throw new MalformedSealHeader(`Seal header version ${version} is not supported (only 1, 2)`);
  }
  if (data[5] !== AEAD_XCHACHA20_POLY1305) {
    throw new MalformedSealHeader(`unknown Seal AEAD algorithm ${data[5]}`);
  }
  const chainId = view.getBigUint64(6);
  const policy = data.slice(14, 34);
  const identity = data.slice(34, 66);
  const threshold = data[66];
  const count = data[67];
  const ephemeralPublicKey = data.slice(68, 100);
  let nonce: Uint8Array;
  let segmentSize = 0;
  let start: number;
  if (version === VERSION_STREAM) {
    nonce = data.slice(COMMON_SIZE, COMMON_SIZE + NONCE_PREFIX_SIZE);
    segmentSize = view.getUint32(COMMON_SIZE + NONCE_PREFIX_SIZE);
    start = FIXED_SIZE_V2;
    if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
      throw new MalformedSealHeader(
        `Seal header: segment size ${segmentSize} outside ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`,
      );
    }
  } else {
    nonce = data.slice(COMMON_SIZE, COMMON_SIZE + NONCE_SIZE);
    start = FIXED_SIZE_V1;
  }
  const end = start + ENTRY_SIZE * count;
  if (data.length < end) {
    throw new MalformedSealHeader(`Seal header with ${count} key servers is truncated`);
  }
  if (!(1 <= threshold && threshold <= count)) {
    throw new MalformedSealHeader(`Seal header: threshold ${threshold} of ${count}`);
  }
  const entries: ShareEntry[] = [];
  for (let offset = start; offset < end; offset += ENTRY_SIZE) {
    entries.push({
      serverPublicKey: data.slice(offset, offset + KEY_SIZE),
      encryptedShare: data.slice(offset + KEY_SIZE, offset + ENTRY_SIZE),
    });
  }
  return {
    version,
    chainId,
    policy,
    identity,
    threshold,
    ephemeralPublicKey,
    nonce,
    segmentSize,
    entries,
    bytes: data.slice(0, end),
  };
}

/** A version-2 header's bytes. */
export function headerBytes(fields: Omit<SealHeader, "bytes" | "version">): Uint8Array {
  const out = new Uint8Array(FIXED_SIZE_V2 + ENTRY_SIZE * fields.entries.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION_STREAM;
  out[5] = AEAD_XCHACHA20_POLY1305;
  view.setBigUint64(6, fields.chainId);
  out.set(fields.policy, 14);
  out.set(fields.identity, 34);
  out[66] = fields.threshold;
  out[67] = fields.entries.length;
  out.set(fields.ephemeralPublicKey, 68);
  out.set(fields.nonce, COMMON_SIZE);
  view.setUint32(COMMON_SIZE + NONCE_PREFIX_SIZE, fields.segmentSize);
  fields.entries.forEach((entry, index) => {
    const offset = FIXED_SIZE_V2 + ENTRY_SIZE * index;
    out.set(entry.serverPublicKey, offset);
    out.set(entry.encryptedShare, offset + KEY_SIZE);
  });
  return out;
}

export function indexOf(header: SealHeader, serverPublicKey: Uint8Array): number | null {
  const index = header.entries.findIndex((entry) =>
    entry.serverPublicKey.every((byte, i) => byte === serverPublicKey[i]),
  );
  return index < 0 ? null : index;
}
