/** Send a contract write only after simulating it from the wallet's account: a doomed
 * transaction is refused by the contract's error NAME before the wallet is asked (no gas
 * paid for a revert; an injected wallet may not estimate gas itself). Used by the Staking,
 * Governance and Private files pages inside `ctx.runTx`. */

import type { Abi, Address, Hash, WalletClient } from "viem";
import type { AppContext } from "../context";
import { busy } from "../dom";

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

/** The wallet client `ctx.requireWallet()` resolves to. */
export type PageWallet = Awaited<ReturnType<AppContext["requireWallet"]>>;

/** One wallet transaction started from `button` (busy while it runs), then `after()`;
 *  a missing wallet or a failed transaction is shown to the user, not thrown. */
export function sendFromButton(
  ctx: AppContext,
  label: string,
  button: HTMLButtonElement,
  write: (wallet: PageWallet) => Promise<Hash>,
  after: () => void,
): void {
  void busy(button, async () => {
    let wallet: PageWallet;
    try {
      wallet = await ctx.requireWallet();
    } catch (error) {
      ctx.notify("error", ctx.explain(error));
      return;
    }
    try {
      await ctx.runTx(label, () => write(wallet));
      after();
    } catch {
      // runTx has shown the failure
    }
  });
}
