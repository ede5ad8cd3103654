/** Send a contract write only after simulating it from the wallet's account: a doomed
 * transaction is refused by the contract's error NAME before the wallet is asked (no gas
 * paid for a revert; an injected wallet may not estimate gas itself). Used by the Staking,
 * Governance and Private files pages inside `ctx.runTx`. */

import type { Abi, Address, Hash, WalletClient } from "viem";
import type { AppContext } from "../context";

export interface Write {
  address: Address;
  abi: Abi | readonly unknown[];
  functionName: string;
  args: readonly unknown[];
}

export async function checkedWrite(
  ctx: AppContext,
  wallet: { address: Address; walletClient: WalletClient },
  write: Write,
): Promise<Hash> {
  const call = { ...write, abi: write.abi as Abi, account: wallet.address };
  await ctx.publicClient.simulateContract(call);
  return wallet.walletClient.writeContract({ ...call, chain: ctx.chain });
}
