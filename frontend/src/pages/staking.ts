/** Staking: every node with its stake, shards, commission, measured reward per epoch (and
 * the APY only when epochs last an hour or more: see yieldBasis) and challenge
 * record (GET /v1/staking/nodes), and the connected wallet's positions
 * (GET /v1/staking/positions/<address>) with stake, request withdrawal, withdraw and claim
 * rewards, each signed by the wallet. */

import type { Address, Hash } from "viem";
import type { AppContext } from "../context";
import { checkedWrite, sendFromButton, type PageWallet } from "./checked_write";
import { busy, h, mount } from "../dom";
import { UserFacingError } from "../errors";
import { formatDate, formatWal, parseWal, type EpochClock, epochStart } from "../units";

interface NodeView {
  nodeId: number;
  name: string;
  url: string;
  commissionBps: number;
  stake: string;
  nextStake: string;
  shards: number;
  /** Delegators' reward per staked WAL per epoch (a fraction); null before any. */
  rewardPerEpoch: number | null;
  /** That annualised; null unless yieldBasis.annualised. */
  apy: number | null;
  challenges: { passed: number; failed: number } | null;
}

interface NodesResponse {
  epoch: number;
  epochStartTime: number;
  epochDuration: number;
  rewards: Address | null;
  yieldBasis: {
    epochsAveraged: number;
    annualised: boolean;
    minEpochSecondsToAnnualise: number;
    note: string | null;
  };
  nodes: NodeView[];
}

interface PositionView {
  positionId: number;
  nodeId: number;
  amount: string;
  activationEpoch: number;
  withdrawEpoch: number | null;
  pendingRewards: string;
}

interface PositionsResponse {
  epoch: number;
  positions: PositionView[];
}

/** StakingRewards.claim: the rewards contract may not be in the deployment file (it is
 * attached to Staking), so its one write is spelled out here. */
const CLAIM_ABI = [
  {
    type: "function",
    name: "claim",
    stateMutability: "nonpayable",
    inputs: [{ name: "positionId", type: "uint256" }],
    outputs: [{ name: "paid", type: "uint256" }],
  },
] as const;

function percent(bps: number): string {
  return `${(bps / 100).toFixed(bps % 100 === 0 ? 0 : 2)} %`;
}

