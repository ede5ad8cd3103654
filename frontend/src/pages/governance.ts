/** Governance: the governor's proposals with state, votes and deadlines as dates
 * (GET /v1/governance/proposals), the wallet's voting power, and delegate / propose a
 * parameter change / vote / queue / execute, each signed by the wallet. The calldata of a
 * parameter change comes from the backend (POST /v1/governance/calls: the same checks as
 * `walrus gov propose --set`), so the browser never re-implements the governed setters. */

import type { Address, Hash, Hex } from "viem";
import type { AppContext } from "../context";
import { checkedWrite, sendFromButton, type PageWallet } from "./checked_write";
import { busy, h, mount } from "../dom";
import { formatDate, formatWal } from "../units";

interface ProposalView {
  proposalId: string;
  proposer: Address;
  description: string;
  descriptionHash: Hex;
  targets: Address[];
  values: string[];
  calldatas: Hex[];
  voteStart: number;
  voteEnd: number;
  state: string;
  votes: { for: string; against: string; abstain: string };
  quorum: string;
  eta: number;
}

interface ProposalsResponse {
  now: number;
  votingDelay: number;
  votingPeriod: number;
  timelockDelay: number;
  proposalThreshold: string;
  parameters: Record<string, string | null>;
  proposals: ProposalView[];
}

interface VotesResponse {
  account: Address;
  votes: string;
  delegate: Address;
}

interface CallsResponse {
  targets: Address[];
  values: string[];
  calldatas: Hex[];
  description: string;
}

const SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

function duration(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds >= 86_400) return `${seconds / 86_400} day(s)`;
  if (seconds % 3_600 === 0 && seconds >= 3_600) return `${seconds / 3_600} hour(s)`;
  if (seconds >= 120) return `${Math.round(seconds / 60)} min`;
  return `${seconds} s`;
}

function at(seconds: number): string {
  return formatDate(new Date(seconds * 1000));
}

/** Deadline line of a proposal in its state ("voting ends …", "executable from …"). */
function timeline(proposal: ProposalView, now: number): string {
  switch (proposal.state) {
    case "pending":
      return `Voting opens ${at(proposal.voteStart)} (in ${duration(proposal.voteStart - now)})`;
    case "active":
      return `Voting ends ${at(proposal.voteEnd)}`;
    case "queued":
      return proposal.eta > now
        ? `In the timelock: executable from ${at(proposal.eta)}`
        : `Executable since ${at(proposal.eta)}`;
    default:
      return `Voting ended ${at(proposal.voteEnd)}`;
  }
}

