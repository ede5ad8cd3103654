/**
 * AppContext: what every page gets. Pages are modules `src/pages/<name>.ts` exporting
 * `render(root: HTMLElement, ctx: AppContext): void | Promise<void>`; `root` is emptied
 * before each render.
 *
 *   ctx.deployment        chainId, chainName, rpcUrl, deployBlock, maxBlobBytes and
 *                         contracts: { WAL, Staking, BlobRegistry, StakingRewards,
 *                         StorageChallenges, WalrusGovernor, WalrusTimelock, SharedBlob, ... }
 *                         each { address, abi } (from GET /v1/deployment)
 *   ctx.contract(name)    one of those ({ address, abi }); throws if not deployed
 *   ctx.publicClient      viem PublicClient on the deployment's RPC (reads, receipts)
 *   ctx.wallet            { available, address, chainId } (live)
 *   ctx.connect()         ask the wallet for an account; ctx.disconnect()
 *   ctx.requireWallet()   connected AND on the right chain -> { address, walletClient }
 *                         (throws a UserFacingError with a clear message otherwise)
 *   ctx.switchNetwork()   wallet_switchEthereumChain / wallet_addEthereumChain
 *   ctx.onWalletChange(f) re-render on account/chain change; returns an unsubscribe
 *   ctx.api               backend: get/post/url/fetchRaw; errors are ApiError(status, code)
 *   ctx.notify(kind, text, key?)  "info" | "success" | "error" toast (also aria-live);
 *                         a later notice with the same key replaces the earlier one
 *   ctx.runTx(label, send)  send() returns a tx hash; shows pending -> confirmed / failed
 *                         with the contract error's NAME in plain words; resolves to the
 *                         receipt, rejects (already notified) on failure
 *   ctx.lastConfirmedBlock()  block of the last transaction runTx saw confirmed (0n if
 *                         none): pages listing from the indexer wait until it has seen it
 *   ctx.explain(error)    the plain sentence runTx/notify would show
 *   ctx.navigate(path)    client-side navigation (history API)
 */

import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  http,
  type Abi,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import type { Api } from "./api";
import { explainError, UserFacingError } from "./errors";
import { NO_WALLET, Wallet, type WalletState } from "./wallet";

export interface ContractInfo {
  address: Address;
  abi: Abi;
}

export interface Deployment {
  chainId: number;
  chainName: string;
  /** The JSON-RPC URL the browser reads from (and offers to the wallet). */
  rpcUrl: string;
  deployBlock: number;
  /** The largest upload the backend relay accepts, in bytes. */
  maxBlobBytes: number;
  contracts: Record<string, ContractInfo>;
}

export type NoticeKind = "info" | "success" | "error";

export interface AppContext {
  deployment: Deployment;
  chain: Chain;
  publicClient: PublicClient;
  readonly wallet: WalletState;
  connect(): Promise<Address>;
  disconnect(): void;
  requireWallet(): Promise<{ address: Address; walletClient: WalletClient }>;
  switchNetwork(): Promise<void>;
  onWalletChange(listener: () => void): () => void;
  contract(name: string): ContractInfo;
  api: Api;
  notify(kind: NoticeKind, text: string, key?: string): void;
  runTx(label: string, send: () => Promise<Hash>): Promise<TransactionReceipt>;
  lastConfirmedBlock(): bigint;
  explain(error: unknown): string;
  navigate(path: string): void;
}

/** Every custom error of every deployed contract, to decode reverts by name. */
function errorAbi(deployment: Deployment): Abi {
  const seen = new Set<string>();
  const errors: Abi[number][] = [];
  for (const { abi } of Object.values(deployment.contracts)) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const key = `${item.name}(${item.inputs.map((input) => input.type).join(",")})`;
      if (!seen.has(key)) {
        seen.add(key);
        errors.push(item);
      }
    }
  }
  return errors;
}

export function createContext(
  deployment: Deployment,
  api: Api,
  wallet: Wallet,
  notify: (kind: NoticeKind, text: string, key?: string) => void,
  navigate: (path: string) => void,
): AppContext {
  const chain = defineChain({
    id: deployment.chainId,
    name: deployment.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpcUrl] } },
  });
  const publicClient = createPublicClient({
    chain,
    transport: http(deployment.rpcUrl),
    pollingInterval: 250,
  }) as PublicClient;
  const errors = errorAbi(deployment);
  const names = Object.keys(deployment.contracts);
  const explain = (error: unknown): string => explainError(error, errors, names);
  let transactions = 0;
  let lastBlock = 0n;

  const ctx: AppContext = {
    deployment,
    chain,
    publicClient,
    get wallet() {
      return wallet.state;
    },
    connect: () => wallet.connect(),
    disconnect: () => wallet.disconnect(),
    async requireWallet() {
      if (!wallet.state.available) throw new UserFacingError(NO_WALLET);
      const address = wallet.state.address ?? (await wallet.connect());
      if (wallet.state.chainId !== deployment.chainId) {
        throw new UserFacingError(
          `Your wallet is on chain ${wallet.state.chainId ?? "?"}; switch it to ` +
            `${deployment.chainName} (chain ${deployment.chainId}) first.`,
        );
      }
      const walletClient = createWalletClient({
        account: address,
        chain,
        transport: custom(wallet.eip1193),
      });
      return { address, walletClient };
    },
    switchNetwork: () =>
      wallet.switchTo({
        chainId: deployment.chainId,
        chainName: deployment.chainName,
        rpcUrl: deployment.rpcUrl,
      }),
    onWalletChange: (listener) => wallet.onChange(listener),
    contract(name) {
      const info = deployment.contracts[name];
      if (info === undefined) throw new UserFacingError(`${name} is not deployed on this chain.`);
      return info;
    },
    api,
    notify,
    async runTx(label, send) {
      const key = `tx-${++transactions}`;
      notify("info", `${label}: confirm in your wallet…`, key);
      let hash: Hash;
      try {
        hash = await send();
      } catch (error) {
        notify("error", `${label} failed: ${explain(error)}`, key);
        throw error;
      }
      notify("info", `${label}: pending (${hash.slice(0, 10)}…)`, key);
      let receipt: TransactionReceipt;
      try {
        receipt = await publicClient.waitForTransactionReceipt({ hash });
      } catch (error) {
        notify("error", `${label}: no receipt: ${explain(error)}`, key);
        throw error;
      }
      if (receipt.status !== "success") {
        const failure = new UserFacingError(`${label} failed: the transaction reverted.`);
        notify("error", failure.message, key);
        throw failure;
      }
      notify("success", `${label}: confirmed in block ${receipt.blockNumber}.`, key);
      if (receipt.blockNumber > lastBlock) lastBlock = receipt.blockNumber;
      return receipt;
    },
    lastConfirmedBlock: () => lastBlock,
    explain,
    navigate,
  };
  return ctx;
}
