/** The injected EIP-1193 wallet (`window.ethereum`): connect, disconnect, account and chain
 * changes, and switching to the deployment's chain. */

import { getAddress, numberToHex, type Address, type EIP1193Provider } from "viem";
import { UserFacingError } from "./errors";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export interface WalletState {
  /** An injected wallet exists. */
  available: boolean;
  /** The connected account, or null. */
  address: Address | null;
  /** The wallet's current chain id, or null when not connected. */
  chainId: number | null;
}

export interface ChainToAdd {
  chainId: number;
  chainName: string;
  rpcUrl: string;
}

const DISCONNECTED_KEY = "walrus.walletDisconnected";

export class Wallet {
  state: WalletState;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly provider: EIP1193Provider | undefined = window.ethereum) {
    this.state = { available: provider !== undefined, address: null, chainId: null };
    provider?.on("accountsChanged", (accounts) => {
      void this.update(accounts as readonly string[]);
    });
    provider?.on("chainChanged", (chainId) => {
      this.state = { ...this.state, chainId: Number(chainId) };
      this.emit();
    });
  }

  get eip1193(): EIP1193Provider {
    if (this.provider === undefined) throw new UserFacingError(NO_WALLET);
    return this.provider;
  }

  /** Reconnect silently on load unless the user disconnected (eth_accounts asks nothing). */
  async restore(): Promise<void> {
    if (this.provider === undefined || localStorage.getItem(DISCONNECTED_KEY) === "1") return;
    try {
      await this.update(await this.provider.request({ method: "eth_accounts" }));
    } catch {
      // a wallet that cannot answer stays disconnected
    }
  }

  async connect(): Promise<Address> {
    const accounts = await this.eip1193.request({ method: "eth_requestAccounts" });
    localStorage.removeItem(DISCONNECTED_KEY);
    await this.update(accounts);
    if (this.state.address === null) throw new UserFacingError("The wallet shared no account.");
    return this.state.address;
  }

  /** Forget the account in this app (wallets keep their own permission list). */
  disconnect(): void {
    localStorage.setItem(DISCONNECTED_KEY, "1");
    this.state = { ...this.state, address: null, chainId: null };
    this.emit();
  }

  /** Ask the wallet to switch to `chain`, adding it first when the wallet does not know it. */
  async switchTo(chain: ChainToAdd): Promise<void> {
    const chainId = numberToHex(chain.chainId);
    try {
      await this.eip1193.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (error) {
      if ((error as { code?: number }).code !== 4902) throw error;
      await this.eip1193.request({
        method: "wallet_addEthereumChain",
        params: [
          {
            chainId,
            chainName: chain.chainName,
            rpcUrls: [chain.rpcUrl],
            nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
          },
        ],
      });
    }
    const current = await this.eip1193.request({ method: "eth_chainId" });
    this.state = { ...this.state, chainId: Number(current) };
    this.emit();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async update(accounts: readonly string[]): Promise<void> {
    const first = accounts[0];
    if (first === undefined || localStorage.getItem(DISCONNECTED_KEY) === "1") {
      this.state = { ...this.state, address: null, chainId: null };
    } else {
      const chainId = await this.eip1193.request({ method: "eth_chainId" });
      this.state = { ...this.state, address: getAddress(first), chainId: Number(chainId) };
    }
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

export const NO_WALLET =
  "No browser wallet found. Install a wallet such as MetaMask (or open this page in a wallet's browser) to sign transactions.";