export async function render(root: HTMLElement, ctx: AppContext): Promise<void> {
  mount(root, h("h1", {}, "Governance"), h("p", { class: "muted" }, "Loading the proposals…"));
  const data = await ctx.api.get<ProposalsResponse>("/v1/governance/proposals");
  const governor = ctx.contract("WalrusGovernor");
  const wal = ctx.contract("WAL");
  const reload = (): void =>
    void render(root, ctx).catch((error) => ctx.notify("error", ctx.explain(error)));

  /** Run one wallet transaction from `button`, then re-render. */
  const send = (
    label: string,
    button: HTMLButtonElement,
    write: (wallet: PageWallet) => Promise<Hash>,
  ): void => sendFromButton(ctx, label, button, write, reload);

  // ------------------------------------------------------------ voting power
  const powerBox = h("section", { class: "card", id: "voting-power", "aria-label": "Your votes" });
  const address = ctx.wallet.address;
  if (address === null) {
    mount(
      powerBox,
      h("h2", {}, "Your votes"),
      h("p", { class: "muted" }, "Connect your wallet to delegate, propose and vote."),
    );
  } else {
    const mine = await ctx.api.get<VotesResponse>(`/v1/governance/votes/${address}`);
    const delegated =
      mine.delegate === ZERO_ADDRESS
        ? "not delegated (your WAL does not count as votes yet)"
        : mine.delegate.toLowerCase() === address.toLowerCase()
          ? "to yourself"
          : `to ${mine.delegate}`;
    const delegateButton = h("button", { id: "delegate-self" }, "Delegate my votes to myself");
    delegateButton.addEventListener("click", () =>
      send("Delegate votes", delegateButton, ({ address: from, walletClient }) =>
        checkedWrite(ctx, { address: from, walletClient }, {
          address: wal.address,
          abi: wal.abi,
          functionName: "delegate",
          args: [from],
        }),
      ),
    );
    mount(
      powerBox,
      h("h2", {}, "Your votes"),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Voting power"),
        h("dd", { id: "my-votes" }, formatWal(BigInt(mine.votes))),
        h("dt", {}, "Delegated"),
        h("dd", { id: "my-delegate" }, delegated),
      ),
      h(
        "p",
        { class: "muted" },
        "WAL counts as votes only once delegated, and only for proposals created after that.",
      ),
      mine.delegate.toLowerCase() === address.toLowerCase()
        ? null
        : h("div", { class: "actions" }, delegateButton),
    );
  }

  // ------------------------------------------------------------ propose
  // Parameters whose contract this deployment lacks cannot be proposed.
  const names = Object.keys(data.parameters).filter((name) => data.parameters[name] !== null);
  const parameterSelect = h(
    "select",
    { id: "proposal-parameter", name: "parameter" },
    names.map((name) =>
      h("option", { value: name }, `${name} (now ${data.parameters[name]})`),
    ),
  );
  const valueInput = h("input", {
    id: "proposal-value",
    name: "value",
    inputmode: "numeric",
    autocomplete: "off",
    placeholder: "new value",
  });
  const descriptionInput = h("input", {
    id: "proposal-description",
    name: "description",
    autocomplete: "off",
    placeholder: "optional: why",
  });
  const proposeButton = h(
    "button",
    { class: "primary", id: "propose-submit", type: "submit" },
    "Propose",
  );
  const proposeForm = h(
    "form",
    { class: "card", id: "propose-form", "aria-label": "Propose a parameter change" },
    h("h2", {}, "Propose a parameter change"),
    h(
      "p",
      { class: "muted" },
      `Voting opens ${duration(data.votingDelay)} after proposing and lasts ` +
        `${duration(data.votingPeriod)}; a passed proposal waits ${duration(data.timelockDelay)} ` +
        `in the timelock. Proposing needs ${formatWal(BigInt(data.proposalThreshold))} of votes.`,
    ),
    h(
      "div",
      { class: "row" },
      h("label", {}, "Parameter", parameterSelect),
      h("label", {}, "New value", valueInput),
      h("label", {}, "Description", descriptionInput),
      proposeButton,
    ),
  );
  proposeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(proposeButton, async () => {
      const value = valueInput.value.trim();
      if (!/^\d+$/.test(value)) {
        ctx.notify("error", `"${valueInput.value}" is not a whole number.`);
        valueInput.focus();
        return;
      }
      let wallet: Awaited<ReturnType<AppContext["requireWallet"]>>;
      let calls: CallsResponse;
      try {
        wallet = await ctx.requireWallet();
        calls = await ctx.api.post<CallsResponse>("/v1/governance/calls", {
          set: { [parameterSelect.value]: value },
        });
      } catch (error) {
        ctx.notify("error", ctx.explain(error));
        return;
      }
      const description = descriptionInput.value.trim() || calls.description;
      try {
        await ctx.runTx("Propose", () =>
          checkedWrite(ctx, wallet, {
            address: governor.address,
            abi: governor.abi,
            functionName: "propose",
            args: [calls.targets, calls.values.map(BigInt), calls.calldatas, description],
          }),
        );
        reload();
      } catch {
        // runTx has shown the failure
      }
    });
  });

  // ------------------------------------------------------------ proposals
  const voted = new Set<string>();
  if (address !== null) {
    const active = data.proposals.filter((proposal) => proposal.state === "active");
    const answers = await Promise.all(
      active.map((proposal) =>
        ctx.publicClient.readContract({
          address: governor.address,
          abi: governor.abi,
          functionName: "hasVoted",
          args: [BigInt(proposal.proposalId), address],
        }),
      ),
    );
    active.forEach((proposal, index) => {
      if (answers[index] === true) voted.add(proposal.proposalId);
    });
  }
  const cards = data.proposals.map((proposal) => {
    const id = BigInt(proposal.proposalId);
    const actions: HTMLElement[] = [];
    if (voted.has(proposal.proposalId)) {
      actions.push(h("span", { class: "badge ok you-voted" }, "You voted"));
    } else if (proposal.state === "active") {
      for (const [label, support] of Object.entries(SUPPORT)) {
        const button = h("button", { class: `vote vote-${label}` }, `Vote ${label}`);
        button.addEventListener("click", () =>
          send(`Vote ${label}`, button, ({ address: from, walletClient }) =>
            checkedWrite(ctx, { address: from, walletClient }, {
              address: governor.address,
              abi: governor.abi,
              functionName: "castVote",
              args: [id, support],
            }),
          ),
        );
        actions.push(button);
      }
    }
    const operation = [
      proposal.targets,
      proposal.values.map(BigInt),
      proposal.calldatas,
      proposal.descriptionHash,
    ] as const;
    if (proposal.state === "succeeded") {
      const queue = h("button", { class: "primary queue" }, "Queue in the timelock");
      queue.addEventListener("click", () =>
        send("Queue", queue, ({ address: from, walletClient }) =>
          checkedWrite(ctx, { address: from, walletClient }, {
            address: governor.address,
            abi: governor.abi,
            functionName: "queue",
            args: operation,
          }),
        ),
      );
      actions.push(queue);
    }
    if (proposal.state === "queued") {
      const ready = proposal.eta <= data.now;
      const execute = h(
        "button",
        {
          class: "primary execute",
          disabled: !ready,
          title: ready ? null : `Executable from ${at(proposal.eta)}`,
        },
        "Execute",
      );
      execute.addEventListener("click", () =>
        send("Execute", execute, ({ address: from, walletClient }) =>
          checkedWrite(ctx, { address: from, walletClient }, {
            address: governor.address,
            abi: governor.abi,
            functionName: "execute",
            args: operation,
          }),
        ),
      );
      actions.push(execute);
    }
    const good = ["succeeded", "queued", "executed"].includes(proposal.state);
    const bad = ["defeated", "canceled", "expired"].includes(proposal.state);
    return h(
      "li",
      { class: "card proposal", "data-proposal-id": proposal.proposalId },
      h(
        "h3",
        {},
        proposal.description,
        " ",
        h(
          "span",
          { class: `badge proposal-state${good ? " ok" : bad ? " bad" : ""}` },
          proposal.state,
        ),
      ),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Proposal"),
        h("dd", { class: "mono", title: proposal.proposalId }, `${proposal.proposalId.slice(0, 12)}…`),
        h("dt", {}, "Proposer"),
        h("dd", { class: "mono" }, proposal.proposer),
        h("dt", {}, "For"),
        h("dd", { class: "votes-for" }, formatWal(BigInt(proposal.votes.for))),
        h("dt", {}, "Against"),
        h("dd", { class: "votes-against" }, formatWal(BigInt(proposal.votes.against))),
        h("dt", {}, "Abstain"),
        h("dd", {}, formatWal(BigInt(proposal.votes.abstain))),
        h("dt", {}, "Quorum"),
        h("dd", {}, proposal.quorum === "0" ? "set when voting opens" : formatWal(BigInt(proposal.quorum))),
        h("dt", {}, "When"),
        h("dd", { class: "proposal-time" }, timeline(proposal, data.now)),
      ),
      actions.length ? h("div", { class: "actions" }, actions) : null,
    );
  });

  mount(
    root,
    h("h1", {}, "Governance"),
    h(
      "p",
      { class: "muted" },
      "WAL holders change the network's parameters by proposal and vote; passed proposals run through the timelock.",
    ),
    powerBox,
    proposeForm,
    h("h2", {}, "Proposals"),
    cards.length === 0
      ? h("p", { class: "muted", id: "no-proposals" }, "No proposals yet.")
      : h("ul", { class: "blob-list", id: "proposals" }, cards),
  );
}
