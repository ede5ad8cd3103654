/** Human units: WAL (9 decimals, amounts on chain in FROST), bytes in KiB/MiB/GiB, and
 * epochs as dates (from Staking's epoch start time and duration). */

import { formatUnits, parseUnits, type Address, type PublicClient } from "viem";
import type { ContractInfo } from "./context";

export const WAL_DECIMALS = 9;

/** "1,234.5 WAL" from FROST: at most `digits` decimals, except below 1 WAL, where the
 * first significant digits are kept (devnet prices are fractions of a WAL). */
export function formatWal(frost: bigint, digits = 4): string {
  const [whole = "0", fraction = ""] = formatUnits(frost, WAL_DECIMALS).split(".");
  const grouped = BigInt(whole).toLocaleString("en-US");
  let shown = fraction.slice(0, digits);
  if (whole === "0" && fraction !== "") {
    const firstDigit = fraction.search(/[1-9]/);
    shown = fraction.slice(0, Math.max(digits, firstDigit + 3));
  }
  shown = shown.replace(/0+$/, "");
  return `${grouped}${shown ? "." + shown : ""} WAL`;
}

/** FROST from what the user typed ("12.5"); throws RangeError on anything else. */
export function parseWal(text: string): bigint {
  const clean = text.trim().replace(/,/g, "");
  if (!/^\d+(\.\d{1,9})?$/.test(clean)) {
    throw new RangeError(`"${text}" is not a WAL amount (up to 9 decimals)`);
  }
  return parseUnits(clean, WAL_DECIMALS);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** "512 B", "1.50 MiB". */
export function formatBytes(bytes: number | bigint): string {
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(2)} ${BYTE_UNITS[unit]}`;
}

/** When the current epoch started and how long epochs last (read from Staking). */
export interface EpochClock {
  currentEpoch: number;
  epochStartTime: number;
  epochDuration: number;
}

const STAKING_CLOCK_ABI = [
  {
    type: "function",
    name: "currentEpoch",
    stateMutability: "view",
    inputs: [],
    outputs: [{ type: "uint32" }],
  },
  {
    type: "function",
    name: "epochStartTime",
    stateMutability: "view",
    inputs: [],
    outputs: [{ type: "uint64" }],
  },
  {
    type: "function",
    name: "epochDuration",
    stateMutability: "view",
    inputs: [],
    outputs: [{ type: "uint64" }],
  },
] as const;

export async function readEpochClock(
  client: PublicClient,
  staking: ContractInfo | { address: Address },
): Promise<EpochClock> {
  const read = (functionName: "currentEpoch" | "epochStartTime" | "epochDuration") =>
    client.readContract({ address: staking.address, abi: STAKING_CLOCK_ABI, functionName });
  const [epoch, start, duration] = await Promise.all([
    read("currentEpoch"),
    read("epochStartTime"),
    read("epochDuration"),
  ]);
  return {
    currentEpoch: Number(epoch),
    epochStartTime: Number(start),
    epochDuration: Number(duration),
  };
}

/** The (estimated) time epoch `epoch` starts: later epochs assume every epoch lasts
 * `epochDuration` (an epoch change can only come later, never earlier). */
export function epochStart(epoch: number, clock: EpochClock): Date {
  const seconds = clock.epochStartTime + (epoch - clock.currentEpoch) * clock.epochDuration;
  return new Date(seconds * 1000);
}

/** "epoch 12 (≈ 27 Nov 2026, 14:05)". */
export function formatEpoch(epoch: number, clock: EpochClock): string {
  return `epoch ${epoch} (≈ ${formatDate(epochStart(epoch, clock))})`;
}

export function formatDate(date: Date): string {
  return date.toLocaleString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}
