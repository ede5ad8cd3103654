/** WAL balance and allowance helpers shared by the pages that pay (upload, extend, stake). */

import type { Address, WalletClient } from "viem";
import { checkedWrite } from "./pages/checked_write";
import type { AppContext } from "./context";
import { UserFacingError } from "./errors";
import { formatWal } from "./units";

export async function walBalance(ctx: AppContext, owner: Address): Promise<bigint> {
  const wal = ctx.contract("WAL");
  return (await ctx.publicClient.readContract({
    address: wal.address,
    abi: wal.abi,
    functionName: "balanceOf",
    args: [owner],
  })) as bigint;
}

/** Refuse before any transaction when the wallet holds less than `cost` (nothing is paid). */
export async function requireWal(ctx: AppContext, owner: Address, cost: bigint): Promise<void> {
  const balance = await walBalance(ctx, owner);
  if (balance < cost) {
    throw new UserFacingError(
      `Not enough WAL: this costs ${formatWal(cost)} and your wallet holds ${formatWal(balance)}.`,
    );
  }
}

/** Approve `spender` for exactly `amount` WAL when its allowance is short (one wallet
 * confirmation); does nothing when it is already enough. */
export async function ensureAllowance(
  ctx: AppContext,
  walletClient: WalletClient,
  owner: Address,
  spender: Address,
  amount: bigint,
): Promise<void> {
  const wal = ctx.contract("WAL");
  const allowance = (await ctx.publicClient.readContract({
    address: wal.address,
    abi: wal.abi,
    functionName: "allowance",
    args: [owner, spender],
  })) as bigint;
  if (allowance >= amount) return;
  await ctx.runTx(`Approve ${formatWal(amount)}`, () =>
    checkedWrite(ctx, { address: owner, walletClient }, { address: wal.address, abi: wal.abi, functionName: "approve", args: [spender, amount] }),
  );
}
