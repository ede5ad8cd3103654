/** Runs the browser's Seal port (frontend/src/seal) under node for
 * tests/e2e/test_seal_vectors_ts.py: reads one JSON request on stdin, answers JSON on
 * stdout. Bundled with esbuild by the test; no test framework. */

import {
  decryptBlob,
  encryptBlob,
  keyPairFromPrivate,
  openResponse,
} from "../../frontend/src/seal/envelope";
import { parseHeader } from "../../frontend/src/seal/header";

interface DecryptCase {
  blob: string;
  session_private: string;
  responses: { server_public: string; response: string }[];
}

interface Request {
  decrypt: DecryptCase[];
  encrypt: {
    plaintext: string;
    server_publics: string[];
    chain_id: number;
    policy: string;
    identity: string;
    threshold: number;
    segment_size: number;
  }[];
}

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

function decryptOne(item: DecryptCase): { plaintext?: string; error?: string } {
  try {
    const blob = hex(item.blob);
    const header = parseHeader(blob);
    const session = keyPairFromPrivate(hex(item.session_private));
    const shares = item.responses.map((answer) =>
      openResponse(hex(answer.response), header, hex(answer.server_public), session),
    );
    return { plaintext: toHex(decryptBlob(blob, shares)) };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

const chunks: Buffer[] = [];
process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Request;
  const answer = {
    decrypted: request.decrypt.map(decryptOne),
    sealed: request.encrypt.map((item) =>
      toHex(
        encryptBlob(hex(item.plaintext), {
          chainId: BigInt(item.chain_id),
          policy: hex(item.policy),
          identity: hex(item.identity),
          serverPublicKeys: item.server_publics.map(hex),
          threshold: item.threshold,
          segmentSize: item.segment_size,
        }),
      ),
    ),
  };
  process.stdout.write(JSON.stringify(answer));
});
