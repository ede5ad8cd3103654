/** Turning wallet, contract and backend errors into one plain sentence for the user. */

import { BaseError, decodeErrorResult, formatUnits, type Abi, type Hex } from "viem";
import { ApiError } from "./api";

/** An error whose message is already meant for the user (shown as is). */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserFacingError";
  }
}

/** EIP-1193 code for "the user rejected the request" (MetaMask and others). */
export const USER_REJECTED = 4001;

/** Plain-words messages of the custom errors users meet most; others are derived from
 * the error's name (`BlobRegistryBlobExpired` -> "Blob registry: blob expired"). */
const PLAIN: Record<string, (args: readonly unknown[]) => string> = {
  ERC20InsufficientBalance: (a) =>
    `Not enough WAL: you have ${wal(a[1])} and this needs ${wal(a[2])}.`,
  ERC20InsufficientAllowance: (a) =>
    `The registry may spend only ${wal(a[1])} of your WAL and this needs ${wal(a[2])}.`,
  ERC2612ExpiredSignature: () => "The WAL permit expired before it was used; try again.",
  ERC2612InvalidSigner: () => "The WAL permit was signed by another account.",
  ERC721InsufficientApproval: () => "You do not own this blob.",
  ERC721InvalidReceiver: () =>
    "That address cannot receive blobs (the zero address, or a contract that does not accept tokens).",
  BlobRegistryNotAuthorized: () => "Only the blob's owner may do that.",
  BlobRegistryAlreadyCertified: () => "This blob is already certified.",
  BlobRegistryBlobExpired: () => "This blob has expired.",
  BlobRegistryNotDeletable: () => "This blob is permanent: it cannot be deleted.",
  BlobRegistryTooManyEpochs: (a) =>
    `That is too far ahead: at most ${String(a[1])} epochs from now.`,
  BlobRegistryBlobTooLarge: (a) =>
    `The file is too large: ${String(a[0])} bytes, at most ${String(a[1])}.`,
  BlobRegistryInsufficientWeight: () =>
    "The storage certificate lacks enough node signatures; ask the relay again.",
  BlobRegistryUnknownBlob: () => "No such blob (it may have been deleted).",
};

function wal(value: unknown): string {
  return typeof value === "bigint" ? `${formatUnits(value, 9)} WAL` : String(value);
}

/** "BlobRegistryBlobExpired" -> "Blob registry: blob expired" (prefix = a contract name). */
export function humanizeErrorName(name: string, contractNames: readonly string[] = []): string {
  const prefix = [...contractNames]
    .sort((a, b) => b.length - a.length)
    .find((contract) => name.startsWith(contract) && name.length > contract.length);
  const words = (text: string): string =>
    text
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
      .toLowerCase();
  if (prefix === undefined) {
    const sentence = words(name);
    return sentence.charAt(0).toUpperCase() + sentence.slice(1) + ".";
  }
  const contract = words(prefix);
  return `${contract.charAt(0).toUpperCase()}${contract.slice(1)}: ${words(name.slice(prefix.length))}.`;
}

/** A decoded contract error: its NAME and arguments. */
export interface DecodedRevert {
  name: string;
  args: readonly unknown[];
}

/** Find revert data anywhere in a viem error chain and decode it with `abi`. */
export function decodeRevert(error: unknown, abi: Abi): DecodedRevert | null {
  if (!(error instanceof BaseError)) return null;
  let found: DecodedRevert | null = null;
  error.walk((inner) => {
    if (found !== null) return true;
    const named = (inner as { data?: { errorName?: string; args?: readonly unknown[] } }).data;
    if (named && typeof named === "object" && typeof named.errorName === "string") {
      found = { name: named.errorName, args: named.args ?? [] };
      return true;
    }
    for (const candidate of [
      (inner as { data?: unknown }).data,
      (inner as { raw?: unknown }).raw,
    ]) {
      if (typeof candidate === "string" && /^0x[0-9a-fA-F]{8,}$/.test(candidate)) {
        try {
          const decoded = decodeErrorResult({ abi, data: candidate as Hex });
          found = { name: decoded.errorName, args: decoded.args ?? [] };
          return true;
        } catch {
          // not one of our errors
        }
      }
    }
    return false;
  });
  return found;
}

function isUserRejection(error: unknown): boolean {
  if (error instanceof BaseError) {
    return (
      error.walk((inner) => (inner as { code?: number }).code === USER_REJECTED) !== null
    );
  }
  return (error as { code?: number } | null)?.code === USER_REJECTED;
}

/** One sentence for the user about `error`. `abi` holds every contract error to decode. */
export function explainError(
  error: unknown,
  abi: Abi = [],
  contractNames: readonly string[] = [],
): string {
  if (error instanceof UserFacingError) return error.message;
  if (isUserRejection(error)) return "You rejected the request in your wallet. Nothing was sent.";
  if (error instanceof ApiError) return error.message;
  const revert = decodeRevert(error, abi);
  if (revert !== null) {
    const plain = PLAIN[revert.name];
    const sentence = plain ? plain(revert.args) : humanizeErrorName(revert.name, contractNames);
    return `${sentence} (${revert.name})`;
  }
  if (error instanceof BaseError) return error.shortMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}
