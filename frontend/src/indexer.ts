/** The backend's indexer (GET /v1/index/...): blobs by owner, and waiting until it has
 * seen a block (so a page re-rendered after a transaction shows its effect). */

import type { AppContext } from "./context";

export interface IndexedBlob {
  tokenId: number;
  blobId: string;
  owner: string;
  status: "live" | "certified" | "expired" | "deleted" | "invalidated" | string;
  size: number;
  encodingType: number;
  encodedSize: number;
  deletable: boolean;
  registeredEpoch: number;
  certifiedEpoch: number | null;
  endEpoch: number;
  deletedEpoch: number | null;
  burned: boolean;
  invalidatedEpoch: number | null;
  attributes: Record<string, string>;
}

export interface IndexStatus {
  nextBlock: number;
  headBlock: number;
  lastError: string | null;
}

export async function blobsOf(ctx: AppContext, owner: string): Promise<IndexedBlob[]> {
  const found: IndexedBlob[] = [];
  let cursor: string | null = null;
  do {
    const page: { blobs: IndexedBlob[]; nextCursor: string | null } = await ctx.api.get(
      "/v1/index/blobs",
      { owner, status: "live", limit: 100, cursor: cursor ?? undefined },
    );
    found.push(...page.blobs);
    cursor = page.nextCursor;
  } while (cursor !== null && found.length < 1000);
  return found;
}

/** Resolve once the indexer has processed `block` (or after `timeoutMs`: false). */
export async function waitForIndex(
  ctx: AppContext,
  block: bigint | number,
  timeoutMs = 30_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await ctx.api.get<IndexStatus>("/v1/index/status");
    if (status.nextBlock > Number(block)) return true;
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  return false;
}