/** A fraction as a percentage: 3 significant digits below 1 %, else 2 decimals. */
function percentOf(fraction: number): string {
  const value = fraction * 100;
  return Math.abs(value) < 1
    ? value.toLocaleString("en-US", { maximumSignificantDigits: 3 })
    : value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

function perEpochText(reward: number | null): string {
  return reward === null ? "no rewards yet" : `≈ ${percentOf(reward)} % / epoch`;
}

function apyText(apy: number | null): string {
  return apy === null ? "no rewards yet" : `≈ ${percentOf(apy)} % / year`;
}

function clockOf(nodes: NodesResponse): EpochClock {
  return {
    currentEpoch: nodes.epoch,
    epochStartTime: nodes.epochStartTime,
    epochDuration: nodes.epochDuration,
  };
}

function positionStatus(position: PositionView, clock: EpochClock): string {
  if (position.withdrawEpoch !== null) {
    return position.withdrawEpoch <= clock.currentEpoch
      ? "withdrawable now"
      : `withdrawable from epoch ${position.withdrawEpoch} (≈ ${formatDate(epochStart(position.withdrawEpoch, clock))})`;
  }
  return position.activationEpoch <= clock.currentEpoch
    ? `active since epoch ${position.activationEpoch}`
    : `counts from epoch ${position.activationEpoch} (≈ ${formatDate(epochStart(position.activationEpoch, clock))})`;
}

export async function render(root: HTMLElement, ctx: AppContext): Promise<void> {
  mount(root, h("h1", {}, "Staking"), h("p", { class: "muted" }, "Loading the nodes…"));
  const nodes = await ctx.api.get<NodesResponse>("/v1/staking/nodes");
  const clock = clockOf(nodes);
  const nextEpoch = formatDate(epochStart(nodes.epoch + 1, clock));
  const staking = ctx.contract("Staking");
  const wal = ctx.contract("WAL");
  const reload = (): void => void render(root, ctx).catch((error) => ctx.notify("error", ctx.explain(error)));

  const nodeCards = nodes.nodes.map((node) =>
    h(
      "li",
      { class: "card node", "data-node-id": node.nodeId },
      h("h3", {}, `${node.name} `, h("span", { class: "muted" }, `#${node.nodeId}`)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Stake"),
        h("dd", { class: "node-stake" }, formatWal(BigInt(node.stake))),
        h("dt", {}, "Next epoch"),
        h("dd", { class: "node-next-stake" }, formatWal(BigInt(node.nextStake))),
        h("dt", {}, "Shards"),
        h("dd", {}, node.shards === 0 ? "0 (not in the committee)" : String(node.shards)),
        h("dt", {}, "Commission"),
        h("dd", {}, percent(node.commissionBps)),
        h("dt", {}, "Reward per epoch"),
        h("dd", { class: "node-reward-epoch" }, perEpochText(node.rewardPerEpoch)),
        nodes.yieldBasis.annualised
          ? [h("dt", {}, "APY estimate"), h("dd", { class: "node-apy" }, apyText(node.apy))]
          : null,
        h("dt", {}, "Challenges"),
        h(
          "dd",
          {},
          node.challenges === null
            ? "no challenge contract"
            : `${node.challenges.passed} passed, ${node.challenges.failed} failed`,
        ),
      ),
    ),
  );

  const nodeSelect = h(
    "select",
    { id: "stake-node", name: "node" },
    nodes.nodes.map((node) => h("option", { value: node.nodeId }, `${node.name} (#${node.nodeId})`)),
  );
  const amountInput = h("input", {
    id: "stake-amount",
    name: "amount",
    inputmode: "decimal",
    placeholder: "100",
    autocomplete: "off",
  });
  const stakeButton = h("button", { class: "primary", id: "stake-submit", type: "submit" }, "Stake");
  const stakeForm = h(
    "form",
    { class: "card", id: "stake-form", "aria-label": "Stake WAL with a node" },
    h("h2", {}, "Stake WAL"),
    h(
      "p",
      { class: "muted" },
      `New stake counts from the next epoch change (≈ ${nextEpoch}); a withdrawal takes effect at the epoch change after you request it.`,
    ),
    h(
      "div",
      { class: "row" },
      h("label", {}, "Node", nodeSelect),
      h("label", {}, "Amount (WAL)", amountInput),
      stakeButton,
    ),
  );
  stakeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(stakeButton, async () => {
      let amount: bigint;
      try {
        amount = parseWal(amountInput.value);
        if (amount === 0n) throw new RangeError("stake more than 0 WAL");
      } catch (error) {
        ctx.notify("error", error instanceof Error ? error.message : String(error));
        amountInput.focus();
        return;
      }
      let ranTx = false;
      try {
        const { address, walletClient } = await ctx.requireWallet();
        const balance = (await ctx.publicClient.readContract({
          address: wal.address,
          abi: wal.abi,
          functionName: "balanceOf",
          args: [address],
        })) as bigint;
        if (balance < amount) {
          throw new UserFacingError(
            `Not enough WAL: staking ${formatWal(amount)} needs that much, this account has ${formatWal(balance)}.`,
          );
        }
        const allowance = (await ctx.publicClient.readContract({
          address: wal.address,
          abi: wal.abi,
          functionName: "allowance",
          args: [address, staking.address],
        })) as bigint;
        ranTx = true;
        if (allowance < amount) {
          await ctx.runTx("Approve WAL for staking", () =>
            checkedWrite(ctx, { address, walletClient }, {
              address: wal.address,
              abi: wal.abi,
              functionName: "approve",
              args: [staking.address, amount],
            }),
          );
        }
        await ctx.runTx(`Stake ${formatWal(amount)}`, () =>
          checkedWrite(ctx, { address, walletClient }, {
            address: staking.address,
            abi: staking.abi,
            functionName: "stake",
            args: [BigInt(nodeSelect.value), amount],
          }),
        );
        reload();
      } catch (error) {
        // runTx has shown its own failures; the rest (wallet, balance) are shown here
        if (!ranTx) ctx.notify("error", ctx.explain(error));
      }
    });
  });

  const positionsBox = h("section", { id: "positions", "aria-label": "Your stake" });
  mount(
    root,
    h("h1", {}, "Staking"),
    h(
      "p",
      { class: "muted", id: "epoch-line" },
      `Epoch ${nodes.epoch}; the next epoch starts ≈ ${nextEpoch}. Amounts in WAL.`,
    ),
    stakeForm,
    positionsBox,
    h("h2", {}, "Storage nodes"),
    h(
      "p",
      { class: "muted", id: "yield-note" },
      `Rewards: delegators' reward per staked WAL, averaged over the last ${nodes.yieldBasis.epochsAveraged} distributed epochs. `,
      nodes.yieldBasis.note === null
        ? "The APY multiplies it by the epochs in a year, without compounding."
        : `${nodes.yieldBasis.note.charAt(0).toUpperCase()}${nodes.yieldBasis.note.slice(1)}.`,
    ),
    h("ul", { class: "blob-list", id: "nodes" }, nodeCards),
  );
  await renderPositions(positionsBox, ctx, nodes, clock, reload);
}

