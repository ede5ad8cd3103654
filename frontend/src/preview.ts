/** Inline preview of a blob by content sniffing (blobs carry no content type): images,
 * video, audio and UTF-8 text; anything else is "binary". */

import type { Api } from "./api";
import { h } from "./dom";
import { formatBytes } from "./units";

export type Kind =
  | { kind: "image" | "video" | "audio"; mime: string }
  | { kind: "text" }
  | { kind: "binary" };

const PREVIEW_LIMIT = 16 * 2 ** 20;
const TEXT_SHOWN = 64 * 1024;

function startsWith(bytes: Uint8Array, signature: (number | null)[], offset = 0): boolean {
  return signature.every((byte, i) => byte === null || bytes[offset + i] === byte);
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

export function sniff(bytes: Uint8Array): Kind {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return { kind: "image", mime: "image/png" };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: "image", mime: "image/jpeg" };
  if (startsWith(bytes, ascii("GIF8"))) return { kind: "image", mime: "image/gif" };
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) {
    return { kind: "image", mime: "image/webp" };
  }
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WAVE"), 8)) {
    return { kind: "audio", mime: "audio/wav" };
  }
  if (startsWith(bytes, ascii("ftyp"), 4)) return { kind: "video", mime: "video/mp4" };
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: "video", mime: "video/webm" };
  if (startsWith(bytes, ascii("OggS"))) return { kind: "audio", mime: "audio/ogg" };
  if (startsWith(bytes, ascii("fLaC"))) return { kind: "audio", mime: "audio/flac" };
  if (startsWith(bytes, ascii("ID3")) || startsWith(bytes, [0xff, 0xfb])) {
    return { kind: "audio", mime: "audio/mpeg" };
  }
  return looksLikeText(bytes) ? { kind: "text" } : { kind: "binary" };
}

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample);
  } catch (error) {
    // a multi-byte character cut at the sample's end is still text
    if (sample.length < bytes.length && sample.length > 4) {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(sample.subarray(0, sample.length - 4));
      } catch {
        return false;
      }
    } else {
      return false;
    }
  }
  return !sample.some((byte) => byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b));
}

/** The preview element for `bytes`; object URLs are revoked when `signal` aborts. */
export function previewElement(bytes: Uint8Array, signal?: AbortSignal): HTMLElement {
  const found = sniff(bytes);
  const box = h("div", { class: "preview", "data-kind": found.kind });
  if (found.kind === "text") {
    const text = new TextDecoder().decode(bytes.subarray(0, TEXT_SHOWN));
    box.append(h("pre", { tabindex: 0 }, text), bytes.length > TEXT_SHOWN ? h("p", { class: "muted" }, `First ${formatBytes(TEXT_SHOWN)} shown.`) : "");
    return box;
  }
  if (found.kind === "binary") {
    box.append(h("p", { class: "muted" }, "Binary data: no preview. Download it to open it."));
    return box;
  }
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: found.mime }));
  signal?.addEventListener("abort", () => URL.revokeObjectURL(url));
  if (found.kind === "image") box.append(h("img", { src: url, alt: "Preview of the blob" }));
  if (found.kind === "video") box.append(h("video", { src: url, controls: true }));
  if (found.kind === "audio") box.append(h("audio", { src: url, controls: true }));
  return box;
}

/** Fetch a blob's bytes from the aggregator for a preview (refusing huge ones). */
export async function fetchForPreview(api: Api, blobId: string, size: number): Promise<Uint8Array> {
  if (size > PREVIEW_LIMIT) {
    throw new Error(`The blob is ${formatBytes(size)}; previews stop at ${formatBytes(PREVIEW_LIMIT)}.`);
  }
  const response = await api.fetchRaw(`/v1/blobs/${encodeURIComponent(blobId)}`);
  return new Uint8Array(await response.arrayBuffer());
}
