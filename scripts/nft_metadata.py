"""Token metadata for an NFT collection on walrus-evm quilts (docs/examples/nft-metadata.md).

Stores every token's image and metadata JSON as quilt patches and prints each token's
tokenURI: an aggregator URL of its metadata patch, whose "image" is the aggregator URL of
its image patch. Images first (their patch ids go into the metadata), then metadata.
Images come from --images DIR (files named <token id>.<ext>) or are generated (a small PNG
per token). 10,000 tokens = 2 x 16 quilts, 64 chain transactions.

Usage: python scripts/nft_metadata.py [--count 10000] [--images DIR]
       [--aggregator http://127.0.0.1:8080] [--out tokens.json] [--epochs 5]
       [--rpc-url URL] [--private-key-file FILE] [--deployment FILE]
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import random
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core.quilt import QuiltFile
from backend.sdk.config import ClientSettings, load_client
from backend.sdk.quilt import QuiltClient

PATCH_ROUTE = "/v1/blobs/by-quilt-patch-id/"


def png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A real size x size PNG of one colour (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def collection_images(count: int, images: Path | None) -> dict[int, QuiltFile]:
    """Token id -> image file (identifier images/<id>.<ext>, content-type tag)."""
    found: dict[int, QuiltFile] = {}
    if images is not None:
        for path in sorted(images.iterdir()):
            if path.is_file() and path.stem.isdigit() and int(path.stem) < count:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                tags = {"content-type": kind, "token": path.stem}
                found[int(path.stem)] = QuiltFile(f"images/{path.name}", path.read_bytes(), tags)
        missing = [token for token in range(count) if token not in found]
        if missing:
            raise SystemExit(f"no image for token(s) {missing[:5]} in {images}")
        return found
    rng = random.Random(2026)
    for token in range(count):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        tags = {"content-type": "image/png", "token": str(token)}
        found[token] = QuiltFile(f"images/{token}.png", png(colour), tags)
    return found


def metadata_json(token: int, image_url: str) -> bytes:
    rng = random.Random(token)
    return json.dumps(
        {
            "name": f"Walrus #{token}",
            "description": "A walrus of the walrus-evm example collection.",
            "image": image_url,
            "attributes": [
                {"trait_type": "tusks", "value": rng.choice(["short", "long", "golden"])},
                {"trait_type": "background", "value": rng.choice(["ice", "sea", "night"])},
            ],
        },
        indent=1,
    ).encode()


def store_collection(
    quilts: QuiltClient,
    count: int,
    aggregator: str,
    *,
    images: Path | None = None,
    epochs: int = 1,
) -> dict[str, Any]:
    """Store the collection; returns {"tokens": {id: {tokenURI, image}}, "quilts": [...],
    "cost": FROST}."""
    base = aggregator.rstrip("/") + PATCH_ROUTE
    pictures = collection_images(count, images)
    stored_images = quilts.store_files(list(pictures.values()), epochs=epochs)
    image_urls = {
        int(patch.tags["token"]): base + str(patch.patch_id)
        for quilt in stored_images.quilts
        for patch in quilt.patches
    }
    for alone in stored_images.standalone:  # an image larger than a quilt: a blob of its own
        token = int(Path(alone.identifier).stem)
        image_urls[token] = f"{aggregator.rstrip('/')}/v1/blobs/{alone.blob.blob_id}"
    documents = [
        QuiltFile(
            f"metadata/{token}.json",
            metadata_json(token, image_urls[token]),
            {"content-type": "application/json", "token": str(token)},
        )
        for token in range(count)
    ]
    stored_metadata = quilts.store_files(documents, epochs=epochs)
    tokens = {
        int(patch.tags["token"]): {
            "tokenURI": base + str(patch.patch_id),
            "image": image_urls[int(patch.tags["token"])],
        }
        for quilt in stored_metadata.quilts
        for patch in quilt.patches
    }
    all_quilts = stored_images.quilts + stored_metadata.quilts
    return {
        "tokens": dict(sorted(tokens.items())),
        "quilts": [str(quilt.blob.blob_id) for quilt in all_quilts],
        "cost": stored_images.cost + stored_metadata.cost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--images", type=Path, help="directory of <token id>.<ext> images")
    parser.add_argument("--aggregator", default="http://127.0.0.1:8080")
    parser.add_argument("--out", type=Path, help="write the token -> URLs map as JSON")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rpc-url")
    parser.add_argument("--private-key-file", type=Path)
    parser.add_argument("--deployment", type=Path)
    arguments = parser.parse_args()
    if arguments.count < 1:
        raise SystemExit("--count must be at least 1")
    client = load_client(
        ClientSettings(arguments.rpc_url, arguments.private_key_file, arguments.deployment)
    )
    result = store_collection(
        QuiltClient(client),
        arguments.count,
        arguments.aggregator,
        images=arguments.images,
        epochs=arguments.epochs,
    )
    if arguments.out is not None:
        arguments.out.write_text(json.dumps(result, indent=1))
    for token, urls in result["tokens"].items():
        print(f"{token}\t{urls['tokenURI']}")
    print(
        f"{len(result['tokens'])} tokens in {len(result['quilts'])} quilts, "
        f"cost {result['cost']} FROST",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