async function renderPositions(
  box: HTMLElement,
  ctx: AppContext,
  nodes: NodesResponse,
  clock: EpochClock,
  reload: () => void,
): Promise<void> {
  const address = ctx.wallet.address;
  if (address === null) {
    mount(
      box,
      h(
        "div",
        { class: "card" },
        h("h2", {}, "Your stake"),
        h("p", { class: "muted" }, "Connect your wallet to see and manage your stake positions."),
      ),
    );
    return;
  }
  const [positions, balance] = await Promise.all([
    ctx.api.get<PositionsResponse>(`/v1/staking/positions/${address}`),
    ctx.publicClient.readContract({
      address: ctx.contract("WAL").address,
      abi: ctx.contract("WAL").abi,
      functionName: "balanceOf",
      args: [address],
    }) as Promise<bigint>,
  ]);
  const staking = ctx.contract("Staking");
  const nodeName = (id: number): string =>
    nodes.nodes.find((node) => node.nodeId === id)?.name ?? `node #${id}`;

  const send = (
    label: string,
    button: HTMLButtonElement,
    write: (wallet: PageWallet) => Promise<Hash>,
  ): void => sendFromButton(ctx, label, button, write, reload);

  const items = positions.positions.map((position) => {
    const actions: HTMLElement[] = [];
    const id = BigInt(position.positionId);
    if (position.withdrawEpoch === null) {
      const request = h(
        "button",
        { class: "request-withdraw" },
        "Request withdrawal",
      );
      request.addEventListener("click", () =>
        send(`Request withdrawal of position ${position.positionId}`, request, ({ address: from, walletClient }) =>
          checkedWrite(ctx, { address: from, walletClient }, {
            address: staking.address,
            abi: staking.abi,
            functionName: "requestWithdraw",
            args: [id, BigInt(position.amount)],
          }),
        ),
      );
      actions.push(request);
    } else {
      const ready = position.withdrawEpoch <= clock.currentEpoch;
      const withdraw = h(
        "button",
        {
          class: "primary withdraw",
          disabled: !ready,
          title: ready ? null : `Withdrawable from epoch ${position.withdrawEpoch}`,
        },
        "Withdraw",
      );
      withdraw.addEventListener("click", () =>
        send(`Withdraw position ${position.positionId}`, withdraw, ({ address: from, walletClient }) =>
          checkedWrite(ctx, { address: from, walletClient }, {
            address: staking.address,
            abi: staking.abi,
            functionName: "withdraw",
            args: [id],
          }),
        ),
      );
      actions.push(withdraw);
    }
    const rewards = BigInt(position.pendingRewards);
    if (rewards > 0n && nodes.rewards !== null) {
      const rewardsAddress = nodes.rewards;
      const claim = h("button", { class: "claim" }, `Claim ${formatWal(rewards)}`);
      claim.addEventListener("click", () =>
        send(`Claim rewards of position ${position.positionId}`, claim, ({ address: from, walletClient }) =>
          checkedWrite(ctx, { address: from, walletClient }, {
            address: rewardsAddress,
            abi: CLAIM_ABI,
            functionName: "claim",
            args: [id],
          }),
        ),
      );
      actions.push(claim);
    }
    return h(
      "li",
      { class: "card position", "data-position-id": position.positionId },
      h("h3", {}, `Position #${position.positionId}`),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Node"),
        h("dd", {}, nodeName(position.nodeId)),
        h("dt", {}, "Amount"),
        h("dd", { class: "position-amount" }, formatWal(BigInt(position.amount))),
        h("dt", {}, "Status"),
        h("dd", { class: "position-status" }, positionStatus(position, clock)),
        h("dt", {}, "Rewards"),
        h("dd", {}, nodes.rewards === null ? "no rewards contract" : formatWal(rewards)),
      ),
      h("div", { class: "actions" }, actions),
    );
  });

  mount(
    box,
    h("h2", {}, "Your stake"),
    h("p", { id: "wal-balance" }, `Wallet balance: ${formatWal(balance)}`),
    items.length === 0
      ? h("p", { class: "muted", id: "no-positions" }, "No stake positions yet.")
      : h("ul", { class: "blob-list", id: "position-list" }, items),
  );
}
